"""The Celery app. Tasks are thin: they take IDs, set the audit context and call a service."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

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
    "transfer-drafts-expire-daily": {"task": "transfers.tasks.drafts_expire", "schedule": crontab(hour=5, minute=0)},
    "duplicate-cases-recheck": {
        "task": "duplicates.tasks.cases_recheck_due_task",
        "schedule": crontab(minute="*/15"),
    },
}
