"""删除 of a duplicate case: two persons (谁批准、谁负责) and an undo.

The chain (``workflow.engine``):

=================  ================================  ==================  ============
state              acts                              actions             then
=================  ================================  ==================  ============
county_review      an approver of the member's        approve             approved
                   county, not the proposer           refuse (reason)     refused
=================  ================================  ==================  ============

A county operator or approver proposes (``deletion_propose``: the case's 删除 with the
member and a reason); the proposer's county may withdraw it while it is open. While it is
open it holds the pupil's open business (在办业务). The approval soft-deletes the record
(``duplicates.cases.case_delete_member``). Within the province's retention period
(``deletion_undo_days``, 30 days by default) an approver of the county can undo it
(``deletion_undo``): the record gets its status back and the cases it resolved are open again.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.audit import acting_as
from accounts.models import Membership
from accounts.permissions import require_county_user
from accounts.scope import get_in_scope
from duplicates import cases
from duplicates.models import DeletionRequest, DeletionState
from kernel.errors import BusinessRefused, Conflict
from provinces.models import ProvincePolicy
from registry.history import record_event
from registry.models import Pupil, PupilStatus
from workflow import engine
from workflow.engine import Action, Chain, Hooks, Standing, Step, county_party

log = logging.getLogger(__name__)

Role = Membership.Role
APPROVERS = (Role.APPROVER, Role.ADMIN)
State = DeletionState

APPROVE = Action("approve", _("同意删除"))
REFUSE = Action("refuse", _("不同意删除"), target=State.REFUSED, reason_required=True)
STEPS = (Step(State.COUNTY_REVIEW, "county", APPROVERS, (APPROVE, REFUSE)),)
WITHDRAW = Standing(
    Action("withdraw", _("撤回"), target=State.WITHDRAWN, two_person=False),
    party="county",
    roles=(Role.OPERATOR, Role.APPROVER, Role.ADMIN),
    refusal=("not_proposer_county", _("只有提出删除的区县可以撤回")),
)


class DeletionHooks(Hooks):
    def lock(self, chain, user, pk):
        get_in_scope(DeletionRequest.objects.all(), user, pk=pk)
        return DeletionRequest.objects.select_for_update(of=("self",)).select_related("pupil__school", "case").get(
            pk=pk)

    def moving(self, chain, row, action, source, target, user, reason):
        if action == "approve":
            row.approved_by = user
            return ["approved_by"]
        if action == "refuse":
            row.refusal_reason = reason[:500]
            return ["refusal_reason"]
        return []

    def moved(self, chain, row, action, source, target, user, reason):
        if target == State.APPROVED:
            row.status_before, row.resolved_cases = cases.case_delete_member(
                user=user, case_id=row.case_id, pupil_id=row.pupil_id, note=row.note)
            row.save(update_fields=["status_before", "resolved_cases"])

    def title(self, chain, row):
        return str(_("删除学籍%(state)s：%(name)s（案件 %(case)s）") % {
            "state": State(row.state).label, "name": row.pupil.name, "case": row.case_id})

    def url(self, chain, row):
        return reverse("duplicates:case_detail", args=[row.case_id])

    def home(self, chain, row):
        return row.county_code, row.pupil.school


DELETION = Chain(
    kind="deletion",
    label=_("删除学籍"),
    model=DeletionRequest,
    states=State,
    first=State.COUNTY_REVIEW,
    done=State.APPROVED,
    steps=STEPS,
    parties={"county": county_party("county_code")},
    standing=(WITHDRAW,),
    initiator_field="proposed_by",
    submitted_field="submitted_at",
    closed_field="decided_at",
    hooks=DeletionHooks(),
)


def deletion_propose(*, user, case_id: int, pupil: str, note: str = "") -> DeletionRequest:
    """删除, proposed: the member and the reason wait for an approver of the county."""
    require_county_user(user, message=_("疑似重复学籍由学生所在区县处理"))
    with transaction.atomic(), acting_as(user, business="deletion"):
        case, member = cases.case_member_for_delete(user=user, case_id=case_id, pupil=pupil, note=note)
        try:
            with transaction.atomic():
                row = DeletionRequest.objects.create(case=case, pupil=member, county_code=member.county_code,
                                                     note=note.strip()[:500], proposed_by=user)
        except IntegrityError:
            raise Conflict(_("该案件已有待审核的删除申请"), code="deletion_pending") from None
        engine.start(DELETION, row, user=user, action="propose", reason=note)
        record_event(member, kind="deletion_proposed", user=user, data={"case": case.pk, "request": row.pk},
                     summary=_("提出删除本条学籍（案件 %(id)s），待区县审核：%(note)s") % {"id": case.pk, "note": note})
    log.info("deletion %s proposed for case %s by %s", row.pk, case_id, user)
    return row


def deletion_approve(*, user, request_id: int, reason: str = "") -> DeletionRequest:
    return engine.move(DELETION, user=user, pk=request_id, action="approve", reason=reason)


def deletion_refuse(*, user, request_id: int, reason: str) -> DeletionRequest:
    return engine.move(DELETION, user=user, pk=request_id, action="refuse", reason=reason)


def deletion_withdraw(*, user, request_id: int, reason: str = "") -> DeletionRequest:
    return engine.move(DELETION, user=user, pk=request_id, action="withdraw", reason=reason)


def undo_until(row: DeletionRequest) -> dt.date | None:
    """The last day an approved deletion can be undone (the province's retention period)."""
    if row.decided_at is None:
        return None
    days = ProvincePolicy.for_province(row.county_code).deletion_undo_days
    return timezone.localdate(row.decided_at) + dt.timedelta(days=days)


def deletion_undo(*, user, request_id: int, reason: str = "") -> DeletionRequest:
    """Undo an approved deletion within the retention period (an approver of the county)."""
    require_county_user(user, *APPROVERS, message=_("撤销删除由学生所在区县的审核人办理"))
    with transaction.atomic(), acting_as(user, business="deletion"):
        row = DELETION.hooks.lock(DELETION, user, request_id)
        if row.state != State.APPROVED or row.undone_at is not None:
            raise Conflict(_("只有已删除的申请可以撤销"), code="deletion_not_approved")
        if timezone.localdate() > undo_until(row):
            raise Conflict(_("已超过可撤销期限（%(date)s）") % {"date": undo_until(row)}, code="deletion_undo_expired")
        pupil = Pupil.objects.select_for_update().get(pk=row.pupil_id)
        if pupil.status != PupilStatus.DELETED:
            raise Conflict(_("该学籍已不是删除状态"), code="deletion_not_approved")
        pupil.status = row.status_before or PupilStatus.ENROLLED
        try:
            with transaction.atomic():
                pupil.save(update_fields=["status", "updated_at"])
        except IntegrityError:
            raise BusinessRefused(_("该身份证号已有其他在籍学生，不能恢复本条学籍"), code="undo_id_taken") from None
        reopened = cases.case_reopen(user=user, case_ids=row.resolved_cases,
                                     note=_("删除已撤销（申请 %(id)s）") % {"id": row.pk})
        row.undone_at, row.undone_by = timezone.now(), user
        row.save(update_fields=["undone_at", "undone_by"])
        record_event(pupil, kind="deletion_undone", user=user, data={"request": row.pk, "reason": reason},
                     summary=_("撤销删除，恢复本条学籍（%(n)s 个案件重新待处理）") % {"n": reopened})
    log.info("deletion %s undone by %s", row.pk, user)
    return row
