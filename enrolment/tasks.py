"""Celery tasks of enrolment: the daily 待办 of graduates nobody received."""

from __future__ import annotations

from celery import shared_task

from enrolment import unreceived


@shared_task(name="enrolment.tasks.unreceived_graduates")
def unreceived_graduates() -> int:
    """Daily: one 待办 per county whose unreceived-graduates list is due and not empty."""
    return unreceived.unreceived_workitems_open()
