"""休学期满未复学: the daily sweep puts a suspension past its end date on the school's 待办
once, the change that ends it takes it off, and the county sees its schools' list."""

from __future__ import annotations

import datetime as dt
import json

from django.utils import timezone

from changes import suspensions
from changes import tasks as change_tasks
from changes.models import SuspensionOverdue
from config.celery import app
from tests.changes.conftest import approve_both, open_request
from tests.factories import make_pupil
from workflow.models import WorkItem

TODAY = timezone.localdate()


def suspended(world, *, until: dt.date, school=None, name="休学生"):
    return make_pupil(school or world.school_a1, name=name, status="suspended", status_until=until)


def items(pupil=None, **filters):
    rows = WorkItem.objects.filter(kind=suspensions.WORKITEM_KIND, **filters)
    if pupil is not None:
        rows = rows.filter(object_id__in=SuspensionOverdue.objects.filter(pupil=pupil).values("pk"))
    return rows


def test_sweep_opens_one_item_on_the_schools_todo_and_a_rerun_adds_none(world):
    late = suspended(world, until=TODAY - dt.timedelta(days=3), name="过期休学")
    suspended(world, until=TODAY, name="今天到期")  # its last day: not yet past it
    assert suspensions.suspensions_overdue_sweep(today=TODAY) == {"opened": 1, "closed": 0}
    item = items(late).get()
    assert (item.school, item.division, item.state, item.role) == (world.school_a1, None, "open", "operator")
    assert "过期休学" in item.title and (TODAY - dt.timedelta(days=3)).isoformat() in item.title
    assert item.due_on > TODAY  # the step's working-day deadline, like every 待办
    assert suspensions.suspensions_overdue_sweep(today=TODAY) == {"opened": 0, "closed": 0}
    assert items().count() == 1 and SuspensionOverdue.objects.count() == 1


def test_the_item_shows_on_the_schools_home_page_only(world, login):
    suspended(world, until=TODAY - dt.timedelta(days=1), name="过期休学")
    suspensions.suspensions_overdue_sweep(today=TODAY)
    assert "休学期满未复学" in login(world["a1"].operator).get("/").content.decode()
    assert "过期休学" not in login(world["b1"].operator).get("/").content.decode()


def test_a_second_worker_opening_the_same_suspension_opens_nothing(world):
    late = suspended(world, until=TODAY - dt.timedelta(days=3))
    SuspensionOverdue.objects.create(pupil=late, school=late.school, county_code=late.county_code, until=late.status_until)
    late.refresh_from_db()
    assert suspensions._open(late, today=TODAY) is False  # the partial unique constraint refuses it
    assert not items().exists()


def test_no_item_while_a_resume_is_under_way(world):
    late = suspended(world, until=TODAY - dt.timedelta(days=3))
    open_request(world, "resume", {}, pupil=late, today=TODAY)
    assert suspensions.suspensions_overdue_sweep(today=TODAY)["opened"] == 0


def test_resume_closes_the_item(world):
    late = suspended(world, until=TODAY - dt.timedelta(days=3))
    suspensions.suspensions_overdue_sweep(today=TODAY)
    request = open_request(world, "resume", {}, pupil=late, today=TODAY)
    assert items(late, state="open").exists()  # until the county approves
    approve_both(world, request)
    assert items(late).get().state == "done"
    row = SuspensionOverdue.objects.get(pupil=late)
    assert row.closed_at is not None and "在读" in row.closed_note
    assert suspensions.suspensions_overdue_sweep(today=TODAY) == {"opened": 0, "closed": 0}


def test_extension_closes_it_and_the_new_end_date_is_watched_again(world):
    late = suspended(world, until=TODAY - dt.timedelta(days=3))
    suspensions.suspensions_overdue_sweep(today=TODAY)
    new_until = TODAY + dt.timedelta(days=90)
    approve_both(world, open_request(world, "suspend_extend", {"until": new_until.isoformat()}, pupil=late, today=TODAY))
    assert not items(state="open").exists()
    later = new_until + dt.timedelta(days=1)
    assert suspensions.suspensions_overdue_sweep(today=later) == {"opened": 1, "closed": 0}
    assert list(SuspensionOverdue.objects.filter(closed_at__isnull=True).values_list("until", flat=True)) == [new_until]


def test_sweep_closes_the_item_of_a_pupil_who_left_suspension_another_way(world):
    late = suspended(world, until=TODAY - dt.timedelta(days=3))
    suspensions.suspensions_overdue_sweep(today=TODAY)
    late.status = "deleted"
    late.save(update_fields=["status"])
    assert suspensions.suspensions_overdue_sweep(today=TODAY) == {"opened": 0, "closed": 1}
    assert items(late).get().state == "done"


def test_the_daily_task_is_on_the_beat_and_calls_the_sweep(world):
    assert "changes.tasks.suspensions_overdue_sweep" in {e["task"] for e in app.conf.beat_schedule.values()}
    suspended(world, until=TODAY - dt.timedelta(days=1))
    assert change_tasks.suspensions_overdue_sweep.apply().get() == {"opened": 1, "closed": 0}


# --- the county's list (computed: GET writes nothing) ----------------------------------------

def test_county_sees_its_schools_overdue_suspensions_and_no_one_elses(world, login):
    suspended(world, until=TODAY - dt.timedelta(days=5), name="天河过期")
    suspended(world, until=TODAY - dt.timedelta(days=5), school=world.school_b1, name="海珠过期")
    suspended(world, until=TODAY + dt.timedelta(days=5), name="天河未到期")
    response = login(world["county_a"].approver).get("/changes/suspensions-overdue/")
    page = response.content.decode()
    assert response.status_code == 200 and 'data-testid="suspensions-overdue"' in page
    assert "天河过期" in page and "海珠过期" not in page and "天河未到期" not in page
    assert "海珠过期" in login(world["county_b"].approver).get("/changes/suspensions-overdue/").content.decode()
    for user in (world["county_b"].approver, world["other_county"].approver, world["other_province"].admin):
        assert "天河过期" not in login(user).get("/changes/suspensions-overdue/").content.decode()
    assert not SuspensionOverdue.objects.exists() and not items().exists()  # reading wrote nothing


def test_the_list_names_a_change_under_way(world, login):
    late = suspended(world, until=TODAY - dt.timedelta(days=5), name="天河过期")
    open_request(world, "resume", {}, pupil=late, today=TODAY)
    page = login(world["county_a"].approver).get("/changes/suspensions-overdue/").content.decode()
    assert "天河过期" in page and "复学" in page


def test_the_list_by_api_is_scoped(world, client, api_token):
    late = suspended(world, until=TODAY - dt.timedelta(days=5), name="天河过期")
    rows = client.get("/api/v1/changes/suspensions-overdue", **api_token(world["county_a"].approver)).json()
    assert [(r["pupil"], r["until"], r["days_overdue"], r["pending_kind"]) for r in rows] == [
        (late.national_number, late.status_until.isoformat(), 5, None)
    ]
    other = client.get("/api/v1/changes/suspensions-overdue", **api_token(world["county_b"].approver))
    assert json.loads(other.content) == []
