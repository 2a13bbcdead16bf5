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
- ``applied_refused`` (destination side, when the origin refused ``transfer.applied`` with
  one of ``APPLIED_REFUSALS``): the destination's row is closed as refused (已拒绝) with the
  origin's reason, on its page and in its log; the school may look up and apply again;
- ``transfer_cancel_remote`` (destination side, 撤销申请): the destination school withdraws
  its open application and the origin is told (``transfer.cancelled``); the origin's refusal
  (``transfer.refused``) closes the destination's row the same way (``refused_receive``,
  ``cancelled_receive``). A message for an application already closed on the receiving side
  is refused (``state_conflict``), for one it does not know ``application_unknown``.

The chain (``CROSS_TRANSFER``) runs each step on the registry of its party; a side whose
province policy asks for it adds its province step (转入省 / 转出省审核) after its county,
on its own registry (``dest_steps``, ``origin_steps``; the plan kept in ``steps``).

Error codes: ``reason_required``, ``grade_not_offered``, ``peer_unknown_province`` (422),
``state_conflict`` (409); to the sender: ``ref_invalid``, ``pupil_changed``,
``open_business``, ``application_unknown``, ``state_conflict``.
"""

from __future__ import annotations

import uuid

from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel, ConfigDict, Field

from accounts.permissions import membership_of
from accounts.scope import get_in_scope
from exchange import protocol
from exchange import services as exchange
from kernel.errors import BusinessRefused, Conflict, ValidationFailed
from provinces.models import ProvincePolicy
from registry.models import Pupil, PupilStatus
from transfers import cross_release, rules
from transfers.chain import APPROVE, APPROVERS, REFUSE, SUBMIT, Role
from transfers.exchange_handlers import REMOTE_LOOKUP_SALT
from transfers.lookup import _school_member
from transfers.models import CrossTransfer, Transfer
from transfers.services import check_destination, required_reason
from transfers.states import OPEN_STATES, State
from workflow import business, engine

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
    dest_province_step: bool = Field(default=False, description="whether the destination province approved it "
                                                                "too (its policy's province step), for the chain shown")


def transfer_apply_remote(*, user, ref: str, origin_school_code: str, pupil_name: str, dest_grade: int,
                          dest_class_number: int, reason: str) -> CrossTransfer:
    """File an application for a pupil of another province's registry: stored here waiting for
    the school's review (待学校审核); it travels to the origin once the destination county
    approved it (``CROSS_TRANSFER``)."""
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
            dest_class_number=dest_class_number, reason=reason, applicant=user.get_username(), filed_by=user,
            state=State.DRAFT,
        )
        engine.start(CROSS_TRANSFER, row, user=user)
    return row


def _applied_body(row: CrossTransfer) -> dict:
    return {
        "application": str(row.application), "ref": row.origin_ref, "origin_school_code": row.origin_school_code,
        "pupil_name": row.pupil_name, "dest_school_code": row.dest_school_code,
        "dest_school_name": row.dest_school_name, "dest_county_code": row.dest_county_code,
        "dest_grade": row.dest_grade, "dest_class_number": row.dest_class_number, "reason": row.reason,
        "applicant": row.applicant, "dest_province_step": State.DEST_PROVINCE in row.steps,
    }


#: How long the origin accepts its lookup reference in an application: the application
#: travels only after the destination school's and county's approval (days, not minutes).
APPLIED_REF_MAX_AGE = 90 * 24 * 3600


def _referenced_pupil(body: dict) -> Pupil:
    try:
        pupil_id, asking_school = signing.loads(body["ref"], salt=REMOTE_LOOKUP_SALT, max_age=APPLIED_REF_MAX_AGE)
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
        state=State.ORIGIN_SCHOOL, submitted_at=timezone.now(),
        steps=origin_steps(pupil.school.county_id, dest_province_step=body.get("dest_province_step", False)),
    )
    business.business_begin(pupil=pupil, kind="transfer", subject=row)  # 在办业务 until it closes
    engine.start_by_system(CROSS_TRANSFER, row, action="apply", actor_name=body["applicant"],
                           unit_code=body["dest_school_code"], unit_name=body["dest_school_name"])


REFUSED = "transfer.refused"
CANCELLED = "transfer.cancelled"
STEP = "transfer.step"
RELEASED = "transfer.released"


class ClosedBody(BaseModel):
    """``transfer.refused`` / ``transfer.cancelled``: one side closed the application."""

    model_config = ConfigDict(extra="forbid")
    application: uuid.UUID = Field(description="the application's id, the same on both registries")
    reason: str = Field(min_length=1, max_length=500, description="why (无正当理由不得拒绝)")
    by: str = Field(max_length=150, description="who closed it: the user's name and unit")


class StepBody(BaseModel):
    """``transfer.step``: a step of the chain done on the sender's side; the chain now waits
    at ``state`` (a state of the sender's side)."""

    model_config = ConfigDict(extra="forbid")
    application: uuid.UUID = Field(description="the application's id, the same on both registries")
    step: str = Field(pattern=r"^(origin_school|origin_county)$", description="the state whose step was done")
    action: str = Field(pattern=r"^approve$", description="what was done there")
    state: str = Field(pattern=r"^(origin_county|origin_province)$", description="where the chain waits now")
    actor: str = Field(max_length=150, description="who did it")
    unit_code: str = Field(max_length=10, description="the acting unit: a school code or a division code")
    unit_name: str = Field(max_length=150)


def _by(user, unit_name) -> str:
    return f"{user.get_username()}（{unit_name}）"[:150]


# --- the chain on each side ------------------------------------------------------------

#: The steps each side takes here; the other side's are done there and arrive as messages.
#: A province step (转入省 / 转出省审核) is in a side's plan when that side's province policy
#: asks for it (``transfer_cross_province_province_step``), as in the chain within one registry.
DEST_STEPS = (State.DRAFT, State.DEST_COUNTY, State.DEST_PROVINCE)
ORIGIN_STEPS = (State.ORIGIN_SCHOOL, State.ORIGIN_COUNTY, State.ORIGIN_PROVINCE)
#: The steps of the origin a ``transfer.step`` may report: (the step done, where it waits now).
ORIGIN_MOVES = ((State.ORIGIN_SCHOOL, State.ORIGIN_COUNTY), (State.ORIGIN_COUNTY, State.ORIGIN_PROVINCE))
NATIONAL_STEPS = [State.DEST_COUNTY, State.ORIGIN_SCHOOL, State.ORIGIN_COUNTY]


def _province_step(county_code: str) -> bool:
    return ProvincePolicy.for_province(county_code[:2]).transfer_cross_province_province_step


def dest_steps(dest_county_code: str) -> list[str]:
    """The destination's plan after its school's review, fixed at submit: its province step
    when its own policy asks; the origin's steps as far as the destination knows them."""
    steps = [State.DEST_COUNTY, *([State.DEST_PROVINCE] if _province_step(dest_county_code) else []),
             State.ORIGIN_SCHOOL, State.ORIGIN_COUNTY]
    return [str(step) for step in steps]


def origin_steps(origin_county_code: str, *, dest_province_step: bool) -> list[str]:
    """The origin's plan, fixed when the application arrives: the destination's steps as the
    message reported them, then the origin's, its province step when its own policy asks."""
    steps = [State.DEST_COUNTY, *([State.DEST_PROVINCE] if dest_province_step else []), State.ORIGIN_SCHOOL,
             State.ORIGIN_COUNTY, *([State.ORIGIN_PROVINCE] if _province_step(origin_county_code) else [])]
    return [str(step) for step in steps]


def cross_steps(row: CrossTransfer) -> list[str]:
    """This side's plan after the destination school's review: as fixed, or (a draft here)
    what submit would fix."""
    if row.steps:
        return list(row.steps)
    if row.side == CrossTransfer.Side.DEST and row.state == State.DRAFT:
        return dest_steps(row.dest_county_code)
    return [str(step) for step in NATIONAL_STEPS]


def _side_party(side: str, party):
    """A party of one side only: on the other registry's row its unit is ``None`` (no 待办)."""
    return engine.Party(unit=lambda row: party.unit(row) if row.side == side else None,
                        match=lambda unit: (q & Q(side=side)) if (q := party.match(unit)) is not None else None)


class CrossTransferHooks(engine.Hooks):
    def plan(self, chain, row):
        return [State.DRAFT, *cross_steps(row)]

    def moving(self, chain, row, action, source, target, user, reason):
        if row.side == CrossTransfer.Side.DEST and action == "submit":
            row.steps = cross_steps(row)
            return ["steps"]
        return []

    def lock(self, chain, user, pk):
        return get_in_scope(CrossTransfer.objects.select_for_update(of=("self",)), user, pk=pk)

    def pupil(self, chain, row):
        return row.pupil

    def home(self, chain, row):
        if row.side == CrossTransfer.Side.DEST:
            return row.dest_county_code, row.dest_school
        return row.origin_county_code, row.origin_school

    def title(self, chain, row):
        return str(_("跨省转学%(state)s：%(name)s（%(origin)s → %(dest)s）")
                   % {"state": State(row.state).label, "name": row.pupil_name,
                      "origin": row.origin_school_name or row.origin_school_code, "dest": row.dest_school_name})

    def url(self, chain, row):
        return reverse("transfers:remote_detail", args=[row.pk])

    def check(self, chain, row, action, user, **options):
        if row.side != CrossTransfer.Side.ORIGIN or action != APPROVE.name:
            return  # the destination holds no record of the pupil to ask about
        if row.pupil_id and (problem := rules.problem_refusal(row.pupil)) is not None:
            raise problem  # became a problem record here while the chain was open
        if row.state == self.plan(chain, row)[-1]:
            pupil = Pupil.objects.select_for_update(of=("self",)).get(pk=row.pupil_id)
            if pupil.school_id != row.origin_school_id or pupil.status not in (PupilStatus.ENROLLED,
                                                                               PupilStatus.SUSPENDED):
                raise BusinessRefused(
                    _("该学生学籍状态已变为“%(status)s”，不能完成转学；请填写理由后不予通过")
                    % {"status": pupil.get_status_display()}, code="pupil_not_enrolled")

    def moved(self, chain, row, action, source, target, user, reason):
        membership = membership_of(user)
        unit_name = str(membership.unit_name) if membership else ""
        peer = row.peer_province
        if row.side == CrossTransfer.Side.DEST:
            if action == "approve" and target == State.ORIGIN_SCHOOL:  # the destination's own steps done
                exchange.message_send(type=APPLIED, province=peer, body=_applied_body(row))
            elif action == "cancel":
                row.closed_reason = reason
                row.save(update_fields=["closed_reason"])
                if source in ORIGIN_STEPS:  # the origin knows it: tell it
                    exchange.message_send(type=CANCELLED, province=peer, body={
                        "application": str(row.application), "reason": reason, "by": _by(user, unit_name)})
            elif action == "refuse":
                row.closed_reason = reason
                row.save(update_fields=["closed_reason"])
            return
        if action == "approve" and target in ORIGIN_STEPS:
            exchange.message_send(type=STEP, province=peer, body={
                "application": str(row.application), "step": source, "action": action, "state": target,
                "actor": user.get_username(), "unit_code": membership.unit_code if membership else "",
                "unit_name": unit_name})
        elif action == "refuse":
            row.closed_reason = reason
            row.save(update_fields=["closed_reason"])
            business.business_end(subject=row)
            exchange.message_send(type=REFUSED, province=peer, body={
                "application": str(row.application), "reason": reason, "by": _by(user, unit_name)})
        elif target == State.COMPLETED:
            business.business_end(subject=row)
            exchange.message_send(type=RELEASED, province=peer, body=cross_release.release(row, user=user))


CROSS_TRANSFER = engine.Chain(
    kind="cross_transfer",
    label=_("跨省转学申请"),
    model=CrossTransfer,
    states=State,
    first=State.DRAFT,
    done=State.COMPLETED,
    steps=(
        engine.Step(State.DRAFT, "dest_school", APPROVERS, (SUBMIT,)),
        engine.Step(State.DEST_COUNTY, "dest_county", APPROVERS, (APPROVE, REFUSE)),
        engine.Step(State.DEST_PROVINCE, "dest_province", APPROVERS, (APPROVE, REFUSE)),
        engine.Step(State.ORIGIN_SCHOOL, "origin_school", APPROVERS, (APPROVE, REFUSE)),
        engine.Step(State.ORIGIN_COUNTY, "origin_county", APPROVERS, (APPROVE, REFUSE)),
        engine.Step(State.ORIGIN_PROVINCE, "origin_province", APPROVERS, (APPROVE, REFUSE)),
    ),
    parties={
        "dest_school": _side_party(CrossTransfer.Side.DEST, engine.school_party("dest_school", "dest_county_code")),
        "dest_county": _side_party(CrossTransfer.Side.DEST, engine.county_party("dest_county_code")),
        "dest_province": _side_party(CrossTransfer.Side.DEST, engine.province_party("dest_county_code")),
        "origin_school": _side_party(CrossTransfer.Side.ORIGIN,
                                     engine.school_party("origin_school", "origin_county_code")),
        "origin_county": _side_party(CrossTransfer.Side.ORIGIN, engine.county_party("origin_county_code")),
        "origin_province": _side_party(CrossTransfer.Side.ORIGIN, engine.province_party("origin_county_code")),
    },
    standing=(engine.Standing(
        engine.Action("cancel", _("撤销申请"), target=State.CANCELLED, reason_required=True, two_person=False),
        party="dest_school", roles=(Role.OPERATOR, Role.APPROVER),
        refusal=("not_destination", _("只有转入学校可以撤销转学申请"))),),
    pupil_business=False,  # the origin side holds its pupil's 在办业务 itself (the destination has no pupil)
    initiator_field="filed_by",
    hooks=CrossTransferHooks(),
)

ACTIONS = ("submit", "approve", "refuse", "cancel")


def cross_transfer_move(*, user, pk: int, action: str, reason: str = "") -> CrossTransfer:
    """One step of this side's chain by a user here (submit, approve, refuse, cancel)."""
    if action not in ACTIONS:
        raise ValidationFailed(_("未知的操作"), code="unknown_action", field="action")
    return engine.move(CROSS_TRANSFER, user=user, pk=pk, action=action, reason=reason)


def transfer_cancel_remote(*, user, pk: int, reason: str) -> CrossTransfer:
    """撤销申请: the destination school withdraws its open application; the origin is told
    when the application had reached it."""
    reason = (reason or "").strip()[:200]
    if not reason:
        raise ValidationFailed(_("请填写理由"), code="reason_required", field="reason")
    return cross_transfer_move(user=user, pk=pk, action="cancel", reason=reason)


def _received_row(body: dict, envelope: dict, *, side: str) -> CrossTransfer:
    row = CrossTransfer.objects.select_for_update(of=("self",)).filter(
        application=body["application"], side=side, peer_province=envelope["sender"]).first()
    if row is None:
        raise ValidationFailed(_("本系统没有该跨省转学申请"), code="application_unknown", field="application")
    return row


def _state_conflict(row: CrossTransfer) -> Conflict:
    return Conflict(_("该跨省转学申请在本系统已办结或不在此环节（%(state)s）") % {"state": row.get_state_display()},
                    code="state_conflict", details={"state": row.state})


def _close_received(body: dict, envelope: dict, *, side: str, state: str, waiting: tuple[str, ...]) -> None:
    row = _received_row(body, envelope, side=side)
    if row.state not in waiting:
        raise _state_conflict(row)
    row.closed_reason = f"{body['reason']}（{body['by']}）"[:700]
    row.save(update_fields=["closed_reason"])
    action = "refuse" if state == State.REFUSED else "cancel"
    engine.move_by_system(CROSS_TRANSFER, row, action=action, target=state, reason=body["reason"],
                          actor_name=body["by"], unit_code=envelope["sender"])
    if row.side == CrossTransfer.Side.ORIGIN:
        business.business_end(subject=row)


def refused_receive(body: dict, envelope: dict, peer) -> None:
    """The origin refused the application: closed here, with its reason."""
    _close_received(body, envelope, side=CrossTransfer.Side.DEST, state=State.REFUSED, waiting=ORIGIN_STEPS)


def cancelled_receive(body: dict, envelope: dict, peer) -> None:
    """The destination withdrew its application: closed here, with its reason."""
    _close_received(body, envelope, side=CrossTransfer.Side.ORIGIN, state=State.CANCELLED, waiting=ORIGIN_STEPS)


#: The origin's refusals of an application on arrival (``applied_receive``): the
#: destination's row closes as refused with the origin's reason. Any other refusal of the
#: message (a fault of the link or of the message itself) leaves the row waiting: the
#: exchange staff put it right and send it again.
APPLIED_REFUSALS = ("ref_invalid", "pupil_changed", "open_business")


def applied_refused(body: dict, envelope: dict, code: str, reason: str) -> None:
    """The origin refused the application on arrival (the sender's side of ``transfer.applied``):
    the destination's row is closed as refused with the origin's reason, in the log as the
    origin registry's act; the school may apply again (a new lookup, a new application)."""
    if code not in APPLIED_REFUSALS:
        return
    row = CrossTransfer.objects.select_for_update(of=("self",)).filter(
        application=body["application"], side=CrossTransfer.Side.DEST, peer_province=envelope["recipient"]).first()
    if row is None or row.state not in ORIGIN_STEPS:
        return  # cancelled here meanwhile, or closed by this refusal already (a retried message)
    peer = exchange.peer_for(row.peer_province)
    by = str(_("%(peer)s学籍系统") % {"peer": peer.name if peer else row.peer_province})
    reason = (reason or code)[:500]
    row.closed_reason = f"{reason}（{by}）"[:700]
    row.save(update_fields=["closed_reason"])
    engine.move_by_system(CROSS_TRANSFER, row, action="refuse", target=State.REFUSED, reason=reason,
                          actor_name=by, unit_code=row.peer_province, unit_name=by)


def step_receive(body: dict, envelope: dict, peer) -> None:
    """A step done at the origin: the destination's row shows where the chain waits now."""
    row = _received_row(body, envelope, side=CrossTransfer.Side.DEST)
    if (body["step"], body["state"]) not in ORIGIN_MOVES:
        raise ValidationFailed(_("跨省转学环节“%(step)s”之后不能是“%(state)s”") % {"step": body["step"], "state": body["state"]},
                               code="invalid_message", field="state")
    if row.state != body["step"]:
        raise _state_conflict(row)
    if body["state"] not in cross_steps(row):  # the origin's province step, its policy's: now known here
        row.steps = [*cross_steps(row), body["state"]]
        row.save(update_fields=["steps"])
    engine.move_by_system(CROSS_TRANSFER, row, action=body["action"], target=body["state"],
                          actor_name=body["actor"], unit_code=body["unit_code"], unit_name=body["unit_name"])


def released_receive(body: dict, envelope: dict, peer) -> None:
    """The origin county's final approval: the pupil is created here, at the destination
    school, with the same national number; the chain completes here."""
    row = _received_row(body, envelope, side=CrossTransfer.Side.DEST)
    if row.state not in ORIGIN_STEPS:
        raise _state_conflict(row)
    pupil = cross_release.receive(row, body)
    row.pupil = pupil
    row.save(update_fields=["pupil"])
    engine.move_by_system(CROSS_TRANSFER, row, action="approve", target=State.COMPLETED,
                          actor_name=body["by"], unit_code=body["unit_code"], unit_name=body["unit_name"])


def register() -> None:
    protocol.register_message(APPLIED, schema=AppliedBody, apply=applied_receive, refused=applied_refused)
    protocol.register_message(REFUSED, schema=ClosedBody, apply=refused_receive)
    protocol.register_message(CANCELLED, schema=ClosedBody, apply=cancelled_receive)
    protocol.register_message(STEP, schema=StepBody, apply=step_receive)
    protocol.register_message(RELEASED, schema=cross_release.ReleasedBody, apply=released_receive)
