"""Services of the yearly promotion (升级): the province admin starts it on or after the
promotion date; one Celery task per school moves each 在读 pupil up one grade, once per
school year (``PromotionSchool`` is the idempotency key)."""

from __future__ import annotations

import datetime as dt
import logging

from celery import current_app
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.audit import acting_as
from accounts.models import Membership
from accounts.permissions import require_membership
from accounts.scope import restrict
from changes import rules
from changes.models import PromotionRun, PromotionSchool
from kernel.errors import Conflict, Forbidden
from provinces.models import ProvincePolicy
from registry.history import history_entry
from registry.models import HistoryEntry, Pupil, PupilStatus
from schools.classes import class_for
from schools.models import GRADE_NAMES, School, SchoolClass

log = logging.getLogger("changes")

Role = Membership.Role


def _province_admin(user):
    membership = require_membership(user)
    if membership.role != Role.ADMIN or membership.level != "province":
        raise Forbidden(_("只有省级管理员可以执行升级"), code="province_admin_only")
    return membership


def running_run(province_code: str) -> PromotionRun | None:
    """A run of the province still under way: schools queued and not done or failed."""
    return PromotionRun.objects.filter(
        province_id=province_code, status=PromotionRun.Status.RUNNING,
        schools__status=PromotionSchool.Status.PENDING,
    ).distinct().first()


def promotion_preview(*, user, school_year: int | None = None, today: dt.date | None = None) -> dict:
    """What 升级 would do, read only: the 在读 pupils of the province per grade, which move up
    (→ the next grade) and which stay for graduation; the refusal a start would get now."""
    membership = _province_admin(user)
    today = today or timezone.localdate()
    policy = ProvincePolicy.for_province(membership.division_id)
    school_year = rules.check_school_year(school_year or rules.school_year_under_way(today, policy))
    counts = (
        restrict(Pupil.objects.filter(status=PupilStatus.ENROLLED), user)
        .values_list("school__stage", "grade").annotate(n=models.Count("id")).order_by()
    )
    grades: dict[int, dict] = {}
    for stage, grade, n in counts:
        target = School(stage=stage).next_grade(grade)
        row = grades.setdefault(grade, {"grade": grade, "name": GRADE_NAMES.get(grade, grade), "moving": 0,
                                        "staying": 0, "to_name": GRADE_NAMES.get(grade + 1, "")})
        row["moving" if target else "staying"] += n
    done = PromotionSchool.objects.filter(school_year=school_year, status=PromotionSchool.Status.DONE,
                                          run__province_id=membership.division_id).count()
    rows = [grades[g] for g in sorted(grades)]
    return {
        "school_year": school_year,
        "grades": rows,
        "moving": sum(r["moving"] for r in rows),
        "staying": sum(r["staying"] for r in rows),
        "schools": School.objects.filter(county__code__startswith=membership.division_id).count(),
        "schools_done": done,
        "refusal": rules.promotion_refusal(school_year, today=today, policy=policy),
        "running": running_run(membership.division_id),
    }


def promotion_start(*, user, school_year: int | None = None, today: dt.date | None = None) -> PromotionRun:
    """The province admin starts (or resumes) its province's promotion for a school year,
    on or after the province's promotion date (the school year under way by default).

    One row per school and school year is the idempotency key: starting again only queues
    the schools not done yet. The work runs as one Celery task per school.
    """
    membership = _province_admin(user)
    today = today or timezone.localdate()
    province = membership.division
    policy = ProvincePolicy.for_province(province.code)
    school_year = rules.check_school_year(school_year or rules.school_year_under_way(today, policy))
    refusal = rules.promotion_refusal(school_year, today=today, policy=policy)
    if refusal is not None:
        raise refusal
    with transaction.atomic(), acting_as(user):
        # One start at a time: the province's row locked, a run still queued is refused.
        type(province).objects.select_for_update().get(pk=province.pk)
        if (running := running_run(province.code)) is not None:
            raise Conflict(
                _("%(year)s学年升级正在进行中，不能再次执行；请等待完成后再查看结果") % {"year": running.school_year},
                code="promotion_running",
                details={"run": running.pk, "school_year": running.school_year},
            )
        run, _created = PromotionRun.objects.get_or_create(
            province=province, school_year=school_year, defaults={"started_by": user}
        )
        done = set(PromotionSchool.objects.filter(school_year=school_year).values_list("school_id", flat=True))
        PromotionSchool.objects.bulk_create(
            [
                PromotionSchool(run=run, school=school, school_year=school_year)
                for school in School.objects.filter(county__code__startswith=province.code).exclude(pk__in=done)
            ],
            ignore_conflicts=True,
        )
        pending = list(run.schools.exclude(status=PromotionSchool.Status.DONE).values_list("pk", flat=True))
        if pending and run.status == PromotionRun.Status.DONE:
            PromotionRun.objects.filter(pk=run.pk).update(status=PromotionRun.Status.RUNNING, finished_at=None)
        log.info("promotion %s of %s started by %s: %s schools queued", school_year, province.code,
                 user.get_username(), len(pending))

        def queue():
            # Queued by name: changes.tasks calls this module.
            for pk in pending:
                current_app.signature("changes.tasks.promote_school", args=(pk,)).delay()

        transaction.on_commit(queue)
    if not pending:
        _finish_run(run.pk)
    run.refresh_from_db()
    return run


