"""Graduates nobody received (控辍保学): the county's list from 09-30, its export and its 待办."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
from django.utils import timezone

from enrolment import unreceived
from tests.enrolment.test_progression import approve_all, receive
from workflow.models import WorkItem


def _day_after_list_date() -> dt.date:
    return dt.date(timezone.localdate().year, 10, 1)


def test_the_county_sees_its_primary_graduates_nobody_received(world, graduates, login):
    year = timezone.localdate().year
    approve_all(world, receive(world, graduates[0]))
    listed = set(unreceived.unreceived_for(world["county_a"].approver, year=year))
    assert listed == set(graduates[1:])
    assert not unreceived.unreceived_for(world["county_b"].approver, year=year).exists()
    page = login(world["county_a"].approver).get(f"/progressions/unreceived/?year={year}").content.decode()
    assert graduates[1].national_number in page and graduates[0].national_number not in page
    response = login(world["county_a"].approver).get(f"/progressions/unreceived.xlsx?year={year}")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert {row[0].value for row in sheet.iter_rows(min_row=2)} == {p.national_number for p in graduates[1:]}


def test_the_daily_task_puts_the_list_on_the_county_s_queue_once(world, graduates):
    assert unreceived.unreceived_workitems_open(today=dt.date(timezone.localdate().year, 9, 29)) == 0
    assert unreceived.unreceived_workitems_open(today=_day_after_list_date()) == 1
    assert unreceived.unreceived_workitems_open(today=_day_after_list_date()) == 0  # idempotent
    item = WorkItem.objects.get(kind="unreceived_graduates", state="open")
    assert item.division_id == "440106" and "3名" in item.title
    for pupil in graduates:
        approve_all(world, receive(world, pupil))
    unreceived.unreceived_workitems_open(today=_day_after_list_date())
    item.refresh_from_db()
    assert item.state == "done"  # everybody was received


def test_the_api_lists_them_for_the_scope_only(world, graduates, client, api_token):
    year = timezone.localdate().year
    body = client.get(f"/api/v1/graduates/unreceived?year={year}", **api_token(world["county_a"].approver)).json()
    assert {p["national_number"] for p in body} == {p.national_number for p in graduates}
    assert client.get(f"/api/v1/graduates/unreceived?year={year}", **api_token(world["county_b"].approver)).json() == []
    bad = client.get("/api/v1/graduates/unreceived?year=99999", **api_token(world["county_a"].approver))
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_year"
