"""Celery tasks of the yearly cycle: thin, they take IDs and call a service.

Promotion is partitioned per school: one ``promote_school`` task per ``PromotionSchool``
row. A retry, a duplicate delivery or a second run finds the row done and does nothing.
Reminders and overdue marks of change requests and graduation lists come from the shared
daily ``workflow.tasks.deadlines_sweep`` (one mechanism for every chain). The daily
``suspensions_overdue_sweep`` puts suspensions past their end date on the schools' 待办.
"""

from __future__ import annotations

import logging

from celery import shared_task

from changes import promotions, suspensions

log = logging.getLogger("changes")


@shared_task(name="changes.tasks.promote_school", bind=True, max_retries=3, default_retry_delay=30)
def promote_school(self, part_id: int) -> dict:
    try:
        part = promotions.promotion_school_apply(part_id=part_id)
    except Exception as exc:  # retried, then recorded on the row for the progress page
        if self.request.retries >= self.max_retries:
            log.exception("promotion of school part %s failed", part_id)
            promotions.promotion_school_failed(part_id=part_id, error=str(exc))
            raise
        raise self.retry(exc=exc) from exc
    return {"part": part.pk, "moved": part.moved, "stayed": part.stayed}


@shared_task(name="changes.tasks.suspensions_overdue_sweep")
def suspensions_overdue_sweep() -> dict[str, int]:
    """Daily: 休学期满未复学 on the schools' 待办 (once per pupil and end date), settled ones closed."""
    return suspensions.suspensions_overdue_sweep()
