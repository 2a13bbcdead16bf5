"""Promotion (升级): one grade up within the stage, idempotent per school year."""

from __future__ import annotations

import datetime as dt

import pytest

from changes import graduations, promotions
from changes.models import PromotionRun, PromotionSchool
from kernel.errors import Forbidden
from registry.models import PupilStatus
from tests.factories import make_pupil


def _start(world, year=2026, today=None):
    run = promotions.promotion_start(user=world["province"].admin, school_year=year, today=today)
    for part in run.schools.all():
        promotions.promotion_school_apply(part_id=part.pk)
    run.refresh_from_db()
    return run


def test_pupils_move_up_one_grade_into_the_same_class_number(world):
    pupil = make_pupil(world.school_a1, name="三年级二班", grade=3, class_number=2)
    _start(world)
    pupil.refresh_from_db()
    assert (pupil.grade, pupil.school_class.grade, pupil.school_class.number) == (4, 4, 2)
    assert pupil.history.filter(kind="promoted").count() == 1


def test_sixth_grade_of_a_primary_school_stays_for_graduation(world):
    sixth = make_pupil(world.school_a1, name="六年级", grade=6)
    _start(world)
    sixth.refresh_from_db()
    assert sixth.grade == 6


def test_nine_year_school_moves_six_to_seven_and_keeps_nine(world):
    sixth = make_pupil(world.school_b2, name="九年制六年级", grade=6, class_number=3)
    ninth = make_pupil(world.school_b2, name="九年制九年级", grade=9)
    _start(world)
    sixth.refresh_from_db()
    ninth.refresh_from_db()
    assert (sixth.grade, sixth.school_class.number) == (7, 3)
    assert ninth.grade == 9


def test_only_enrolled_pupils_move(world):
    suspended = make_pupil(world.school_a1, name="休学", grade=3, status="suspended")
    _start(world)
    suspended.refresh_from_db()
    assert suspended.grade == 3


def test_promotion_is_idempotent_per_school_year(world):
    pupil = world.pupils["a1"]
    run = _start(world)
    assert run.status == PromotionRun.Status.DONE
    _start(world)  # a second start of the same year
    for part in PromotionSchool.objects.all():  # and a retried task
        promotions.promotion_school_apply(part_id=part.pk)
    pupil.refresh_from_db()
    assert pupil.grade == 4
    assert pupil.history.filter(kind="promoted").count() == 1
    assert PromotionRun.objects.count() == 1
    _start(world, year=2027, today=dt.date(2027, 8, 10))
    pupil.refresh_from_db()
    assert pupil.grade == 5


def test_promotion_stays_in_the_admins_province(world):
    run = _start(world)
    codes = set(run.schools.values_list("school__code", flat=True))
    assert world.school_x.code not in codes
    world.pupils["x"].refresh_from_db()
    assert world.pupils["x"].grade == 3


def test_report_counts_what_moved(world):
    make_pupil(world.school_a1, name="六年级", grade=6)
    run = _start(world)
    part = run.schools.get(school=world.school_a1)
    assert part.report["moved"] == {"3→4": 1}
    assert part.report["stayed"] == {"6": 1}
    assert (part.moved, part.stayed) == (1, 1)


def test_only_the_province_admin_starts_promotion(world):
    for user in (world["province"].approver, world["county_a"].approver, world["a1"].approver):
        with pytest.raises(Forbidden) as exc:
            promotions.promotion_start(user=user, school_year=2026)
        assert exc.value.code == "province_admin_only"


def test_promotion_writes_the_audit_context(world):
    _start(world)
    pupil = world.pupils["a1"]
    event = pupil.pgh_event_model.objects.filter(pgh_obj=pupil, pgh_label="update").latest("pgh_created_at")
    assert event.grade == 4
    assert event.pgh_context.metadata["task"] == "promotion"
    assert event.pgh_context.metadata["username"] == world["province"].admin.username


def test_grade_status_unchanged_for_graduated(world):
    graduated = make_pupil(world.school_a1, name="已毕业", grade=6, status=PupilStatus.GRADUATED)
    _start(world)
    graduated.refresh_from_db()
    assert graduated.grade == 6


def test_promotion_waits_for_the_promotion_date(world):
    from kernel.errors import BusinessRefused

    with pytest.raises(BusinessRefused) as refused:
        promotions.promotion_start(user=world["province"].admin, school_year=2027, today=dt.date(2027, 8, 9))
    assert refused.value.code == "promotion_too_early" and "2027-08-10" in str(refused.value.message)
    assert not PromotionRun.objects.exists()
    run = promotions.promotion_start(user=world["province"].admin, school_year=2027, today=dt.date(2027, 8, 10))
    assert run.school_year == 2027


def test_the_default_school_year_is_the_one_under_way(world):
    admin = world["province"].admin
    assert graduations.default_school_year(admin, today=dt.date(2027, 3, 1)) == 2026
    assert graduations.default_school_year(admin, today=dt.date(2027, 8, 10)) == 2027
    run = promotions.promotion_start(user=admin, today=dt.date(2027, 3, 1))
    assert run.school_year == 2026
