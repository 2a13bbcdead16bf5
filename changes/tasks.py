"""Celery tasks of the yearly cycle: thin, they take IDs and call a service.

Promotion is partitioned per school: one ``promote_school`` task per ``PromotionSchool``
row. A retry, a duplicate delivery or a second run finds the row done and does nothing.
Reminders and overdue marks of change requests and graduation lists come from the shared
daily ``workflow.tasks.deadlines_sweep`` (one mechanism for every chain).
"""

from __future__ import annotations

import logging

from celery import shared_task

from changes import promotions

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
