"""跨省转学 across registries, the origin side: a destination school of another province's
registry looks up a pupil here (``transfer.lookup``, a question through ``exchange``).

The answer is the same minimal card as the lookup within the registry (name, sex, birth
date, grade, class), for the chosen origin school and the exact name (+ ID number), with a
reference signed by this registry (good for ``LOOKUP_MAX_AGE``) that names the pupil only
to this registry. The question and its answer are recorded on both sides (``PeerQuery``).
"""

from __future__ import annotations

import datetime as dt

from django.core import signing
from pydantic import BaseModel, ConfigDict, Field

from exchange import protocol
from registry.models import PupilStatus
from schools.models import School
from transfers import selectors

LOOKUP = "transfer.lookup"
REMOTE_LOOKUP_SALT = "transfers.remote_lookup"


class LookupQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    origin_school_code: str = Field(pattern=r"^\d{10}$", description="学校标识码 of the origin school")
    name: str = Field(min_length=1, max_length=50, description="the pupil's exact name")
    id_number: str = Field(default="", max_length=18, pattern=r"^(\d{17}[\dX])?$")
    asking_school_code: str = Field(pattern=r"^\d{10}$", description="the destination school asking")
    asking_school_name: str = Field(max_length=100)
    asker: str = Field(max_length=150, description="the asking user's name, for the origin's record")


class LookupCard(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: str = Field(max_length=300, description="opaque reference for the transfer application")
    name: str = Field(max_length=50)
    sex: str = Field(pattern=r"^[12]$")
    birth_date: dt.date
    grade: int = Field(ge=1, le=12)
    class_number: int | None = None


class LookupAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    origin_school_known: bool
    origin_school_name: str = Field(default="", max_length=100)
    found: list[LookupCard] = Field(default_factory=list, max_length=20)


def lookup_answer(body: dict, envelope: dict, peer) -> dict:
    origin = School.objects.filter(code=body["origin_school_code"]).first()
    if origin is None:
        return {"origin_school_known": False}
    pupils = selectors.origin_pupils(origin).filter(name=body["name"]).exclude(status=PupilStatus.PENDING)
    if body["id_number"]:
        pupils = pupils.filter(id_number=body["id_number"])
    cards = [
        {"ref": signing.dumps([pupil.pk, body["asking_school_code"]], salt=REMOTE_LOOKUP_SALT, compress=True),
         "name": pupil.name, "sex": pupil.sex, "birth_date": pupil.birth_date.isoformat(), "grade": pupil.grade,
         "class_number": pupil.school_class.number if pupil.school_class_id else None}
        for pupil in pupils.order_by("id")[:20]
    ]
    return {"origin_school_known": True, "origin_school_name": origin.name, "found": cards}


def register() -> None:
    protocol.register_query(LOOKUP, schema=LookupQuestion, answer=lookup_answer, answer_schema=LookupAnswer)
