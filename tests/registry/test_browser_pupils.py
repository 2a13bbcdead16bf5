"""In a real browser: a school operator logs in, searches a pupil and opens the record."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_school_operator_searches_and_opens_pupil(world, browser_login):
    pupil = world.pupils["a1"]
    page = browser_login(world["a1"].operator)
    assert "天河第一小学" in page.text_content("[data-testid=unit]")
    page.click("nav.mainnav >> text=学生学籍")
    page.fill("[data-testid=search]", pupil.name)
    page.press("[data-testid=search]", "Enter")
    page.wait_for_url("**/pupils/?*")
    rows = page.locator("[data-testid=pupil-table] tbody tr")
    assert rows.count() == 1
    page.click(f"text={pupil.name}")
    page.wait_for_url(f"**/pupils/{pupil.national_number}/")
    assert pupil.name in page.text_content("[data-testid=pupil-name]")
    assert pupil.national_number in page.content()


@pytest.mark.django_db(transaction=True)
def test_school_operator_does_not_find_other_school_pupil(world, browser_login):
    other = world.pupils["b1"]
    page = browser_login(world["a1"].operator)
    page.goto(f"/pupils/?q={other.name}")
    assert page.locator("[data-testid=pupil-table] tbody tr").first.text_content().strip().startswith("没有")
    response = page.goto(f"/pupils/{other.national_number}/")
    assert response.status == 404


@pytest.mark.django_db(transaction=True)
def test_language_switcher_offers_english(world, browser_login):
    page = browser_login(world["a1"].operator)
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Home" in page.text_content("nav.mainnav")