def promotion_school_apply(*, part_id: int) -> PromotionSchool:
    """Promote one school's 在读 pupils once per school year (a retry or rerun is a no-op).

    Each pupil moves up one grade within its stage into the class of the same number;
    pupils of graduating grades stay for graduation.
    """
    with transaction.atomic():
        part = PromotionSchool.objects.select_for_update(of=("self",)).select_related("school", "run__started_by").get(pk=part_id)
        if part.status == PromotionSchool.Status.DONE:
            return part
        user = part.run.started_by
        with acting_as(user, task="promotion", school_year=part.school_year):
            _promote(part, user)
    _finish_run(part.run_id)
    return part


def _promote(part: PromotionSchool, user) -> None:
    school = part.school
    rows = list(
        Pupil.objects.select_for_update(of=("self",))
        .filter(school=school, status=PupilStatus.ENROLLED)
        .values_list("pk", "grade", "school_class__number")
    )
    groups: dict[tuple[int, int | None], list[int]] = {}
    stayed: dict[str, int] = {}
    for pk, grade, number in rows:
        if school.next_grade(grade) is None:
            stayed[str(grade)] = stayed.get(str(grade), 0) + 1
        else:
            groups.setdefault((grade, number), []).append(pk)
    classes_before = SchoolClass.objects.filter(school=school).count()
    moved: dict[str, int] = {}
    history = []
    now = timezone.now()
    for (grade, number), pks in sorted(groups.items(), key=lambda item: (-item[0][0], item[0][1] or 0)):
        target = grade + 1
        new_class = class_for(school, target, number) if number is not None else None
        Pupil.objects.filter(pk__in=pks).update(grade=target, school_class=new_class, updated_at=now)
        key = f"{grade}→{target}"
        moved[key] = moved.get(key, 0) + len(pks)
        summary = str(_("%(year)s学年升级：%(old)s → %(new)s")
                      % {"year": part.school_year, "old": GRADE_NAMES[grade], "new": GRADE_NAMES[target]})
        history += [
            history_entry(pupil_id=pk, kind="promoted", summary=summary, school_id=school.pk, at=now,
                          data={"school_year": part.school_year, "from": grade, "to": target}, user=user)
            for pk in pks
        ]
    HistoryEntry.objects.bulk_create(history, batch_size=2000)
    part.moved = sum(moved.values())
    part.stayed = sum(stayed.values())
    part.report = {
        "moved": moved,
        "stayed": stayed,
        "classes_created": SchoolClass.objects.filter(school=school).count() - classes_before,
    }
    part.status = PromotionSchool.Status.DONE
    part.error = ""
    part.done_at = now
    part.save()
    log.info("promotion %s of school %s: %s moved, %s stayed", part.school_year, school.code, part.moved, part.stayed)


def promotion_school_failed(*, part_id: int, error: str) -> None:
    PromotionSchool.objects.filter(pk=part_id).exclude(status=PromotionSchool.Status.DONE).update(
        status=PromotionSchool.Status.FAILED, error=error[:300]
    )


def _finish_run(run_id: int) -> None:
    """Mark a run done once no school is left (conditional update: one writer wins)."""
    if not PromotionSchool.objects.filter(run_id=run_id).exclude(status=PromotionSchool.Status.DONE).exists():
        PromotionRun.objects.filter(pk=run_id, status=PromotionRun.Status.RUNNING).update(
            status=PromotionRun.Status.DONE, finished_at=timezone.now()
        )
