"""Services of the transfer chain (转学). Each takes the acting user, checks scope, role and
the national and province rules, writes in one transaction and records the audit.

- ``transfer_apply``   — destination operator fills in (draft), only from a lookup's reference
- ``transfer_drafts_expire`` — drafts not submitted within 10 working days expire
- ``transfer_submit``  — destination approver (another person) submits: 学校审核
- ``transfer_approve`` / ``transfer_refuse`` — the party of the current step
- ``transfer_cancel``  — destination school, while the chain is open
- ``transfer_attach``  — proof material (``kernel.proof``: JPG/PNG/PDF ≤ 2 MB, by bytes)

The steps are moves of the chain engine on ``transfers.chain.TRANSFER``: it locks the row,
checks party, role, state, two-person rule and reason, and a second click, a retry or a
lost race gets ``Conflict``. The lookup is ``transfers.lookup``; the start rules
``transfers.rules``; completion ``transfers.completion``.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.audit import acting_as
from accounts.models import Membership
from accounts.permissions import require_role
from kernel.errors import BusinessRefused, Forbidden, NotFound, ValidationFailed
from kernel.proof import ProofFile, check_proofs, require_room
from registry.models import Pupil
from schools.models import GRADE_NAMES, School
from transfers import expiry, selectors
from transfers.chain import TRANSFER
from transfers.lookup import lookup_required, origin_school, pupil_of_reference
from transfers.models import Transfer, TransferAttachment
from transfers.rules import grade_refusal, start_refusal
from transfers.states import State
from workflow import business, engine

log = logging.getLogger("registry.transfers")

Role = Membership.Role


def _pupil_for_apply(*, user, origin: School, pupil_ref: str) -> Pupil:
    """The pupil of a card of the user's own recent lookup at the origin school, locked."""
    pk = pupil_of_reference(user=user, ref=pupil_ref, origin=origin)
    pupil = Pupil.objects.select_for_update(of=("self",)).select_related("school_class", "school").filter(
        pk=pk, school=origin).first()
    if pupil is None:
        raise NotFound(
            _("在转出学校“%(school)s”未找到该学生") % {"school": origin.name},
            code="pupil_not_found",
            field="pupil_ref",
        )
    return pupil


# --- attachments ---------------------------------------------------------------------

def _store_proofs(transfer: Transfer, proofs: list[ProofFile], user) -> None:
    for proof in proofs:
        stored = default_storage.save(f"transfers/{transfer.pk}/{proof.stored_name()}", ContentFile(proof.content))
        TransferAttachment.objects.create(
            transfer=transfer,
            file=stored,
            kind=proof.extension,
            size=len(proof.content),
            label=proof.original_name[:100],
            uploaded_by=user,
        )
        log.info("transfer %s: attachment %s stored by %s", transfer.pk, stored, user)


# --- apply ---------------------------------------------------------------------------

def check_destination(dest: School, *, dest_grade: int, dest_class_number: int) -> None:
    """The grade must be one the destination school offers; the class number 1 to 99."""
    if dest_grade not in dest.grades:
        raise ValidationFailed(
            _("%(school)s没有%(grade)s") % {"school": dest.name, "grade": GRADE_NAMES.get(dest_grade, dest_grade)},
            code="grade_not_offered",
            field="dest_grade",
        )
    if not 1 <= int(dest_class_number) <= 99:
        raise ValidationFailed(_("班号应为1到99"), code="invalid_class_number", field="dest_class_number")


