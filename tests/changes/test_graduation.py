"""Graduation (毕业): a school's list, two-step approval, lock of basic data."""

from __future__ import annotations

import datetime as dt

import pytest

from changes import graduations
from changes.models import GraduationList, State
from kernel.errors import BusinessRefused, Conflict, Forbidden, NotFound
from registry.models import Pupil, PupilStatus
from tests.changes.conftest import GRADUATION_YEAR, open_request
from tests.factories import make_pupil
from workflow.models import WorkItem

pytestmark = pytest.mark.usefixtures("graduation_season")


@pytest.fixture
def sixth_graders(world):
    return [make_pupil(world.school_a1, name=f"毕业生{i}", grade=6, class_number=i % 2 + 1) for i in range(3)]


def test_list_holds_the_enrolled_pupils_of_graduating_grades(world, sixth_graders):
    make_pupil(world.school_a1, name="休学六年级", grade=6, status="suspended")
    graduation = graduations.graduation_propose(user=world["a1"].operator, school_year=GRADUATION_YEAR)
    listed = set(graduation.entries.values_list("pupil_id", flat=True))
    assert listed == {p.pk for p in sixth_graders}
    assert graduation.state == State.SCHOOL_REVIEW
    assert WorkItem.objects.filter(kind="graduation", school=world.school_a1, state="open").exists()


def test_county_approval_graduates_and_locks(world, sixth_graders):
    graduation = graduations.graduation_propose(
        user=world["a1"].operator, school_year=GRADUATION_YEAR, outcomes={sixth_graders[0].national_number: "incomplete"}
    )
    graduations.graduation_approve(user=world["a1"].approver, graduation_id=graduation.pk)
    assert WorkItem.objects.filter(kind="graduation", division=world.county_a, state="open").exists()
    graduations.graduation_approve(user=world["county_a"].approver, graduation_id=graduation.pk)
    statuses = {p.pk: (p.status, p.basic_data_locked) for p in (p.__class__.objects.get(pk=p.pk) for p in sixth_graders)}
    assert statuses[sixth_graders[0].pk] == (PupilStatus.INCOMPLETE, True)
    assert statuses[sixth_graders[1].pk] == (PupilStatus.GRADUATED, True)
    assert sixth_graders[1].history.filter(kind="graduated").exists()
    world.pupils["a1"].refresh_from_db()
    assert world.pupils["a1"].status == PupilStatus.ENROLLED  # 三年级 is not on the list


def test_graduates_are_locked_against_key_changes(world, sixth_graders):
    graduation = graduations.graduation_propose(user=world["a1"].operator, school_year=GRADUATION_YEAR)
    graduations.graduation_approve(user=world["a1"].approver, graduation_id=graduation.pk)
    graduations.graduation_approve(user=world["county_a"].approver, graduation_id=graduation.pk)
    with pytest.raises(BusinessRefused) as exc:
        open_request(world, "key_change", {"name": "改名"}, pupil=sixth_graders[0], today=dt.date(2027, 9, 1))
    assert exc.value.code == "basic_data_locked"


def test_graduation_two_person_rule_and_step_order(world, sixth_graders):
    graduation = graduations.graduation_propose(user=world["a1"].approver, school_year=GRADUATION_YEAR)
    with pytest.raises(Forbidden) as exc:
        graduations.graduation_approve(user=world["a1"].approver, graduation_id=graduation.pk)
    assert exc.value.code == "two_person_rule" and "same_person" in exc.value.aliases
    with pytest.raises(Conflict) as exc:
        graduations.graduation_approve(user=world["county_a"].approver, graduation_id=graduation.pk)
    assert exc.value.code == "step_not_reached"


def test_one_list_per_school_and_year(world, sixth_graders):
    graduations.graduation_propose(user=world["a1"].operator, school_year=GRADUATION_YEAR)
    with pytest.raises(Conflict) as exc:
        graduations.graduation_propose(user=world["a1"].operator, school_year=GRADUATION_YEAR)
    assert exc.value.code == "graduation_list_exists"


def test_a_refused_list_can_be_proposed_again(world, sixth_graders):
    graduation = graduations.graduation_propose(user=world["a1"].operator, school_year=GRADUATION_YEAR)
    graduations.graduation_refuse(user=world["a1"].approver, graduation_id=graduation.pk, reason="名单有误")
    graduations.graduation_propose(user=world["a1"].operator, school_year=GRADUATION_YEAR)
    assert GraduationList.objects.filter(school=world.school_a1).count() == 2


def test_no_graduates_is_refused(world):
    with pytest.raises(BusinessRefused) as exc:
        graduations.graduation_propose(user=world["a2"].operator, school_year=GRADUATION_YEAR)
    assert exc.value.code == "no_graduates"


