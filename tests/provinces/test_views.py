"""Pages: sweep start and progress JSON, the county's case list and detail, resolving in the
browser, the policy form, and the ``sweep_duplicates`` command."""

from __future__ import annotations

import json

from django.core.management import call_command

from provinces import services
from provinces.models import CalendarOverride, DuplicateSweep, ProvincePolicy
from tests.provinces.helpers import open_cases, pinyin_pair


def test_province_admin_starts_a_sweep_and_polls_progress(world, login, settings, monkeypatch):
    monkeypatch.setattr(services, "_dispatch", lambda *a, **k: None)
    client = login(world["province"].admin)
    response = client.post("/province/sweeps/start/", {"partitions": "2"})
    assert response.status_code == 302
    sweep = DuplicateSweep.objects.get()
    progress = client.get(f"/province/sweeps/{sweep.pk}/progress/").json()
    assert progress["partitions_total"] == 2 and progress["status"] == "running"
    page = client.get("/province/sweeps/")
    assert "sweep-progress" in page.content.decode()
    other = login(world["county_a"].approver)
    assert other.get(f"/province/sweeps/{sweep.pk}/progress/").status_code == 404


def test_county_case_list_and_detail(world, login):
    a, b = pinyin_pair(world)
    services.sweep_run_inline(user=world["province"].admin, province_code="44", partitions=1)
    case = open_cases().get()
    client = login(world["county_a"].operator)
    body = client.get("/province/cases/").content.decode()
    assert a.name in body and b.name in body
    assert "同音" in client.get(f"/province/cases/{case.pk}/").content.decode()
    outsider = login(world["other_county"].operator)
    assert outsider.get(f"/province/cases/{case.pk}/").status_code == 404
    assert b.name not in outsider.get("/province/cases/").content.decode()


def test_policy_form_saves_policy_and_calendar_override(world, login):
    client = login(world["province"].admin)
    assert client.get("/province/policy/").status_code == 200
    data = {f: getattr(ProvincePolicy(province_id="44"), f) for f in ("freeze_start", "freeze_end", "promotion_date",
                                                                      "graduation_deadline")}
    data.update(step_working_days=12, reminder_working_days=2, photo_max_bytes=61440, photo_min_width=154,
                photo_min_height=189, photo_aspect_tolerance=0.05, save_policy="1", freeze_enabled="on")
    assert client.post("/province/policy/", data).status_code == 302
    assert ProvincePolicy.objects.get(province_id="44").step_working_days == 12
    client.post("/province/policy/", {"day-day": "2031-10-08", "day-is_working_day": "on", "day-note": "调休",
                                      "save_day": "1"})
    assert CalendarOverride.objects.get(province_id="44").is_working_day
    assert login(world["county_a"].approver).get("/province/policy/").status_code == 403


def test_command_inline_writes_every_open_case(world, tmp_path):
    a, b = pinyin_pair(world)
    out = tmp_path / "cases.json"
    call_command("sweep_duplicates", "--province", "44", "--inline", "--partitions", "2", "--json", str(out))
    data = json.loads(out.read_text())
    [case] = data["open_cases"]
    assert {m["national_number"] for m in case["members"]} == {a.national_number, b.national_number}
    assert {"id_number", "name", "birth_date", "school_code"} <= set(case["members"][0])
    assert case["score"] >= 0.6 and case["reasons"]


def test_browser_county_resolves_a_case_by_deleting_the_wrong_record(world, browser_login, live_server):
    a, b = pinyin_pair(world)
    services.sweep_run_inline(user=world["province"].admin, province_code="44", partitions=1)
    case = open_cases().get()
    page = browser_login(world["county_b"].operator)
    page.goto(f"{live_server.url}/province/cases/")
    page.click(f"text=#{case.pk}")
    form = page.locator("[data-testid=resolve-delete]")
    form.locator("select[name=pupil]").select_option(b.national_number)
    form.locator("input[name=note]").fill("重复建籍")
    form.locator("button").click()
    page.wait_for_selector("[data-testid=case-status]:has-text('删除')")
    b.refresh_from_db()
    assert b.status == "deleted"
