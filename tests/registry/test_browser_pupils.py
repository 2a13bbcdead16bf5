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


@pytest.mark.django_db(transaction=True)
def test_a_filter_updates_the_table_in_place_without_csp_errors(world, browser_login):
    """htmx: changing a filter swaps the results, pushes the address, reloads nothing, and the
    content security policy refuses nothing (no inline style or script)."""
    from tests.factories import make_pupil

    make_pupil(world.school_a1, name="已毕业生", status="graduated")
    page = browser_login(world["a1"].operator)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto("/pupils/")
    page.wait_for_function("() => window.htmx !== undefined")
    page.evaluate("() => { window.notReloaded = true; }")
    assert "已毕业生" not in page.text_content("[data-testid=pupil-table]")
    with page.expect_response(lambda r: "/pupils/" in r.url and r.request.headers.get("hx-request") == "true") as answer:
        page.check("[data-testid=closed]")
    assert answer.value.status == 200
    page.wait_for_function("() => document.querySelector('[data-testid=pupil-table]').textContent.includes('已毕业生')")
    assert "closed=1" in page.url  # the address follows the filter
    assert page.evaluate("() => window.notReloaded") is True  # the same page: swapped, not reloaded
    with page.expect_response(lambda r: "sort=name" in r.url):
        page.click("[data-testid=pupil-table] a[data-sort=name]")
    page.wait_for_function("() => location.search.includes('sort=name')")
    assert page.evaluate("() => window.notReloaded") is True
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    assert not problems, problems
