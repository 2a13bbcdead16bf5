"""跨省查重 API: ``POST /api/v1/exchange/id-check`` asks the peer registries whether a
resident ID number (or a no-ID child by name, birth date and family) is held there.

The answer is each peer's minimal card (province, school, status), or that the peer could
not be reached within ``EXCHANGE_QUERY_TIMEOUT``; the question is recorded on both sides.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from accounts.models import Membership
from accounts.permissions import require_role
from enrolment.exchange_handlers import ID_HELD, HolderCard
from exchange import services as exchange
from kernel.errors import ValidationFailed
from kernel.identity import validate_resident_id

router = Router(tags=["exchange"])
Role = Membership.Role


class NoIdChildIn(Schema):
    name: str = Field(max_length=50)
    birth_date: dt.date
    guardian_id_numbers: list[Annotated[str, Field(max_length=32)]] = Field(max_length=4)


class IdCheckIn(Schema):
    id_number: str = Field("", max_length=32)
    no_id_child: NoIdChildIn | None = None


class PeerAnswerOut(Schema):
    peer: str
    provinces: list[str]
    outcome: str  # held | not_held | unreachable | refused
    holders: list[HolderCard]


@router.post("/exchange/id-check", response={200: list[PeerAnswerOut]}, summary="向外省学籍系统查询是否已有学籍")
def id_check(request, payload: IdCheckIn):
    require_role(request.user, Role.OPERATOR, Role.APPROVER, Role.ADMIN)
    question = payload.dict(exclude_none=True)
    if question.get("id_number"):
        question = {"id_number": validate_resident_id(question["id_number"]).number}
    elif question.get("no_id_child"):
        question["no_id_child"]["birth_date"] = question["no_id_child"]["birth_date"].isoformat()
        question.pop("id_number", None)
    else:
        raise ValidationFailed(_("请填写身份证号，或无身份证学生的姓名、出生日期和家庭成员身份证号"),
                               code="id_check_empty", field="id_number")
    answers = exchange.query_ask(user=request.user, type=ID_HELD, body=question,
                                 held=lambda found: bool(found and found["held"]))
    return [
        {"peer": answer.peer.name, "provinces": answer.peer.provinces,
         "outcome": ("held" if answer.answer["held"] else "not_held") if answer.answer else answer.outcome,
         "holders": answer.answer["holders"] if answer.answer else []}
        for answer in answers
    ]
