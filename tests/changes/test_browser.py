"""Browser: a 休学 request through its three steps (operator, school approver, county approver)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from registry.models import PupilStatus

pytestmark = pytest.mark.browser


def test_suspension_through_three_steps(world, page, browser_login):
    pupil = world.pupils["a1"]
    today = timezone.localdate()
    if today.month in range(7, 9):  # keep clear of the graduating-semester rule's months
        today = dt.date(today.year, 9, 1)

    browser_login(world["a1"].operator)
    page.goto(f"/changes/new/?pupil={pupil.national_number}")
    page.click("text=休学")
    page.fill("input[name=start]", today.isoformat())
    page.fill("input[name=until]", (today + dt.timedelta(days=180)).isoformat())
    page.fill("textarea[name=reason]", "因病休学")
    page.click("[data-testid=submit-change]")
    page.wait_for_selector("[data-testid=state][data-state=school_review]")
    url = page.url
    page.click("button:has-text('退出')")

    browser_login(world["a1"].approver)
    page.click("text=学籍异动（休学）")
    page.wait_for_selector("[data-testid=approve]")
    assert page.url == url
    page.click("[data-testid=approve]")
    page.wait_for_selector("[data-testid=state][data-state=county_review]")
    page.click("button:has-text('退出')")

    browser_login(world["county_a"].approver)
    page.goto(url)
    page.fill("input[name=note]", "同意")
    page.click("[data-testid=approve]")
    page.wait_for_selector("[data-testid=state][data-state=approved]")
    timeline = page.inner_text("[data-testid=timeline]")
    assert "已通过" in timeline and "同意" in timeline
    pupil.refresh_from_db()
    assert pupil.status == PupilStatus.SUSPENDED


def test_promotion_previews_then_asks_before_it_starts(world, page, browser_login):
    from changes.models import PromotionRun

    browser_login(world["province"].admin)
    page.goto("/changes/promotion/")
    page.fill("input[name=school_year]", "2026")
    page.click("[data-testid=preview-promotion]")
    preview = page.wait_for_selector("[data-testid=promotion-preview]")
    assert "三年级 → 四年级" in preview.inner_text()
    assert not PromotionRun.objects.exists()  # the preview writes nothing
    # Dismissed, the confirmation starts nothing; accepted, the run starts.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("[data-testid=start-promotion]")
    page.wait_for_timeout(300)
    assert not PromotionRun.objects.exists()
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.click("[data-testid=start-promotion]")
    page.wait_for_selector("[data-testid=promotion-progress]")
    assert PromotionRun.objects.filter(school_year=2026).exists() and "2026" in questions[0]


def test_correct_a_request_sent_back_in_the_browser(world, page, browser_login):
    from changes import requests
    from tests.changes.conftest import open_request

    today = timezone.localdate()
    if today.month in range(7, 9):
        today = dt.date(today.year, 9, 1)
    until = today + dt.timedelta(days=180)
    request = open_request(world, "suspend", {"start": today.isoformat(), "until": until.isoformat()},
                           reason="因病休学")
    requests.change_request_send_back(user=world["a1"].approver, request_id=request.pk, reason="截止日期有误")
    browser_login(world["a1"].operator)
    assert "截止日期有误" in page.inner_text("[data-testid=returned]")
    page.locator("[data-testid=returned]").get_by_role("link", name="修改", exact=True).click()
    page.click("[data-testid=correct]")
    assert "截止日期有误" in page.inner_text("[data-testid=sent-back]")
    assert page.input_value("input[name=until]") == until.isoformat()
    shorter = today + dt.timedelta(days=90)
    page.fill("input[name=until]", shorter.isoformat())
    page.fill("input[name=note]", "改截止日期")
    page.click("[data-testid=save-correct]")
    page.wait_for_selector("[data-testid=state][data-state=school_review]")
    assert f"{until.isoformat()} → {shorter.isoformat()}" in page.inner_text("main")