def test_county_user_cannot_propose_and_other_county_cannot_see(world, sixth_graders):
    with pytest.raises(Forbidden):
        graduations.graduation_propose(user=world["county_a"].operator, school_year=GRADUATION_YEAR)
    graduation = graduations.graduation_propose(user=world["a1"].operator, school_year=GRADUATION_YEAR)
    with pytest.raises(NotFound):
        graduations.graduation_approve(user=world["county_b"].approver, graduation_id=graduation.pk)


def test_pupil_with_open_business_is_not_graduated(world, sixth_graders):
    graduation = graduations.graduation_propose(user=world["a1"].operator, school_year=GRADUATION_YEAR)
    open_request(world, "abroad", {"date": "2026-11-01", "destination": "新加坡"}, pupil=sixth_graders[0])
    graduations.graduation_approve(user=world["a1"].approver, graduation_id=graduation.pk)
    graduations.graduation_approve(user=world["county_a"].approver, graduation_id=graduation.pk)
    sixth_graders[0].refresh_from_db()
    assert sixth_graders[0].status == PupilStatus.ENROLLED
    assert not graduation.entries.get(pupil=sixth_graders[0]).applied


# The deadline (毕业办理截止, 07-30 by default) --------------------------------------------------


def test_a_list_is_proposed_by_the_deadline_and_not_after(world, sixth_graders):
    with pytest.raises(BusinessRefused) as refused:
        graduations.graduation_propose(user=world["a1"].operator, school_year=2026, today=dt.date(2026, 7, 31))
    assert refused.value.code == "graduation_deadline_passed" and "2026-07-30" in str(refused.value.message)
    graduation = graduations.graduation_propose(user=world["a1"].operator, school_year=2026, today=dt.date(2026, 7, 30))
    assert graduation.school_year == 2026


def test_no_approval_after_the_deadline(world, sixth_graders):
    graduation = graduations.graduation_propose(user=world["a1"].operator, school_year=2026, today=dt.date(2026, 7, 28))
    graduations.graduation_approve(user=world["a1"].approver, graduation_id=graduation.pk, today=dt.date(2026, 7, 29))
    with pytest.raises(BusinessRefused) as refused:
        graduations.graduation_approve(user=world["county_a"].approver, graduation_id=graduation.pk,
                                    today=dt.date(2026, 7, 31))
    assert refused.value.code == "graduation_deadline_passed"
    graduation.refresh_from_db()
    assert graduation.state == State.COUNTY_REVIEW
    assert {p.status for p in sixth_graders} == {PupilStatus.ENROLLED}


def test_the_province_can_move_the_deadline(world, sixth_graders):
    from provinces.models import ProvincePolicy

    ProvincePolicy.objects.update_or_create(province_id="44", defaults={"graduation_deadline": "08-15"})
    graduation = graduations.graduation_propose(user=world["a1"].operator, school_year=2026, today=dt.date(2026, 8, 1))
    assert graduation.school_year == 2026


def test_the_default_year_is_the_graduation_of_the_school_year_under_way(world):
    assert graduations.default_graduation_year(world["a1"].operator, today=dt.date(2026, 7, 30)) == 2026
    assert graduations.default_graduation_year(world["a1"].operator, today=dt.date(2026, 8, 9)) == 2026
    assert graduations.default_graduation_year(world["a1"].operator, today=dt.date(2026, 8, 10)) == 2027


def test_a_list_is_only_for_the_school_year_under_way(world, sixth_graders):
    with pytest.raises(BusinessRefused) as refused:
        graduations.graduation_propose(user=world["a1"].operator, school_year=2031, today=dt.date(2026, 12, 1))
    assert refused.value.code == "graduation_not_this_year" and "2027" in str(refused.value.message)
    with pytest.raises(BusinessRefused) as refused:  # last year's is past its deadline
        graduations.graduation_propose(user=world["a1"].operator, school_year=2026, today=dt.date(2026, 12, 1))
    assert refused.value.code == "graduation_deadline_passed"


def test_the_county_approves_a_list_no_earlier_than_the_opening_day(world, sixth_graders):
    graduation = graduations.graduation_propose(user=world["a1"].operator, school_year=2027, today=dt.date(2026, 12, 1))
    graduations.graduation_approve(user=world["a1"].approver, graduation_id=graduation.pk, today=dt.date(2026, 12, 2))
    with pytest.raises(BusinessRefused) as refused:  # not graduated in mid-year
        graduations.graduation_approve(user=world["county_a"].approver, graduation_id=graduation.pk,
                                       today=dt.date(2027, 5, 31))
    assert refused.value.code == "graduation_too_early" and "2027-06-01" in str(refused.value.message)
    assert {p.status for p in Pupil.objects.filter(pk__in=[p.pk for p in sixth_graders])} == {PupilStatus.ENROLLED}
    done = graduations.graduation_approve(user=world["county_a"].approver, graduation_id=graduation.pk,
                                          today=dt.date(2027, 6, 1))
    assert done.state == State.APPROVED
