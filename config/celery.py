"""The Celery app. Tasks are thin: they take IDs, set the audit context and call a service."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import task_failure, task_postrun, task_prerun

# Fail closed: a worker started without DJANGO_SETTINGS_MODULE runs production settings.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("registry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {
    "deadlines-daily": {"task": "workflow.tasks.deadlines_sweep", "schedule": crontab(hour=6, minute=0)},
    "unreceived-graduates-daily": {
        "task": "enrolment.tasks.unreceived_graduates", "schedule": crontab(hour=6, minute=30),
    },
    "suspensions-overdue-daily": {
        "task": "changes.tasks.suspensions_overdue_sweep",
        "schedule": crontab(hour=5, minute=30),
    },
    # /readyz reads beat's last heartbeat (config.views.BEAT_HEARTBEAT_KEY).
    "beat-heartbeat": {"task": "config.beat_heartbeat", "schedule": 60.0},
    "duplicate-sweeps-incremental-daily": {
        "task": "duplicates.tasks.sweeps_incremental_daily_task", "schedule": crontab(hour=1, minute=30),
    },
    "transfer-drafts-expire-daily": {"task": "transfers.tasks.drafts_expire", "schedule": crontab(hour=5, minute=0)},
    "duplicate-cases-recheck": {
        "task": "duplicates.tasks.cases_recheck_due_task",
        "schedule": crontab(minute="*/15"),
    },
    "exchange-outbox-due": {"task": "exchange.outbox_flush_due", "schedule": 60.0},
    "pupil-counts-refresh": {"task": "reports.tasks.pupil_counts_refresh", "schedule": crontab(minute="*/10")},
}


@app.task(name="config.beat_heartbeat", ignore_result=True)
def beat_heartbeat() -> None:
    import time

    from django.core.cache import cache

    from config.views import BEAT_HEARTBEAT_KEY

    cache.set(BEAT_HEARTBEAT_KEY, time.time(), None)


@task_failure.connect
def _count_failure(sender=None, **_kwargs) -> None:
    """Task failures for the metrics (config.observability), counted in Redis."""
    from config.observability import count_task_failure

    try:
        count_task_failure(getattr(sender, "name", str(sender)))
    except Exception:  # the metric must never hide the task's own error
        pass


@task_prerun.connect
def _records_begin(**kwargs):
    """A refusal naming another unit's pupil stays recorded when its transaction rolls back."""
    from registry import disclosure

    disclosure.records_begin()


@task_postrun.connect
def _records_end(**kwargs):
    from registry import disclosure

    disclosure.records_end()
