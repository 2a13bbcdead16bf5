"""L→G promotion (临时学籍号转正式学籍号): pupils with a valid resident ID, no open case and a
passed identity check get ``G`` + their ID number; history keeps the old number.

Many pupils are promoted by a job (``PromotionRun``) on a worker, in short batches: each
batch is one transaction that locks its pupils in primary-key order, re-reads them under the
lock and writes. Every job that writes pupils in bulk (another promotion, an identity check)
locks in the same order and holds its locks for one batch only, so two of them at once wait
for each other briefly and never deadlock.
"""

from __future__ import annotations

import logging

from celery import current_app
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import acting_as
from accounts.permissions import require_province_admin
from duplicates.models import DuplicateCase, PromotionRun
from duplicates.problems import pupil_problem_reasons
from kernel import identity, matching
from kernel.errors import BusinessRefused, NotFound, ValidationFailed
from registry import numbers
from registry.history import record_event
from registry.lifelong import registration_pending_refusal
from registry.models import ACTIVE_STATUSES, Pupil, PupilStatus

log = logging.getLogger(__name__)

#: Pupils promoted per transaction.
BATCH_SIZE = 500
#: National numbers one request may name.
MAX_REQUESTED = 50_000
#: Promotions kept on the job itself (the pupils' history keeps every one).
KEPT_PROMOTED = 1000


def _candidates(province: str, wanted: list[str] | None):
    pupils = Pupil.objects.filter(county_code__startswith=province, status__in=ACTIVE_STATUSES).exclude(
        national_number__startswith="G")
    if wanted is not None:
        return pupils.filter(national_number__in=wanted)
    return pupils.filter(identity_status=Pupil.IdentityStatus.PASSED, id_type="1").exclude(id_number="").exclude(
        status=PupilStatus.PENDING).exclude(duplicate_cases__status=DuplicateCase.Status.OPEN)


def promotion_start(*, user, pupils: list[str] | None = None, enqueue: bool = True) -> PromotionRun:
    """Open a promotion job (``pupils``: national numbers, each refusal reported with its code;
    None = every eligible pupil of the province) and queue it once committed."""
    membership = require_province_admin(user)
    wanted = None
    if pupils is not None:
        if len(pupils) > MAX_REQUESTED:
            raise ValidationFailed(_("一次最多转正 %(n)s 个学籍号") % {"n": MAX_REQUESTED}, code="too_many_pupils",
                                   field="pupils")
        wanted = sorted({str(n).strip().upper() for n in pupils if str(n).strip()})
    with transaction.atomic(), acting_as(user):
        run = PromotionRun.objects.create(province_id=membership.division_id, started_by=user, requested=wanted)
        if enqueue:
            transaction.on_commit(lambda: current_app.signature(
                "duplicates.tasks.promotion_run_task", args=(run.pk,)).delay())
    return run


def promotion_for(user, run_id: int) -> PromotionRun:
    """A promotion job of the admin's own province; 404 otherwise."""
    membership = require_province_admin(user)
    run = PromotionRun.objects.filter(pk=run_id, province_id=membership.division_id).first()
    if run is None:
        raise NotFound(_("未找到该转正任务，或不在您的管理范围内"))
    return run


def promotion_run(*, run_id: int, batch_size: int = BATCH_SIZE) -> PromotionRun:
    """The job itself: the candidates in batches (progress on the job)."""
    claimed = PromotionRun.objects.filter(pk=run_id, status__in=(PromotionRun.Status.QUEUED,)).update(
        status=PromotionRun.Status.RUNNING)
    run = PromotionRun.objects.select_related("started_by").get(pk=run_id)
    if not claimed:
        return run
    wanted = run.requested
    pks = list(_candidates(run.province_id, wanted).order_by("pk").values_list("pk", flat=True).distinct())
    refused = []
    if wanted is not None:
        found = set(Pupil.objects.filter(pk__in=pks).values_list("national_number", flat=True))
        refused = [{"national_number": n, "code": "not_found", "message": _("未找到该学生，或不在您的管理范围内")}
                   for n in wanted if n not in found]
    PromotionRun.objects.filter(pk=run.pk).update(total=len(pks), refused=refused, refused_count=len(refused))
    with acting_as(run.started_by, task="promotion_g", promotion=run.pk):
        for start in range(0, len(pks), batch_size):
            _promote_batch(run, pks[start:start + batch_size])
    run.refresh_from_db()
    run.status = PromotionRun.Status.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    log.info("L→G promotion %s: %s promoted, %s refused", run.pk, run.promoted_count, run.refused_count)
    return run


