"""Every main page fits a phone (390 px) and a desktop (1366 px) without a horizontal page
scroll, and the English UI's menu and headings are English."""

from __future__ import annotations

import re

import pytest

from tests.factories import make_pupil
from tests.transfers.chain import open_season  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

WIDTHS = (390, 1366)
CJK = re.compile(r"[\u4e00-\u9fff]")

OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > width + 1
      && !el.closest('table.list, .scroll'))
    .slice(0, 3).map(el => el.tagName + '.' + el.className);
  return {scroll: document.documentElement.scrollWidth, width, wide};
}"""

# The heading's text without the data in it (names of pupils, schools, divisions), which the
# templates mark translate="no" and which stays as registered.
UI_TEXT = """h => {
  const copy = h.cloneNode(true);
  copy.querySelectorAll('[translate=no]').forEach(el => el.remove());
  return copy.textContent;
}"""


def _pages(world, user):
    """The menu's pages as the user sees them, and a pupil page."""
    from django.test import RequestFactory

    from portal.nav import navigation

    request = RequestFactory().get("/")
    request.user = user
    urls = [item["url"] for item in navigation(request)["nav"]]
    return urls + [f"/pupils/{world.pupil_number}/", "/no-such-page/"]


def _fits(page, url, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(url)
    found = page.evaluate(OVERFLOW)
    assert found["scroll"] <= found["width"], f"{url} at {width}px is {found['scroll']}px wide: {found['wide']}"


@pytest.fixture
def layout_world(world):
    world.pupil_number = make_pupil(world.school_a1, name="布局测试").national_number
    return world


@pytest.mark.parametrize("unit", ["a1", "county_a", "province"])
def test_every_main_page_fits_a_phone_and_a_desktop(layout_world, page, browser_login, unit):
    user = layout_world[unit].admin if unit == "province" else layout_world[unit].operator
    browser_login(user)
    for url in _pages(layout_world, user):
        for width in WIDTHS:
            _fits(page, url, width)


def test_the_phone_menu_opens_and_closes(layout_world, page, browser_login):
    page.set_viewport_size({"width": 390, "height": 800})
    browser_login(layout_world["a1"].operator)
    assert not page.is_visible("nav.mainnav")
    page.click("[data-menu-toggle]")
    assert page.is_visible("nav.mainnav >> text=学生学籍")
    page.click("[data-menu-toggle]")
    assert not page.is_visible("nav.mainnav")


def test_unknown_page_is_a_styled_chinese_404_with_a_way_back(layout_world, page, browser_login):
    browser_login(layout_world["a1"].operator)
    response = page.goto("/no-such-page/")
    assert response.status == 404
    assert page.inner_text("[data-testid=error-page] h1") == "页面不存在"
    page.click("text=回到首页")
    page.wait_for_url("**/")


def test_one_menu_entry_is_highlighted(layout_world, page, browser_login):
    browser_login(layout_world["a1"].operator)
    page.goto("/changes/graduations/")
    assert page.locator("nav.mainnav a.active").all_inner_texts() == ["毕业"]


def test_an_approver_is_not_offered_the_registration_form(layout_world, page, browser_login):
    browser_login(layout_world["a1"].approver)
    assert "新生注册" not in page.inner_text("nav.mainnav")


@pytest.mark.parametrize("unit", ["a1", "county_a", "province"])
def test_english_menu_and_headings_are_english(layout_world, page, browser_login, unit):
    user = layout_world[unit].operator
    browser_login(user)
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    for url in _pages(layout_world, user):
        page.goto(url)
        for text in [page.inner_text("nav.mainnav"), page.eval_on_selector("main h1", UI_TEXT)]:
            assert not CJK.search(text), f"{url}: untranslated {text!r}"




SEPARATOR = "el => getComputedStyle(el, '::after').content"


@pytest.mark.usefixtures("open_season")
def test_the_correction_form_fits_and_labels_take_the_separator_of_the_language(layout_world, page, browser_login):
    from tests.transfers.chain import apply, submit
    from transfers import services

    transfer = apply(layout_world)
    submit(layout_world, transfer)
    services.transfer_send_back(user=layout_world["county_b"].approver, transfer_id=transfer.pk, reason="请核对")
    browser_login(layout_world["b1"].operator)
    for url in (f"/transfers/{transfer.pk}/correct/", f"/transfers/{transfer.pk}/", "/"):
        for width in WIDTHS:
            _fits(page, url, width)
    page.goto(f"/transfers/{transfer.pk}/")
    assert page.eval_on_selector("[data-testid=timeline] .lbl", SEPARATOR) == '"："'
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    page.goto(f"/transfers/{transfer.pk}/")
    assert page.eval_on_selector("[data-testid=timeline] .lbl", SEPARATOR) == '": "'
