"""What an approved change does to the record (异动生效): a change request applied to its pupil,
a graduation list graduating its pupils; and the duplicate check a key change passes before
the county decides. Called by the chain engine through ``changes.chain``, inside the move.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from changes import rules, suspensions
from changes.models import ChangeRequest, GraduationEntry, GraduationList
from duplicates import entry
from enrolment.checks import active_holder_of, id_held_elsewhere_error
from kernel.errors import BusinessRefused
from registry.history import history_entry, record_event
from registry.models import HistoryEntry, Pupil, PupilStatus
from workflow.models import OpenBusiness

log = logging.getLogger("changes")


def require_evidence(request: ChangeRequest) -> None:
    if request.kind in rules.EVIDENCE_REQUIRED and not request.evidence.exists():
        raise BusinessRefused(
            _("%(kind)s须上传证明材料（如死亡证明）后才能提交") % {"kind": request.get_kind_display()},
            code="evidence_required",
            field="evidence",
        )


def run_duplicate_check(request: ChangeRequest) -> None:
    """The duplicate-check hook, before the county step of a key change."""
    if request.kind != ChangeRequest.Kind.KEY_CHANGE:
        return
    data = rules.merged_record(request.pupil, request.payload)
    request.duplicate_findings = entry.likely_duplicates(data, exclude_pk=request.pupil_id) or []


def apply_request(request: ChangeRequest, user) -> None:
    """Apply an approved request to the pupil, with its history, in the caller's transaction."""
    pupil = Pupil.objects.select_for_update(of=("self",)).select_related("school", "school_class").get(pk=request.pupil_id)
    rules.check(request.kind, pupil=pupil, payload=recheck_payload(request), today=timezone.localdate(),
                filed_on=request.created_at.date(), user=user)
    applied = rules.apply(request, pupil, today=timezone.localdate())
    try:
        with transaction.atomic():
            pupil.save()
    except IntegrityError as exc:
        if "one_active_pupil_per_id_number" in str(exc):
            raise id_held_elsewhere_error(active_holder_of(pupil.id_number, exclude_pk=pupil.pk), user=user,
                                          name=pupil.name) from exc
        raise
    request.applied = {"before": applied.before, "after": applied.after}
    record_event(
        pupil,
        kind=f"change_{request.kind}",
        summary=_summary(request),
        user=user,
        data={"request": request.pk, "before": applied.before, "after": applied.after},
    )
    for kind, summary, data in applied.events:
        record_event(pupil, kind=kind, summary=summary, user=user, data={**data, "request": request.pk})
    # 复学, an extension or any way out of 休学 takes a 休学期满未复学 item off the 待办 at once.
    suspensions.overdue_settle(pupil_ids=[pupil.pk])


def recheck_payload(request: ChangeRequest) -> dict:
    # Cleaned payloads carry derived keys; drop them before the check runs again.
    return {k: v for k, v in request.payload.items() if k != "previous_until"}


def _summary(request: ChangeRequest) -> str:
    data = request.payload
    K = ChangeRequest.Kind
    parts = {
        K.SUSPEND: _("休学，%(start)s 至 %(until)s"),
        K.SUSPEND_EXTEND: _("延长休学至 %(until)s"),
        K.RESUME: _("复学，回到%(grade)s年级%(class_number)s班"),
        K.REPEAT: _("留级，转入%(grade)s年级%(class_number)s班"),
        K.SKIP: _("跳级，转入%(grade)s年级%(class_number)s班"),
        K.DROP_OUT: _("辍学（%(date)s）"),
        K.WITHDRAWAL: _("退学（%(date)s），原因：%(reason)s"),
        K.ABROAD: _("出境学习（%(date)s，%(destination)s）"),
        K.DEATH: _("死亡（%(date)s）"),
        K.REINSTATE: _("恢复学籍，回到%(grade)s年级%(class_number)s班"),
    }
    if request.kind == K.KEY_CHANGE:
        before = request.applied.get("before", {})
        after = request.applied.get("after", {})
        changes = "；".join(
            f"{Pupil._meta.get_field(field).verbose_name}：{before.get(field) or '—'} → {after.get(field) or '—'}"
            for field in after
            if field != "national_number"
        )
        return str(_("关键信息变更：%(changes)s") % {"changes": changes})
    if request.kind == K.RECORD_UPDATE:
        before = request.applied.get("before", {})
        changes = "；".join(
            f"{rules.payload_label(key)}：{rules.shown_value(key, before.get(key))} → {rules.shown_value(key, value)}"
            for key, value in request.applied.get("after", {}).items()
        )
        return str(_("信息维护：%(changes)s") % {"changes": changes})
    return str(parts[request.kind] % {**data, "reason": request.reason})


def graduate(graduation: GraduationList, user) -> None:
    """Graduate every listed pupil still 在读 in the school without other open business."""
    entries = list(graduation.entries.select_related("pupil"))
    busy = set(OpenBusiness.objects.filter(pupil__in=[e.pupil_id for e in entries]).values_list("pupil_id", flat=True))
    history = []
    for outcome in GraduationEntry.Outcome.values:
        ids = [e.pupil_id for e in entries if e.outcome == outcome and e.pupil_id not in busy]
        eligible = list(
            Pupil.objects.select_for_update(of=("self",))
            .filter(pk__in=ids, status=PupilStatus.ENROLLED, school=graduation.school)
            .values_list("pk", flat=True)
        )
        Pupil.objects.filter(pk__in=eligible).update(status=outcome, basic_data_locked=True, updated_at=timezone.now())
        GraduationEntry.objects.filter(graduation=graduation, pupil_id__in=eligible).update(applied=True)
        label = GraduationEntry.Outcome(outcome).label
        history += [
            history_entry(
                pupil_id=pk, kind="graduated", school_id=graduation.school_id, user=user,
                summary=_("%(year)s年%(outcome)s（%(school)s），基础信息已锁定")
                % {"year": graduation.school_year, "outcome": label, "school": graduation.school.name},
                data={"graduation": graduation.pk, "outcome": outcome},
            )
            for pk in eligible
        ]
    HistoryEntry.objects.bulk_create(history)
    log.info("graduation list %s applied: %s pupils", graduation.pk, len(history))
