"""Celery tasks of the transfer chain. Deadlines (reminders, overdue report) are the shared
``workflow.tasks.deadlines_sweep``; this module only notifies a party that a step arrived."""

from __future__ import annotations

from celery import shared_task

from transfers import services


@shared_task(name="transfers.tasks.step_notify", autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def step_notify(transfer_id: int) -> int:
    """E-mail the approvers of the unit whose step the transfer reached (when they have an address)."""
    return services.transfer_step_notify(transfer_id=transfer_id)


@shared_task(name="transfers.tasks.drafts_expire")
def drafts_expire() -> int:
    """Daily: transfer drafts not submitted within 10 working days expire."""
    return services.transfer_drafts_expire()
