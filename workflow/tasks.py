"""Celery tasks of the workflow: the daily deadline sweep."""

from __future__ import annotations

from celery import shared_task

from workflow import deadlines


@shared_task(name="workflow.tasks.deadlines_sweep")
def deadlines_sweep() -> dict[str, int]:
    """Daily: due-soon reminders and overdue marks for every chain (never approves)."""
    return deadlines.deadlines_sweep()
