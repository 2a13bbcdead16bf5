"""Delivery of the outbox (thin tasks: a peer id in, the service does the rest)."""

from __future__ import annotations

from celery import shared_task

from exchange import services


@shared_task(name="exchange.outbox_flush", ignore_result=True)
def outbox_flush_task(peer_id: int) -> None:
    result = services.outbox_flush(peer_id)
    if result.retry_in is not None:
        outbox_flush_task.apply_async((peer_id,), countdown=max(result.retry_in, 0.05))


@shared_task(name="exchange.outbox_flush_due", ignore_result=True)
def outbox_flush_due_task() -> None:
    """Every minute: deliver what is due (a worker lost between attempts loses nothing)."""
    for peer_id in services.outbox_due_peers():
        outbox_flush_task.delay(peer_id)
