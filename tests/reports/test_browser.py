"""Browser: the 统计 page draws its charts (ECharts from the project's static files, under
the strict CSP) beside the tables, and a drill-down link opens the school's page."""

from __future__ import annotations

import os

import pytest

from tests.factories import make_pupil

pytestmark = pytest.mark.browser


def test_statistics_page_renders_charts_and_drills_down(world, page, browser_login):
    for n in range(3):
        make_pupil(world.school_a1, name=f"学生{n}", grade=1 + n, migrant="1" if n else "0")
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    browser_login(world["county_a"].operator)
    page.goto("/statistics/")
    page.wait_for_selector('[data-chart="grade"][data-rendered="true"]')
    assert page.locator('[data-chart="grade"] canvas').count() >= 1
    assert page.locator('[data-chart="status"][data-rendered="true"]').count() == 1
    assert page.locator('[data-testid="table-grade"] td').first.inner_text() == "1年级"
    if os.environ.get("STATISTICS_SCREENSHOT"):
        page.screenshot(path=os.environ["STATISTICS_SCREENSHOT"], full_page=True)
    page.click(f'tr[data-unit="s:{world.school_a1.code}"] a')
    page.wait_for_url("**/statistics/?unit=s%3A*")
    page.wait_for_selector('[data-chart="children"][data-rendered="true"]')
    assert "3年级1班" in page.locator('[data-testid="table-children"]').inner_text()
    assert not [e for e in errors if "Content Security Policy" in e or "echarts" in e.lower()], errors


def test_school_issues_a_certificate_and_anyone_verifies_it(world, page, browser_login, browser, live_server):
    pupil = world.pupils["a1"]
    browser_login(world["a1"].operator)
    page.goto(f"/pupils/{pupil.national_number}/")
    page.click('[data-testid="issue-enrolment"]')
    page.wait_for_url("**/documents/ZDZM*/")
    assert "在读证明" in page.locator('[data-testid="document"]').inner_text()
    assert page.locator('[data-testid="document-qr"] svg').count() == 1
    url = page.locator('[data-testid="verify-url"]').inner_text()
    stranger = browser.new_context(locale="zh-CN").new_page()  # not logged in
    try:
        stranger.goto(url)
        assert stranger.locator('[data-testid="verify-name"]').inner_text() == "李*"
        assert "天河第一小学" in stranger.locator('[data-testid="verify"]').inner_text()
        assert "李娜" not in stranger.content()
    finally:
        stranger.context.close()
