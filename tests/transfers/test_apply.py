"""transfer_apply: the start rules, each with its own code; the two-person rule on submit."""

from __future__ import annotations

import datetime as dt

import pytest

from kernel.errors import BusinessRefused, Forbidden, ValidationFailed
from provinces.models import ProvincePolicy
from registry.models import Pupil, PupilStatus
from tests.factories import make_pupil
from tests.transfers.chain import OPEN_DAY, apply, submit
from transfers import services
from transfers.models import Transfer
from transfers.states import State
from workflow.models import OpenBusiness, WorkItem


def _refused(exc_info, code: str) -> None:
    assert exc_info.value.code == code, exc_info.value.as_dict()
    assert exc_info.value.message  # says what is wrong


def test_apply_creates_a_draft_and_a_work_item_for_the_school_approver_the_lock_comes_at_submit(world):
    transfer = apply(world)
    assert transfer.state == State.DRAFT
    assert not OpenBusiness.objects.filter(pupil=world.pupils["a1"]).exists()  # a draft blocks no one
    item = WorkItem.objects.get(object_id=transfer.pk, state="open")
    assert item.school == world.school_b1 and item.role == "approver"
    assert transfer.log.get().action == "apply"
    submit(world, transfer)
    assert OpenBusiness.objects.get(pupil=world.pupils["a1"]).kind == "transfer"


def test_pupil_not_enrolled_is_refused(world):
    pupil = world.pupils["a1"]
    Pupil.objects.filter(pk=pupil.pk).update(status=PupilStatus.DROPPED_OUT)
    with pytest.raises(BusinessRefused) as exc:
        apply(world)
    _refused(exc, "pupil_not_enrolled")
    assert not Transfer.objects.exists()


def test_pupil_with_another_open_business_is_refused(world):
    from django.contrib.contenttypes.models import ContentType

    pupil = world.pupils["a1"]
    OpenBusiness.objects.create(pupil=pupil, kind="status_change", content_type=ContentType.objects.get_for_model(Pupil),
                                object_id=pupil.pk)
    with pytest.raises(BusinessRefused) as exc:
        apply(world)
    _refused(exc, "open_business")
    assert "学籍异动" in str(exc.value.message)


def test_second_application_for_the_same_pupil_is_refused(world):
    apply(world)
    with pytest.raises(BusinessRefused) as exc:
        apply(world, dest="b2")
    _refused(exc, "open_business")


