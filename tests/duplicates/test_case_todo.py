"""Open duplicate cases reach 待办: one item for the county of each member, due in working
days, overdue on the report of the level above; resolving the case closes its items."""

from __future__ import annotations

import datetime as dt

from django.contrib.contenttypes.models import ContentType

from duplicates import cases
from duplicates.models import DuplicateCase
from provinces import calendar
from workflow import workitems
from workflow.models import WorkItem


def open_case(world, a="a1", b="b1"):
    low, high = sorted((world.pupils[a].pk, world.pupils[b].pk))
    cases.create_cases("44", [((low, high), 0.93, ["姓名拼音相同"], "")], source=DuplicateCase.Source.SWEEP)
    return DuplicateCase.objects.get(pupil_low_id=low, pupil_high_id=high)


def items_of(case, state="open"):
    return WorkItem.objects.filter(content_type=ContentType.objects.get_for_model(case), object_id=case.pk,
                                   state=state)


def test_a_case_waits_for_the_county_of_each_member(world):
    case = open_case(world)
    items = list(items_of(case))
    assert sorted(i.division_id for i in items) == sorted({world.pupils["a1"].county_code,
                                                            world.pupils["b1"].county_code})
    item = items[0]
    assert item.due_on == calendar.due_date(item.opened_on, province_code=item.scope_code)
    assert item.url == f"/province/cases/{case.pk}/" and world.pupils["a1"].name in item.title
    assert case.pk in [i.object_id for i in workitems.workitems_for(world["county_a"].operator)]
    assert case.pk not in [i.object_id for i in workitems.workitems_for(world["a1"].operator)]  # not a school's


def test_one_item_when_both_members_are_in_one_county(world):
    from tests.factories import make_pupil

    world.pupils["a2"] = make_pupil(world.school_a2, name="李纳", sex="2", birth_date=dt.date(2016, 5, 1))
    case = open_case(world, "a1", "a2")
    assert [i.division_id for i in items_of(case)] == [world.pupils["a1"].county_code]


def test_resolving_the_case_closes_its_items(world):
    case = open_case(world)
    with_case = DuplicateCase.objects.get(pk=case.pk)
    cases._resolve(with_case, world["county_a"].operator, DuplicateCase.Resolution.EVIDENCE, "双胞胎")
    assert not items_of(case).exists() and items_of(case, "done").count() == 2


def test_an_overdue_case_is_on_the_report_above_and_marked_on_the_home_page(world, login):
    case = open_case(world)
    items_of(case).update(due_on=dt.date(2026, 1, 5))
    assert case.pk in [i.object_id for i in workitems.overdue_for(world["city"].approver)]
    page = login(world["county_a"].operator).get("/").content.decode()
    assert f"/province/cases/{case.pk}/" in page and "已超期" in page


def test_the_case_list_shows_the_deadline_and_overdue(world, login):
    case = open_case(world)
    items_of(case).update(due_on=dt.date(2026, 1, 5))
    page = login(world["county_a"].operator).get("/province/cases/").content.decode()
    assert 'data-testid="case-due"' in page and "2026-01-05" in page and "已超期" in page
