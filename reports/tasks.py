"""Celery tasks of the reports: the pupil-count snapshot."""

from __future__ import annotations

from celery import shared_task

from reports import snapshot


@shared_task(name="reports.tasks.pupil_counts_refresh")
def pupil_counts_refresh() -> dict:
    """Every few minutes: rebuild the counts behind the division statistics pages."""
    taken = snapshot.pupil_counts_refresh()
    return {"rows": taken.rows, "pupils": taken.pupils, "seconds": round(taken.seconds, 2)}
