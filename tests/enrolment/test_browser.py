"""Browser: 升学 end to end — the graduation list, the county's allocation list, the school
accepts, its approver and the county approve, and the pupil is at the junior school with
the same national number."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from changes import graduations
from enrolment.models import Progression
from registry.models import Pupil
from tests.changes.conftest import GRADUATION_DAY, GRADUATION_YEAR
from tests.factories import make_pupil

pytestmark = pytest.mark.browser


def _logout(page):
    page.click("button:has-text('退出')")


def test_progression_from_graduation_to_the_new_school(world, page, browser_login):
    sixth = [make_pupil(world.school_a1, name=name, grade=6, birth_date=born)
             for name, born in (("升学甲", dt.date(2014, 2, 1)),
                                ("升学乙", dt.date(2014, 3, 1)))]
    numbers = [p.national_number for p in sixth]
    with time_machine.travel(GRADUATION_DAY, tick=True):
        graduation = graduations.graduation_propose(user=world["a1"].operator, school_year=GRADUATION_YEAR)
        graduations.graduation_approve(user=world["a1"].approver, graduation_id=graduation.pk)
        graduations.graduation_approve(user=world["county_a"].approver, graduation_id=graduation.pk)
        assert set(Pupil.objects.filter(pk__in=[p.pk for p in sixth]).values_list("status", flat=True)) == {"graduated"}

        browser_login(world["county_a"].operator)
        page.goto("/progressions/allocations/")
        page.fill("[data-testid=allocation-keyed]", "\n".join(
            f"{p.national_number}\t{p.name}\t{world.school_a2.code}\t2" for p in sixth))
        page.click("[data-testid=allocation-submit]")
        assert "已分配 2 名" in page.inner_text("[data-testid=summary]")
        _logout(page)

        offer = Progression.objects.get()
        browser_login(world["a2"].operator)
        page.click("text=升学接收")
        page.click(f"[data-testid=open-{offer.pk}]")
        page.wait_for_selector("[data-testid=state][data-state=offered]")
        page.click("[data-testid=action-accept]")
        page.wait_for_selector("[data-testid=state][data-state=school_review]")
        _logout(page)

        browser_login(world["a2"].approver)
        page.goto(f"/progressions/{offer.pk}/")
        page.click("[data-testid=action-approve]")
        page.wait_for_selector("[data-testid=state][data-state=county_review]")
        _logout(page)

        browser_login(world["county_a"].approver)
        page.goto("/")
        page.click("text=升学接收待区县审核")
        page.click("[data-testid=action-approve]")
        page.wait_for_selector("[data-testid=state][data-state=approved]")
        _logout(page)

        browser_login(world["a2"].operator)
        page.goto(f"/pupils/{numbers[0]}/")
        text = page.inner_text("main")
        assert "天河第二中学" in text and numbers[0] in text and "升学" in text
    for pupil in sixth:
        pupil.refresh_from_db()
        assert (pupil.school, pupil.grade, pupil.status, pupil.school_class.number) == (world.school_a2, 7, "enrolled", 2)
    assert [p.national_number for p in sixth] == numbers