def _promote_batch(run: PromotionRun, pks: list[int]) -> None:
    user = run.started_by
    promoted, refused = [], []
    with transaction.atomic():
        locked = Pupil.objects.select_for_update(of=("self",)).filter(pk__in=pks).order_by("pk")
        for pupil in locked:
            if pupil.national_number.startswith("G") or pupil.status not in ACTIVE_STATUSES:
                continue  # promoted (or left) since the job listed it
            problem = _promotion_problem(pupil)
            if problem is not None:
                refused.append({"national_number": pupil.national_number, "code": problem.code,
                                "message": str(problem.message)})
                continue
            old = pupil.national_number
            pupil.national_number = identity.make_g_number(pupil.id_number)
            try:
                with transaction.atomic():
                    pupil.save(update_fields=["national_number", "updated_at"])
            except IntegrityError:
                refused.append({"national_number": old, "code": "g_number_taken",
                                "message": _("G 号 %(g)s 已被其他学籍使用") % {"g": pupil.national_number}})
                continue
            numbers.retire(pupil=pupil, number=old)
            record_event(pupil, kind="number_changed", user=user, data={"before": old, "after": pupil.national_number},
                         summary=_("全国学籍号由临时号 %(old)s 转为正式号 %(new)s") % {"old": old,
                                                                                     "new": pupil.national_number})
            promoted.append({"before": old, "after": pupil.national_number})
        job = PromotionRun.objects.select_for_update().get(pk=run.pk)
        job.processed += len(pks)
        job.promoted_count += len(promoted)
        job.promoted = (job.promoted + promoted)[:KEPT_PROMOTED]
        job.refused_count += len(refused)
        job.refused = job.refused + refused
        job.save(update_fields=["processed", "promoted_count", "promoted", "refused_count", "refused"])


def promotion_fail(*, run_id: int) -> None:
    PromotionRun.objects.filter(pk=run_id, status__in=(PromotionRun.Status.QUEUED, PromotionRun.Status.RUNNING)).update(
        status=PromotionRun.Status.FAILED, finished_at=timezone.now())


def promotion_report(run: PromotionRun) -> dict:
    return {"promoted": run.promoted, "refused": run.refused}


def promote_to_g(*, user, pupils: list[str] | None = None) -> dict:
    """Promote at once, in the caller's process (management commands, tests): the same job."""
    run = promotion_start(user=user, pupils=pupils, enqueue=False)
    return promotion_report(promotion_run(run_id=run.pk))


def _promotion_problem(pupil: Pupil) -> BusinessRefused | None:
    if (pending := registration_pending_refusal(pupil, doing=_("转为正式学籍号"))) is not None:
        return pending
    if pupil.id_type != "1" or not pupil.id_number or not matching.id_is_valid(pupil.id_number):
        return BusinessRefused(_("%(name)s 没有有效的居民身份证号，不能转为正式学籍号") % {"name": pupil.name},
                               code="no_valid_resident_id")
    reasons = pupil_problem_reasons(pupil)
    if reasons:
        return BusinessRefused(_("%(name)s 为问题学籍：%(r)s") % {"name": pupil.name, "r": "；".join(reasons)},
                               code="problem_record")
    if pupil.identity_status != Pupil.IdentityStatus.PASSED:
        return BusinessRefused(_("%(name)s 尚未通过身份核验") % {"name": pupil.name}, code="identity_unchecked")
    return None
