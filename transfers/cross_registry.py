"""跨省转学 across two registries: the application travels from the destination registry
to the origin registry as a one-way message (``transfer.applied``) through the outbox.

- ``transfer_apply_remote`` (destination side): a school here applies for a pupil found by
  ``transfers.remote.transfer_lookup_remote``, quoting the origin registry's signed
  reference; the application is stored here (``CrossTransfer``, side dest) and its message
  written to the outbox in the same transaction;
- ``applied_receive`` (origin side, the handler of ``transfer.applied``): the reference is
  checked (signed here, for this destination school, not expired), the pupil must still be
  at the origin school, under the name looked up, enrolled or suspended, and with no other
  business open (在办业务: a transfer, a status change, …); then the application is stored
  here (side origin) waiting for the origin school (待转出学校审核) and holds the pupil's
  open business until it closes. A pupil that changed meanwhile is refused (``pupil_changed``),
  and the code and reason show on the sender's exchange page;
- ``transfer_cancel_remote`` (destination side, 撤销申请): the destination school withdraws
  its open application and the origin is told (``transfer.cancelled``); the origin's refusal
  (``transfer.refused``) closes the destination's row the same way (``refused_receive``,
  ``cancelled_receive``). A message for an application already closed on the receiving side
  is refused (``state_conflict``), for one it does not know ``application_unknown``.

Error codes: ``reason_required``, ``grade_not_offered``, ``peer_unknown_province`` (422),
``state_conflict`` (409); to the sender: ``ref_invalid``, ``pupil_changed``,
``open_business``, ``application_unknown``, ``state_conflict``.
"""

from __future__ import annotations

import uuid

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel, ConfigDict, Field

from accounts.scope import get_in_scope
from exchange import protocol
from exchange import services as exchange
from kernel.errors import BusinessRefused, Conflict, ValidationFailed
from registry.models import Pupil, PupilStatus
from transfers.exchange_handlers import REMOTE_LOOKUP_SALT
from transfers.lookup import LOOKUP_MAX_AGE, _school_member
from transfers.models import CrossTransfer, Transfer
from transfers.services import check_destination, required_reason
from transfers.states import OPEN_STATES, State
from workflow import business

APPLIED = "transfer.applied"


class AppliedBody(BaseModel):
    """``transfer.applied``: a destination school's application for a pupil of the recipient."""

    model_config = ConfigDict(extra="forbid")
    application: uuid.UUID = Field(description="the application's id, the same on both registries")
    ref: str = Field(max_length=300, description="the recipient's reference from its transfer.lookup answer")
    origin_school_code: str = Field(pattern=r"^\d{10}$")
    pupil_name: str = Field(min_length=1, max_length=50, description="the name the lookup found")
    dest_school_code: str = Field(pattern=r"^\d{10}$")
    dest_school_name: str = Field(max_length=100)
    dest_county_code: str = Field(pattern=r"^\d{6}$")
    dest_grade: int = Field(ge=1, le=12)
    dest_class_number: int = Field(ge=1, le=99)
    reason: str = Field(min_length=1, max_length=200)
    applicant: str = Field(max_length=150, description="the applying user's name, for the origin's record")


def transfer_apply_remote(*, user, ref: str, origin_school_code: str, pupil_name: str, dest_grade: int,
                          dest_class_number: int, reason: str) -> CrossTransfer:
    """Apply for a pupil of another province's registry: stored here and sent there."""
    school = _school_member(user).school
    reason = required_reason(reason)
    check_destination(school, dest_grade=dest_grade, dest_class_number=dest_class_number)
    pupil_name = (pupil_name or "").strip()
    if not pupil_name or len(pupil_name) > 50 or len(ref or "") > 300:
        raise ValidationFailed(_("学生引用无效或已过期，请重新查询后申请"), code="ref_invalid", field="ref")
    code = (origin_school_code or "").strip()
    if len(code) != 10:
        raise BusinessRefused(_("学校标识码“%(code)s”不属于已联通的外省学籍系统") % {"code": code[:20]},
                              code="peer_unknown_province", field="origin_school_code")
    if exchange.is_own_province(code) or exchange.peer_for(code[:2]) is None:
        raise BusinessRefused(_("学校标识码“%(code)s”不属于已联通的外省学籍系统") % {"code": code},
                              code="peer_unknown_province", field="origin_school_code")
    with transaction.atomic():
        row = CrossTransfer.objects.create(
            application=uuid.uuid4(), side=CrossTransfer.Side.DEST, peer_province=code[:2], origin_ref=ref,
            pupil_name=pupil_name, origin_school_code=code, dest_school=school, dest_school_code=school.code,
            dest_school_name=school.name, dest_county_code=school.county_id, dest_grade=dest_grade,
            dest_class_number=dest_class_number, reason=reason, applicant=user.get_username(),
        )
        exchange.message_send(type=APPLIED, province=code, body={
            "application": str(row.application), "ref": ref, "origin_school_code": code, "pupil_name": pupil_name,
            "dest_school_code": school.code, "dest_school_name": school.name, "dest_county_code": school.county_id,
            "dest_grade": dest_grade, "dest_class_number": dest_class_number, "reason": reason,
            "applicant": row.applicant,
        })
    return row


