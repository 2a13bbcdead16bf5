"""Through a real Celery worker: reminders/overdue of change requests, and promotion."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from changes import promotions, requests
from changes.models import PromotionRun
from tests.changes.conftest import open_request
from tests.conftest import ensure_reference_data
from tests.factories import make_pupil
from workflow import tasks as workflow_tasks
from workflow.models import WorkItem

pytestmark = [pytest.mark.celery, pytest.mark.slow]


@pytest.fixture
def world_committed(transactional_db, world):
    ensure_reference_data()
    return world


def test_reminders_and_overdue_through_the_shared_daily_sweep(world_committed, celery_worker_process, login):
    world = world_committed
    today = timezone.localdate()
    due_soon = open_request(world, "suspend", {"start": today.isoformat(), "until": (today + dt.timedelta(days=200)).isoformat()})
    late = requests.change_request_open(
        user=world["b1"].operator, pupil=world.pupils["b1"], kind="abroad",
        payload={"date": today.isoformat(), "destination": "新加坡"},
    )
    WorkItem.objects.filter(object_id=due_soon.pk, kind="status_change").update(due_on=today)
    WorkItem.objects.filter(object_id=late.pk, kind="status_change").update(
        opened_on=today - dt.timedelta(days=40), due_on=today - dt.timedelta(days=20)
    )

    result = workflow_tasks.deadlines_sweep.delay().get(timeout=60)
    assert result == {"reminded": 1, "overdue": 1}
    assert WorkItem.objects.get(object_id=due_soon.pk, kind="status_change").reminded_at is not None
    assert WorkItem.objects.get(object_id=late.pk, kind="status_change").overdue_at is not None
    # the overdue school step is on the report of the county above it, not of the other county
    assert "海珠第一小学" in login(world["county_b"].approver).get("/overdue/").content.decode()
    assert "海珠第一小学" not in login(world["county_a"].approver).get("/overdue/").content.decode()
    # a second sweep reminds nobody twice
    assert workflow_tasks.deadlines_sweep.delay().get(timeout=60) == {"reminded": 0, "overdue": 0}


def test_promotion_runs_on_the_worker_once_per_school(world_committed, celery_worker_process):
    world = world_committed
    sixth = make_pupil(world.school_b2, name="九年制六年级", grade=6)
    run = promotions.promotion_start(user=world["province"].admin, school_year=2026)
    deadline = time.time() + 60
    while time.time() < deadline:
        run.refresh_from_db()
        if run.status == PromotionRun.Status.DONE:
            break
        time.sleep(0.5)
    assert run.status == PromotionRun.Status.DONE
    assert run.schools.filter(status="done").count() == 4
    sixth.refresh_from_db()
    world.pupils["a1"].refresh_from_db()
    assert (sixth.grade, world.pupils["a1"].grade) == (7, 4)
    promotions.promotion_start(user=world["province"].admin, school_year=2026)  # again: nothing queued
    time.sleep(1)
    world.pupils["a1"].refresh_from_db()
    assert world.pupils["a1"].grade == 4
