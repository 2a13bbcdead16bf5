"""Browser: a county makes a school account; its holder logs in with the one-time password,
is sent to change it, and the policy refuses a short one first."""

from __future__ import annotations

import pytest

from tests.conftest import ensure_reference_data

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_new_account_logs_in_and_must_change_its_password(transactional_db, world, page, browser_login):
    ensure_reference_data()
    browser_login(world["county_a"].operator)
    page.goto("/accounts/")
    page.click('[data-testid="new-account"]')
    page.fill("input[name=unit_code]", "4401060002")
    page.fill("input[name=username]", "4401060002.viewer")
    page.select_option("select[name=role]", "viewer")
    page.click("button.primary")
    password = page.locator('[data-testid="temporary-password"] .mono').inner_text().strip()
    assert page.locator('[data-testid="role"]').inner_text() == "查询用户"
    page.click("button.link")  # 退出
    page.goto("/login/")
    page.fill("input[name=username]", "4401060002.viewer")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/account/password/**")
    assert page.locator('[data-testid="must-change"]').is_visible()
    page.fill("input[name=old_password]", password)
    page.fill("input[name=new_password1]", "short1")
    page.fill("input[name=new_password2]", "short1")
    page.click("button.primary")
    assert "密码太短" in page.content() or "too short" in page.content()
    page.fill("input[name=old_password]", password)
    page.fill("input[name=new_password1]", "Tianhe-Viewer-5521")
    page.fill("input[name=new_password2]", "Tianhe-Viewer-5521")
    page.click("button.primary")
    page.wait_for_url("**/")
    page.goto("/pupils/")
    assert page.url.endswith("/pupils/")