def required_reason(reason: str) -> str:
    """A transfer states its reason (转学原因): stripped, at most the column's 200 characters."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写转学原因"), code="reason_required", field="reason")
    return reason[:200]


def transfer_apply(
    *,
    user,
    origin_school_code: str,
    dest_grade: int,
    dest_class_number: int,
    reason: str,
    national_number: str = "",
    pupil_ref: str = "",
    dest_school_code: str = "",
    transfer_date: dt.date | None = None,
    attachments: list | None = None,
    today: dt.date | None = None,
) -> Transfer:
    """转学申请: the destination operator fills in; the chain waits for the school approver."""
    membership = require_role(user, Role.OPERATOR)
    if not membership.school_id:
        raise Forbidden(_("只有转入学校可以办理转学申请"), code="school_only")
    dest = membership.school
    if dest_school_code and dest_school_code.strip() != dest.code:
        raise ValidationFailed(
            _("转入学校须为您所在的学校（%(code)s）") % {"code": dest.code}, code="not_destination",
            field="dest_school_code",
        )
    origin = origin_school(origin_school_code)
    today = today or timezone.localdate()
    if origin.pk == dest.pk:
        raise BusinessRefused(_("转出学校与转入学校不能相同"), code="same_school", field="origin_school_code")
    check_destination(dest, dest_grade=dest_grade, dest_class_number=dest_class_number)
    reason = required_reason(reason)
    proofs = check_proofs(attachments or ())
    if not (pupil_ref or "").strip():
        # Only from a lookup's result: a bare national number names a foreign pupil unasked.
        with acting_as(user, business="transfer"):
            raise lookup_required(user=user, origin=origin, national_number=national_number)

    with transaction.atomic(), acting_as(user, business="transfer"):
        pupil = _pupil_for_apply(user=user, origin=origin, pupil_ref=pupil_ref)
        transfer_drafts_expire(pupil=pupil)  # an expired draft of another school blocks no more
        refusal = start_refusal(pupil, origin=origin, dest=dest, dest_grade=dest_grade, today=today)
        if refusal is not None:
            raise refusal
        business.require_no_open_business(pupil)
        try:
            with transaction.atomic():
                transfer = Transfer.objects.create(
                    pupil=pupil,
                    origin_school=origin,
                    dest_school=dest,
                    origin_county_code=origin.county_id,
                    dest_county_code=dest.county_id,
                    origin_grade=pupil.grade,
                    origin_class_number=pupil.school_class.number if pupil.school_class_id else None,
                    dest_grade=dest_grade,
                    dest_class_number=dest_class_number,
                    transfer_date=transfer_date or today,
                    reason=reason,
                    applied_by=user,
                )
        except IntegrityError as exc:
            if "one_open_transfer_per_pupil" not in str(exc):
                raise
            raise BusinessRefused(_("该学生已有正在办理的转学申请"), code="open_business") from None
        engine.start(TRANSFER, transfer, user=user, action="apply", reason=reason)
        _store_proofs(transfer, proofs, user)
    return transfer


#: Kept here for the callers of the services; the rule is ``transfers.expiry``.
DRAFT_WORKING_DAYS = expiry.DRAFT_WORKING_DAYS
draft_expires_on = expiry.expires_on


def transfer_drafts_expire(*, pupil: Pupil | None = None, today: dt.date | None = None) -> int:
    """Close drafts and sent-back applications past their time (all, or those of ``pupil``):
    cancelled by the system, logged, their 待办 closed and the pupil freed. Run daily by the
    beat and wherever a draft would block."""
    today = today or timezone.localdate()
    # 10 working days are at least 10 calendar days: older rows only, then the exact rule.
    waiting = Transfer.objects.filter(state__in=expiry.EXPIRING_STATES,
                                      created_at__lt=timezone.now() - dt.timedelta(days=DRAFT_WORKING_DAYS))
    if pupil is not None:
        waiting = waiting.filter(pupil=pupil)
    expired = 0
    for pk in list(waiting.values_list("pk", flat=True)):
        with transaction.atomic(), acting_as(None, task="transfer_drafts_expire", transfer=pk):
            transfer = Transfer.objects.select_for_update().filter(pk=pk, state__in=expiry.EXPIRING_STATES).first()
            if transfer is None or expiry.expires_on(transfer) >= today:
                continue
            reason = (_("退回修改后超过 %(n)s 个工作日未重新提交，已自动失效") if transfer.state == State.RETURNED
                      else _("草稿超过 %(n)s 个工作日未提交，已自动失效")) % {"n": DRAFT_WORKING_DAYS}
            engine.close_by_system(TRANSFER, transfer, action="expire", target=State.CANCELLED, reason=reason)
            expired += 1
    if expired:
        log.info("%s transfer draft(s) expired", expired)
    return expired


def transfer_attach(*, user, transfer_id: int, attachments: list) -> list[TransferAttachment]:
    """Add proof material while the chain is open (destination school only)."""
    membership = require_role(user, Role.OPERATOR, Role.APPROVER)
    proofs = check_proofs(attachments)
    with transaction.atomic(), acting_as(user, business="transfer"):
        transfer = selectors.transfer_get(user, transfer_id, for_update=True)
        if membership.school_id != transfer.dest_school_id:
            raise Forbidden(_("只有转入学校可以上传证明材料"), code="not_destination")
        if not transfer.is_open:
            raise engine.state_conflict(TRANSFER, transfer)
        require_room(already=transfer.attachments.count(), adding=len(proofs))
        before = set(transfer.attachments.values_list("pk", flat=True))
        _store_proofs(transfer, proofs, user)
        return list(transfer.attachments.exclude(pk__in=before))


# --- the steps -----------------------------------------------------------------------

def transfer_submit(*, user, transfer_id: int) -> Transfer:
    """学校审核: the destination approver (not the applicant) sends it to the county."""
    return engine.move(TRANSFER, user=user, pk=transfer_id, action="submit")


def transfer_approve(*, user, transfer_id: int, reason: str = "") -> Transfer:
    """The party of the current step agrees; the last approval completes the transfer."""
    return engine.move(TRANSFER, user=user, pk=transfer_id, action="approve", reason=reason)


def transfer_refuse(*, user, transfer_id: int, reason: str) -> Transfer:
    """The party of the current step refuses, with a reason (无正当理由不得拒绝); the chain ends."""
    return engine.move(TRANSFER, user=user, pk=transfer_id, action="refuse", reason=reason)


def transfer_send_back(*, user, transfer_id: int, reason: str) -> Transfer:
    """退回修改: back to the person who filled it in (a school or county approver, with a reason)."""
    return engine.move(TRANSFER, user=user, pk=transfer_id, action=engine.SEND_BACK, reason=reason)


def transfer_resubmit(*, user, transfer_id: int, reason: str = "") -> Transfer:
    """The person who filled in a transfer sent back hands it to the school's review again."""
    return engine.move(TRANSFER, user=user, pk=transfer_id, action=engine.RESUBMIT, reason=reason)


