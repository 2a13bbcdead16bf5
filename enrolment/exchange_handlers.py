"""跨省查重: whether an ID number (or a no-ID child's family) is held by an active record
of this registry, asked by another province's registry (``exchange``), and the question
this registry asks its peers at entry (``enrolment.checks.peers_holding``).

The answer is the minimal card of each holder: province, school (name and 学校标识码) and
status — never the national number, the name or the family.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator

from enrolment.checks import active_holder_of, guardian_ids
from exchange import protocol
from registry.models import ACTIVE_STATUSES, Pupil

ID_HELD = "registry.id_held"


class NoIdChild(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=50)
    birth_date: dt.date
    guardian_id_numbers: list[str] = Field(min_length=1, max_length=4, description="the family's ID numbers")


class IdHeldQuestion(BaseModel):
    """Is this resident ID number — or this no-ID child (name, birth date, family) — held?"""

    model_config = ConfigDict(extra="forbid")
    id_number: str = Field(default="", max_length=18, pattern=r"^(\d{17}[\dX])?$")
    no_id_child: NoIdChild | None = None

    @model_validator(mode="after")
    def _one_of(self):
        if bool(self.id_number) == (self.no_id_child is not None):
            raise ValueError("give either id_number or no_id_child")
        return self


class HolderCard(BaseModel):
    model_config = ConfigDict(extra="forbid")
    province: str = Field(pattern=r"^\d{2}$")
    school_code: str = Field(max_length=10)
    school_name: str = Field(max_length=100)
    status: str = Field(max_length=16, description="registry.models.PupilStatus value, e.g. enrolled")
    status_label: str = Field(max_length=16)


class IdHeldAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    held: bool
    holders: list[HolderCard] = Field(default_factory=list, max_length=10)


def card(pupil: Pupil) -> dict:
    return {"province": pupil.county_code[:2], "school_code": pupil.school.code, "school_name": pupil.school.name,
            "status": pupil.status, "status_label": str(pupil.get_status_display())}


def holders_of(question: dict) -> list[Pupil]:
    if question.get("id_number"):
        holder = active_holder_of(question["id_number"])
        return [holder] if holder is not None else []
    child = question["no_id_child"]
    family = frozenset(child["guardian_id_numbers"])
    candidates = (Pupil.objects.filter(name=child["name"], birth_date=child["birth_date"], id_number="",
                                       status__in=ACTIVE_STATUSES)
                  .select_related("school").prefetch_related("guardians")[:50])
    return [pupil for pupil in candidates if family <= guardian_ids(pupil.guardians.all())][:10]


def id_held_answer(body: dict, envelope: dict, peer) -> dict:
    holders = holders_of(body)
    return {"held": bool(holders), "holders": [card(pupil) for pupil in holders]}


def register() -> None:
    protocol.register_query(ID_HELD, schema=IdHeldQuestion, answer=id_held_answer, answer_schema=IdHeldAnswer)
