"""Celery tasks of the registry core."""

from __future__ import annotations

from celery import shared_task

from registry import workflow


@shared_task(name="registry.tasks.deadlines_sweep")
def deadlines_sweep() -> dict[str, int]:
    """Daily: due-soon reminders and overdue marks for every chain (never approves)."""
    return workflow.deadlines_sweep()
