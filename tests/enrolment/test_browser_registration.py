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


def test_admission_list_preview_then_apply(world, graduates, page, browser_login, settings, tmp_path):
    import datetime as dt

    from enrolment.models import Progression
    from tests.enrolment.test_admission import row_of
    from tests.rosters.test_support import roster_row, xlsx_bytes

    settings.MEDIA_ROOT = str(tmp_path)
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the apply job runs in the server, where this MEDIA_ROOT is
    rows = [roster_row(world.school_a2, name="浏览新生", seq=61, grade="7", birth=dt.date(2014, 6, 4)),
            row_of(graduates[0], world.school_a2, grade="7"),
            row_of(world.pupils["b1"], world.school_a2, grade="7")]
    browser_login(world["a2"].operator)
    page.goto("/schools/admissions/")
    page.set_input_files("[data-testid=admission-file]", files=[{
        "name": "招生名单.xlsx", "buffer": xlsx_bytes(rows),
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    with page.expect_navigation():
        page.click("[data-testid=upload]")
    page.wait_for_selector("[data-testid=state][data-state=previewed]")
    assert page.locator("[data-testid=admission-row][data-kind=transfer]").count() == 1
    assert page.locator("[data-testid=admission-row][data-kind=transfer] input[type=checkbox]").count() == 0
    with page.expect_navigation():
        page.click("[data-testid=apply]")
    page.wait_for_selector("[data-testid=state][data-state=applied]")
    assert Pupil.objects.get(name="浏览新生").status == "pending"
    assert Progression.objects.get().entries.get().pupil_id == graduates[0].pk


def test_register_with_a_third_member_opened_from_its_fold(world, page, browser_login):
    """Members 3 and 4 are folded (no script: a <details>); opened, the third is filled."""
    from tests.enrolment.test_registration import id_record

    browser_login(world["a1"].operator)
    page.goto("/pupils/new/")
    assert not page.is_visible("[name=g3_name]")
    _fill(page, form_post(id_record(world.school_a1)))
    page.click("[data-testid=member-3] summary")
    page.fill("[name=g3_name]", "黄老伯")
    page.select_option("[name=g3_relation]", "61")
    page.select_option("[name=g3_vital]", "deceased")
    with page.expect_navigation():
        page.click("button.primary")
    page.wait_for_url("**/pupils/L*/")
    pupil = Pupil.objects.get(name="黄小梅")
    # member 2 left empty: the filled members are numbered in order
    assert [(g.order, g.name, g.vital) for g in pupil.guardians.order_by("order")] == [
        (1, "黄大强", "alive"), (2, "黄老伯", "deceased")]