def test_database_allows_one_open_transfer_per_pupil(world):
    from django.db import IntegrityError, transaction

    first = apply(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        Transfer.objects.create(
            pupil=first.pupil, origin_school=first.origin_school, dest_school=world.school_b2,
            origin_county_code="440106", dest_county_code="440105", origin_grade=3, dest_grade=3,
            dest_class_number=1, transfer_date=OPEN_DAY, reason="x", applied_by=world["b2"].operator,
        )


def test_problem_record_is_refused(world):
    pupil = world.pupils["a1"]
    Pupil.objects.filter(pk=pupil.pk).update(identity_status="failed", identity_note="公安比对不一致")
    with pytest.raises(BusinessRefused) as exc:
        apply(world)
    _refused(exc, "problem_record")
    assert "公安比对不一致" in str(exc.value.message)


def test_origin_equal_to_destination_is_refused(world):
    with pytest.raises(BusinessRefused) as exc:
        apply(world, dest="a1")
    _refused(exc, "same_school")


def test_suspended_pupil_is_refused_by_default_policy(world):
    Pupil.objects.filter(pk=world.pupils["a1"].pk).update(status=PupilStatus.SUSPENDED)
    with pytest.raises(BusinessRefused) as exc:
        apply(world)
    _refused(exc, "pupil_suspended")


def test_suspended_pupil_may_transfer_when_the_province_allows_it(world):
    ProvincePolicy.objects.create(province_id="44", transfer_refuse_suspended=False)
    Pupil.objects.filter(pk=world.pupils["a1"].pk).update(status=PupilStatus.SUSPENDED)
    assert apply(world).state == State.DRAFT


def test_other_grade_is_refused_under_same_grade_policy(world):
    with pytest.raises(BusinessRefused) as exc:
        apply(world, dest_grade=4)
    _refused(exc, "grade_mismatch")
    assert exc.value.field == "dest_grade"


def test_other_grade_is_allowed_when_the_policy_is_off(world):
    ProvincePolicy.objects.create(province_id="44", transfer_same_grade_only=False)
    assert apply(world, dest_grade=4).dest_grade == 4


def test_graduating_grade_is_refused_only_when_the_policy_says_so(world):
    make_pupil(world.school_a1, name="赵六", grade=6)
    world.pupils["g6"] = Pupil.objects.get(name="赵六")
    assert apply(world, "g6").state == State.DRAFT  # default: off
    services.transfer_cancel(user=world["b1"].operator, transfer_id=Transfer.objects.get().pk)
    ProvincePolicy.objects.create(province_id="44", transfer_refuse_graduating=True)
    with pytest.raises(BusinessRefused) as exc:
        apply(world, "g6")
    _refused(exc, "graduating_grade")


def test_a_nine_year_schools_grade_six_is_not_a_graduating_grade(world):
    """九年一贯制: grade 6 moves on to grade 7 in the same school, so the 毕业年级 policy does
    not stop its transfer; grade 9 graduates and does."""
    ProvincePolicy.objects.create(province_id="44", transfer_refuse_graduating=True)
    world.pupils["b2g6"] = make_pupil(world.school_b2, name="周七", grade=6)
    world.pupils["b2g9"] = make_pupil(world.school_b2, name="吴八", grade=9, birth_date=dt.date(2012, 3, 8))
    world.school_a2.stage = "nine_year"
    world.school_a2.save()
    assert apply(world, "b2g6", dest="a2").state == State.DRAFT
    with pytest.raises(BusinessRefused) as exc:
        apply(world, "b2g9", dest="a2")
    _refused(exc, "graduating_grade")


@pytest.mark.parametrize("day", [dt.date(2026, 7, 21), dt.date(2026, 8, 1), dt.date(2026, 8, 14)])
def test_freeze_window_refuses(world, day):
    with pytest.raises(BusinessRefused) as exc:
        apply(world, today=day)
    _refused(exc, "freeze_window")


@pytest.mark.parametrize("day", [dt.date(2026, 7, 20), dt.date(2026, 8, 15)])
def test_days_outside_the_freeze_window_are_open(world, day):
    assert apply(world, today=day).state == State.DRAFT


def test_freeze_of_the_origin_province_applies_to_a_cross_province_chain(world):
    ProvincePolicy.objects.create(province_id="44", freeze_enabled=False)
    with pytest.raises(BusinessRefused) as exc:
        apply(world, "x", today=dt.date(2026, 8, 1))  # origin province 42 still frozen
    _refused(exc, "freeze_window")


def test_a_reference_holds_only_at_the_origin_school_of_its_lookup(world):
    with pytest.raises(ValidationFailed) as exc:
        apply(world, origin_school_code=world.school_a2.code)
    assert exc.value.code == "lookup_expired"


def test_only_a_school_operator_fills_in(world):
    with pytest.raises(Forbidden):
        apply(world, user=world["b1"].approver)
    with pytest.raises(Forbidden):
        apply(world, user=world["county_b"].operator)


def test_destination_grade_must_exist_at_the_destination(world):
    with pytest.raises(ValidationFailed) as exc:
        apply(world, dest="a2")  # a junior school has no grade 3
    assert exc.value.code == "grade_not_offered"


def test_reason_is_required(world):
    with pytest.raises(ValidationFailed) as exc:
        apply(world, reason="  ")
    assert exc.value.code == "reason_required" and exc.value.field == "reason"


def test_submit_by_the_applicant_is_refused_two_person_rule(world, django_user_model):
    from accounts.models import Membership

    transfer = apply(world)
    applicant = world["b1"].operator
    Membership.objects.filter(user=applicant).update(role="approver")
    applicant = django_user_model.objects.get(pk=applicant.pk)
    with pytest.raises(Forbidden) as exc:
        services.transfer_submit(user=applicant, transfer_id=transfer.pk)
    assert exc.value.code == "two_person_rule"
    assert submit(world, transfer).state == State.DEST_COUNTY


def test_operator_cannot_submit(world):
    transfer = apply(world)
    with pytest.raises(Forbidden):
        services.transfer_submit(user=world["b1"].operator, transfer_id=transfer.pk)
