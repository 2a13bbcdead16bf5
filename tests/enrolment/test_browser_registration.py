"""Browser: a no-ID pupil is registered by the school's operator (待审核, J number), the
school's approver approves from the 待办, then the county's approver, and the pupil is 在读."""

from __future__ import annotations

import pytest

from enrolment.models import Registration
from registry.models import Pupil
from tests.enrolment.test_registration import _fill, form_post
from tests.registry.test_nohukou import no_id_record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _logout(page):
    page.click("button:has-text('退出')")


def test_register_then_school_then_county_approve_a_no_id_pupil(world, page, browser_login):
    browser_login(world["a1"].operator)
    page.goto("/pupils/new/")
    _fill(page, form_post(no_id_record(world.school_a1)))
    with page.expect_navigation():
        page.click("button.primary")
    page.wait_for_url("**/pupils/J*/")
    pupil = Pupil.objects.get(name="林小溪")
    assert pupil.status == "pending"
    row = Registration.objects.get(pupil=pupil)
    _logout(page)

    browser_login(world["a1"].approver)
    page.goto("/")
    page.click(f"a[href='/registrations/{row.pk}/'] >> nth=0")
    page.wait_for_selector("[data-testid=state][data-state=school_review]")
    assert pupil.national_number in page.inner_text("[data-testid=number]")
    page.click("[data-testid=action-approve]")
    page.wait_for_selector("[data-testid=state][data-state=county_review]")
    _logout(page)

    browser_login(world["county_a"].approver)
    page.goto("/")
    page.click(f"a[href='/registrations/{row.pk}/'] >> nth=0")
    page.wait_for_selector("[data-testid=state][data-state=county_review]")
    page.click("[data-testid=action-approve]")
    page.wait_for_selector("[data-testid=state][data-state=approved]")
    assert "在读" in page.inner_text("[data-testid=pupil-status]")
    pupil.refresh_from_db()
    assert pupil.status == "enrolled" and pupil.national_number.startswith("J")
