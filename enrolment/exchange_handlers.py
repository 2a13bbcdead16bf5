"""跨省查重: whether an ID number (or a no-ID child's family) is held by an active record
of this registry, asked by another province's registry (``exchange``), and the question
this registry asks its peers at entry (``enrolment.checks.peers_holding``); its batch form,
``registry.ids_held``, asked by the roster import and the sweeps, is ``duplicates.peers``.

The answer is the minimal card of each holder: province, school (name and 学校标识码) and
status — never the national number, the name or the family.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from duplicates import peers
from duplicates.peers import HeldItem, HolderCard, card
from enrolment.checks import active_holder_of
from exchange import protocol
from registry.models import Pupil
from registry.nohukou import records_of_no_id_children

ID_HELD = "registry.id_held"


class IdHeldQuestion(HeldItem):
    """Is this resident ID number — or this no-ID child (name, birth date, family) — held?"""


class IdHeldAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    held: bool
    holders: list[HolderCard] = Field(default_factory=list, max_length=10)


def holders_of(question: dict) -> list[Pupil]:
    """The active records holding the resident ID — or that are the no-ID child, by the one
    rule of ``registry.nohukou.records_of_no_id_children`` (at most ten)."""
    if question.get("id_number"):
        holder = active_holder_of(question["id_number"])
        return [holder] if holder is not None else []
    child = question["no_id_child"]
    [records] = records_of_no_id_children([(child["name"], dt.date.fromisoformat(str(child["birth_date"])),
                                            frozenset(child["guardian_id_numbers"]))])
    return records[:10]


def id_held_answer(body: dict, envelope: dict, peer) -> dict:
    holders = holders_of(body)
    return {"held": bool(holders), "holders": [card(pupil) for pupil in holders]}


def register() -> None:
    protocol.register_query(ID_HELD, schema=IdHeldQuestion, answer=id_held_answer, answer_schema=IdHeldAnswer)
    peers.register()
