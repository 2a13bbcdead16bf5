"""docker-compose.scale.yml's queues: with CELERY_SPLIT_QUEUES the sweeps and the file work
go to their own queues, everything else to the default one; without it, all to default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent

ROUTE = """
import django; django.setup()
from config.celery import app
from config.observability import celery_queues
for name in ("workflow.tasks.deadlines_sweep", "duplicates.tasks.cases_recheck_due_task", "photos.import_run",
             "schools.roster_export", "portal.audit_export", "transfers.tasks.step_notify",
             "config.beat_heartbeat"):
    print(name, app.amqp.router.route({}, name)["queue"].name)
print("queues", ",".join(celery_queues()))
"""


def routes(**env) -> dict[str, str]:
    result = subprocess.run([sys.executable, "-c", ROUTE], cwd=BASE_DIR, env={**os.environ, **env},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return dict(line.split(" ", 1) for line in result.stdout.splitlines())


def test_split_queues_send_sweeps_and_files_to_their_workers():
    got = routes(CELERY_SPLIT_QUEUES="1", CELERY_QUEUE="registry")
    assert got["workflow.tasks.deadlines_sweep"] == "sweeps"
    assert got["duplicates.tasks.cases_recheck_due_task"] == "sweeps"
    assert got["photos.import_run"] == "files"
    assert got["schools.roster_export"] == "files"
    assert got["portal.audit_export"] == "files"
    assert got["transfers.tasks.step_notify"] == "registry"
    assert got["config.beat_heartbeat"] == "registry"
    assert got["queues"] == "files,registry,sweeps"  # the queue-length metric covers all three


def test_without_the_split_everything_runs_on_the_one_worker():
    got = routes(CELERY_SPLIT_QUEUES="", CELERY_QUEUE="registry")
    assert set(v for k, v in got.items() if k != "queues") == {"registry"}
