"""审计查询: an auditor searches the audit trail of its scope (changes to pupils, lookups of
pupils, roster exports, logins and account changes) with filters and an xlsx export."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from accounts.events import account_event_record
from accounts.models import AccountEvent
from registry.models import HistoryEntry
from tests.factories import make_user
from transfers.models import TransferLookup


@pytest.fixture
def auditor(world):
    return make_user("440106.auditor", role="auditor", division=world.county_a)


@pytest.fixture
def trail(world):
    a1, b1 = world.pupils["a1"], world.pupils["b1"]
    HistoryEntry.objects.create(pupil=a1, kind="info_change", summary="修改家庭住址", actor_name="4401060001.operator",
                                unit_code="4401060001", school=world.school_a1)
    HistoryEntry.objects.create(pupil=b1, kind="info_change", summary="海珠的变动", actor_name="4401050001.operator",
                                unit_code="4401050001", school=world.school_b1)
    # b1 (another county) looks up a pupil of a1: a view of a pupil of county A's scope.
    TransferLookup.objects.create(school=world.school_b1, county_code="440105", origin_school=world.school_a1,
                                  name="李娜", found=1, actor_name="4401050001.operator")
    TransferLookup.objects.create(school=world.school_b2, county_code="440105", origin_school=world.school_b1,
                                  name="王伟", found=1, actor_name="4401050002.operator")
    account_event_record(AccountEvent.Action.LOGIN, user=world["a1"].operator, actor=world["a1"].operator)
    account_event_record(AccountEvent.Action.LOGIN, user=world["b1"].operator, actor=world["b1"].operator)
    account_event_record(AccountEvent.Action.DISABLED, user=world["a2"].operator, actor=world["county_a"].operator)


def _rows(response):
    return response.context["page"].object_list


def test_the_auditor_sees_the_trail_of_its_scope_only(client, login, auditor, trail, world):
    login(auditor)
    response = client.get("/audit/")
    assert response.status_code == 200
    rows = _rows(response)
    text = " ".join(f"{r.subject} {r.detail} {r.actor}" for r in rows)
    assert "修改家庭住址" in text and "海珠的变动" not in text
    assert "李娜" in text and "王伟" not in text  # who viewed a pupil of the scope
    subjects = {r.subject for r in rows if r.kind == "account"}
    assert world["a1"].operator.username in subjects and world["a2"].operator.username in subjects
    assert world["b1"].operator.username not in subjects
    assert world.pupils["a1"].national_number in text  # the field-level record of the registration
    assert world.pupils["b1"].national_number not in text


def test_filters_narrow_the_trail(client, login, auditor, trail, world):
    login(auditor)
    rows = _rows(client.get("/audit/", {"kind": "account", "action": "disabled"}))
    assert [(r.subject, r.actor) for r in rows] == [(world["a2"].operator.username, world["county_a"].operator.username)]
    rows = _rows(client.get("/audit/", {"actor": "4401050001.operator"}))
    assert {r.kind for r in rows} == {"lookup"}
    rows = _rows(client.get("/audit/", {"subject": world.pupils["a1"].national_number, "kind": "change"}))
    assert [r.detail for r in rows] == ["修改家庭住址"]
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    assert list(_rows(client.get("/audit/", {"date_from": tomorrow}))) == []


def test_the_export_is_an_xlsx_of_the_same_rows(client, login, auditor, trail, settings, tmp_path):
    settings.CELERY_TASK_ALWAYS_EAGER, settings.MEDIA_ROOT = True, str(tmp_path)
    login(auditor)
    job = client.post("/audit/exports/", {"kind": "account"})
    response = client.get(job.url + "download/")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    lines = list(sheet.iter_rows(values_only=True))
    assert lines[0][:3] == ("时间", "类别", "操作")
    assert len(lines) - 1 == AccountEvent.objects.filter(division_code="440106").count()


def test_a_higher_auditor_sees_the_counties_below(client, login, trail, world):
    city_auditor = make_user("4401.auditor", role="auditor", division=world.city)
    login(city_auditor)
    text = " ".join(r.detail for r in _rows(client.get("/audit/", {"kind": "change"})))
    assert "修改家庭住址" in text and "海珠的变动" in text


@pytest.mark.parametrize("who", ["operator", "approver", "viewer"])
def test_only_auditors_search_the_trail(client, login, world, who):
    if who == "viewer":
        user = make_user("440106.viewer", role="viewer", division=world.county_a)
    else:
        user = getattr(world["county_a"], who)
    login(user)
    response = client.get("/audit/")
    assert response.status_code == 403 and response.context["error"].code == "auditor_only"
    assert client.get("/audit/", {"export": "xlsx"}).status_code == 403
