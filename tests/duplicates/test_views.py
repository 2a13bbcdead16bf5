"""Pages: sweep start and progress JSON, the county's case list and detail, resolving in the
browser, and the ``sweep_duplicates`` command."""

from __future__ import annotations

import json

from django.core.management import call_command

from duplicates import sweeps
from duplicates.models import DuplicateSweep
from tests.duplicates.helpers import open_cases, pinyin_pair


def test_province_admin_starts_a_sweep_and_polls_progress(world, login, settings, monkeypatch):
    monkeypatch.setattr(sweeps, "_dispatch", lambda *a, **k: None)
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
    sweeps.sweep_run_inline(user=world["province"].admin, province_code="44", partitions=1)
    case = open_cases().get()
    client = login(world["county_a"].operator)
    body = client.get("/province/cases/").content.decode()
    assert a.name in body and b.name in body
    assert "同音" in client.get(f"/province/cases/{case.pk}/").content.decode()
    outsider = login(world["other_county"].operator)
    assert outsider.get(f"/province/cases/{case.pk}/").status_code == 404
    assert b.name not in outsider.get("/province/cases/").content.decode()


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
    sweeps.sweep_run_inline(user=world["province"].admin, province_code="44", partitions=1)
    case = open_cases().get()
    page = browser_login(world["county_b"].operator)
    page.on("dialog", lambda dialog: dialog.accept())  # 删除 asks before it is proposed
    page.goto(f"{live_server.url}/province/cases/")
    page.click(f"text=#{case.pk}")
    form = page.locator("[data-testid=resolve-delete]")
    form.locator("select[name=pupil]").select_option(b.national_number)
    form.locator("input[name=note]").fill("重复建籍")
    form.locator("button").click()
    page.wait_for_selector("[data-testid=deletion-county_review]")
    b.refresh_from_db()
    assert b.status != "deleted"  # proposed: another person of the county approves
    page = browser_login(world["county_b"].approver)
    messages = []
    page.on("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
    page.goto(f"{live_server.url}/province/cases/{case.pk}/")
    assert b.national_number in page.locator("[data-testid=deletion-warning]").inner_text()
    page.locator("[data-testid=deletion-approve] button").click()
    page.wait_for_selector("[data-testid=case-status]:has-text('删除')")
    b.refresh_from_db()
    assert b.status == "deleted" and b.national_number in messages[0]


def test_the_deletion_is_marked_dangerous_and_asks_before_it_is_proposed_and_approved(world, login):
    from changes.resolution import case_resolve

    a, b = pinyin_pair(world)
    sweeps.sweep_run_inline(user=world["province"].admin, province_code="44", partitions=1)
    case = open_cases().get()
    page = login(world["county_b"].operator).get(f"/province/cases/{case.pk}/").content.decode()
    form = page[page.index('data-testid="resolve-delete"'):]
    assert "data-confirm=" in form[:400] and '<button class="danger">' in form
    case_resolve(user=world["county_b"].operator, case_id=case.pk, resolution="delete", pupil=b.national_number,
                 note="重复建籍")
    page = login(world["county_b"].approver).get(f"/province/cases/{case.pk}/").content.decode()
    warning = page[page.index('data-testid="deletion-warning"'):]
    assert b.national_number in warning[:300]
    approve = page[page.index('data-testid="deletion-approve"'):]
    assert "data-confirm=" in approve[:300] and b.national_number in approve[:300]


def test_the_case_list_filters_by_status_and_county_and_names_the_counties(world, login):
    pinyin_pair(world)
    sweeps.sweep_run_inline(user=world["province"].admin, province_code="44", partitions=1)
    case = open_cases().get()
    counties = {m.county_code for m in case.memberships.all()}
    client = login(world["province"].admin)
    body = client.get("/province/cases/").content.decode()
    assert 'data-testid="case-county"' in body and ("天河区" in body or "海珠区" in body)
    assert '<select name="county">' in body  # the province sees several counties
    assert f"#{case.pk}" in client.get(f"/province/cases/?county={sorted(counties)[0]}").content.decode()
    from duplicates import selectors
    assert selectors.case_list_for(world["province"].admin, county="440104") == []  # no member there
    assert [c.pk for c in selectors.case_list_for(world["province"].admin, county="440105")] == [case.pk]
    assert f"#{case.pk}</a>" not in client.get("/province/cases/?status=resolved").content.decode()
    assert f"#{case.pk}</a>" in client.get("/province/cases/?status=all").content.decode()
    assert "共 1 件" in client.get("/province/cases/?status=all").content.decode()


def test_the_case_pager_keeps_the_filters(world, login, monkeypatch):
    from duplicates import selectors, views

    monkeypatch.setattr(views, "CASE_PAGE_SIZE", 1)
    pinyin_pair(world)
    sweeps.sweep_run_inline(user=world["province"].admin, province_code="44", partitions=1)
    case = open_cases().get()
    monkeypatch.setattr(selectors, "case_list_for", lambda user, **kw: [case, case, case])
    body = login(world["province"].admin).get("/province/cases/?status=all&page=2").content.decode()
    assert 'data-testid="case-pager"' in body and "第 2 / 3 页" in body
    assert "?status=all&amp;page=3" in body and "?status=all&amp;page=1" in body


def test_the_sweep_page_defaults_its_partitions_under_advanced(world, login):
    body = login(world["province"].admin).get("/province/sweeps/").content.decode()
    advanced = body[body.index('data-testid="sweep-advanced"'):]
    assert 'name="partitions" value="8"' in advanced[:600]
    assert body.index('data-testid="start-sweep"') < body.index('data-testid="sweep-advanced"')


def test_an_htmx_request_gets_only_the_case_results(world, login):
    pinyin_pair(world)
    sweeps.sweep_run_inline(user=world["province"].admin, province_code="44", partitions=1)
    case = open_cases().get()
    client = login(world["province"].admin)
    body = client.get("/province/cases/?status=all", HTTP_HX_REQUEST="true").content.decode()
    assert body.lstrip().startswith('<div id="case-results"') and "<html" not in body
    assert 'data-testid="case-filters"' not in body and f"#{case.pk}</a>" in body and "共 1 件" in body
    assert f"#{case.pk}</a>" not in client.get("/province/cases/?status=resolved", HTTP_HX_REQUEST="true").content.decode()
    other = login(world["other_province"].admin).get("/province/cases/?status=all", HTTP_HX_REQUEST="true")
    assert f"#{case.pk}</a>" not in other.content.decode()  # scoped as the page is
    full = client.get("/province/cases/").content.decode()
    assert "<html" in full and 'hx-target="#case-results"' in full and 'id="case-results"' in full