#: The fields the person who filled in a transfer may correct after a 退回修改.
CORRECTABLE = ("dest_grade", "dest_class_number", "transfer_date", "reason")


def transfer_correct(
    *,
    user,
    transfer_id: int,
    dest_grade: int,
    dest_class_number: int,
    transfer_date: dt.date,
    reason: str,
    attachments: list | None = None,
    note: str = "",
) -> Transfer:
    """退回修改 answered: the person who filled in a transfer sent back corrects its fields
    (the same rules as at apply) and more proof, and hands it to the school's review again.
    The resubmission's log names each change (old → new); the row's history keeps them too."""
    proofs = check_proofs(attachments or ())
    with transaction.atomic(), acting_as(user, business="transfer"):
        transfer = selectors.transfer_get(user, transfer_id, for_update=True)
        engine.require_allowed(TRANSFER, user, transfer, engine.RESUBMIT)
        check_destination(transfer.dest_school, dest_grade=dest_grade, dest_class_number=dest_class_number)
        refusal = grade_refusal(transfer.pupil, origin=transfer.origin_school, dest=transfer.dest_school,
                                dest_grade=dest_grade)
        if refusal is not None:
            raise refusal
        require_room(already=transfer.attachments.count(), adding=len(proofs))
        before = {name: getattr(transfer, name) for name in CORRECTABLE}
        transfer.dest_grade, transfer.dest_class_number = dest_grade, dest_class_number
        transfer.transfer_date, transfer.reason = transfer_date, required_reason(reason)
        changes = engine.changes_of(transfer, before)
        if changes:
            transfer.save(update_fields=[*CORRECTABLE, "updated_at"])
        _store_proofs(transfer, proofs, user)
        if proofs:
            changes.append((str(_("证明材料")), "—", "、".join(p.original_name for p in proofs)))
        return engine.move(TRANSFER, user=user, pk=transfer_id, action=engine.RESUBMIT,
                           reason=engine.changes_text(changes, note))


def transfer_cancel(*, user, transfer_id: int, reason: str = "") -> Transfer:
    """The destination school withdraws an open application; a completed one stays."""
    return engine.move(TRANSFER, user=user, pk=transfer_id, action="cancel", reason=reason)


def actions_for(user, transfer: Transfer) -> list[str]:
    """The actions the user may take now (for buttons; the services check again)."""
    return engine.actions_for(TRANSFER, user, transfer)


def transfer_step_notify(*, transfer_id: int) -> int:
    """E-mail the approvers of the unit at the transfer's current step; returns mails sent.

    A system read (no acting user): it reads the chain to address its own party only.
    """
    transfer = Transfer.objects.select_related("pupil", "origin_school", "dest_school").filter(pk=transfer_id).first()
    return 0 if transfer is None else engine.notify(TRANSFER, transfer)