def _referenced_pupil(body: dict) -> Pupil:
    try:
        pupil_id, asking_school = signing.loads(body["ref"], salt=REMOTE_LOOKUP_SALT, max_age=LOOKUP_MAX_AGE)
    except (signing.BadSignature, TypeError, ValueError):
        pupil_id, asking_school = None, None
    if asking_school != body["dest_school_code"]:
        raise ValidationFailed(_("学生引用无效或已过期，请重新查询后申请"), code="ref_invalid", field="ref")
    pupil = Pupil.objects.select_for_update(of=("self",)).select_related("school").filter(pk=pupil_id).first()
    if pupil is None:
        raise ValidationFailed(_("学生引用无效或已过期，请重新查询后申请"), code="ref_invalid", field="ref")
    return pupil


def applied_receive(body: dict, envelope: dict, peer) -> None:
    """Store a peer's application for a pupil here, or refuse it with its reason."""
    pupil = _referenced_pupil(body)
    if (pupil.school.code != body["origin_school_code"] or pupil.name != body["pupil_name"]
            or pupil.status not in (PupilStatus.ENROLLED, PupilStatus.SUSPENDED)):
        raise BusinessRefused(_("该学生的学籍信息在查询后已变更（学校、姓名或学籍状态），请重新查询后申请"),
                              code="pupil_changed")
    if Transfer.objects.filter(pupil=pupil, state__in=OPEN_STATES).exists():  # a draft here too
        raise BusinessRefused(_("该学生已有正在办理的转学申请"), code="open_business")
    business.require_no_open_business(pupil)
    row = CrossTransfer.objects.create(
        application=body["application"], side=CrossTransfer.Side.ORIGIN, peer_province=envelope["sender"],
        pupil=pupil, pupil_name=pupil.name, origin_school=pupil.school, origin_school_code=pupil.school.code,
        origin_school_name=pupil.school.name, origin_county_code=pupil.school.county_id,
        dest_school_code=body["dest_school_code"], dest_school_name=body["dest_school_name"],
        dest_county_code=body["dest_county_code"], dest_grade=body["dest_grade"],
        dest_class_number=body["dest_class_number"], reason=body["reason"], applicant=body["applicant"],
        state=State.ORIGIN_SCHOOL,
    )
    business.business_begin(pupil=pupil, kind="transfer", subject=row)  # 在办业务 until it closes


REFUSED = "transfer.refused"
CANCELLED = "transfer.cancelled"


class ClosedBody(BaseModel):
    """``transfer.refused`` / ``transfer.cancelled``: one side closed the application."""

    model_config = ConfigDict(extra="forbid")
    application: uuid.UUID = Field(description="the application's id, the same on both registries")
    reason: str = Field(min_length=1, max_length=500, description="why (无正当理由不得拒绝)")
    by: str = Field(max_length=150, description="who closed it: the user's name and unit")


def _closed(row: CrossTransfer, *, state: str, reason: str) -> None:
    row.state = state
    row.closed_reason = reason
    row.closed_at = timezone.now()
    row.save(update_fields=["state", "closed_reason", "closed_at", "updated_at"])
    business.business_end(subject=row)


def transfer_cancel_remote(*, user, pk: int, reason: str) -> CrossTransfer:
    """撤销申请: the destination school withdraws its open application; the origin is told."""
    _school_member(user)
    reason = (reason or "").strip()[:200]
    if not reason:
        raise ValidationFailed(_("请填写理由"), code="reason_required", field="reason")
    with transaction.atomic():
        row = get_in_scope(CrossTransfer.objects.select_for_update(of=("self",)), user, pk=pk,
                           side=CrossTransfer.Side.DEST)
        if row.state not in OPEN_STATES:
            raise Conflict(_("该跨省转学申请已办结，不能撤销"), code="state_conflict", details={"state": row.state})
        _closed(row, state=State.CANCELLED, reason=reason)
        exchange.message_send(type=CANCELLED, province=row.peer_province, body={
            "application": str(row.application), "reason": reason, "by": f"{user.get_username()}（{row.dest_school_name}）"})
    return row


def _close_received(body: dict, envelope: dict, *, side: str, state: str) -> None:
    row = CrossTransfer.objects.select_for_update().filter(
        application=body["application"], side=side, peer_province=envelope["sender"]).first()
    if row is None:
        raise ValidationFailed(_("本系统没有该跨省转学申请"), code="application_unknown", field="application")
    if row.state not in OPEN_STATES:
        raise Conflict(_("该跨省转学申请在本系统已办结（%(state)s）") % {"state": row.get_state_display()},
                       code="state_conflict", details={"state": row.state})
    _closed(row, state=state, reason=f"{body['reason']}（{body['by']}）")


def refused_receive(body: dict, envelope: dict, peer) -> None:
    """The origin refused the application: closed here, with its reason."""
    _close_received(body, envelope, side=CrossTransfer.Side.DEST, state=State.REFUSED)


def cancelled_receive(body: dict, envelope: dict, peer) -> None:
    """The destination withdrew its application: closed here, with its reason."""
    _close_received(body, envelope, side=CrossTransfer.Side.ORIGIN, state=State.CANCELLED)


def register() -> None:
    protocol.register_message(APPLIED, schema=AppliedBody, apply=applied_receive)
    protocol.register_message(REFUSED, schema=ClosedBody, apply=refused_receive)
    protocol.register_message(CANCELLED, schema=ClosedBody, apply=cancelled_receive)
