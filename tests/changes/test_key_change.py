"""Key-field changes (关键信息变更): validation, duplicates, lock, freeze, history, J→G."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest

from changes import requests
from changes.models import State
from kernel.errors import BusinessRefused, ValidationFailed
from provinces.models import ProvincePolicy
from tests.changes.conftest import approve_both, open_request
from tests.factories import make_pupil, resident_id

TODAY = dt.date(2026, 11, 23)


def test_name_change_keeps_the_old_value_in_history(world):
    request = open_request(world, "key_change", {"name": "李娜娜"}, today=TODAY)
    approve_both(world, request)
    pupil = world.pupils["a1"]
    pupil.refresh_from_db()
    assert pupil.name == "李娜娜"
    entry = pupil.history.get(kind="change_key_change")
    assert entry.data["before"]["name"] == "李娜" and entry.data["after"]["name"] == "李娜娜"
    assert "李娜 → 李娜娜" in entry.summary


def test_new_values_are_validated_like_registration(world):
    with pytest.raises(ValidationFailed) as exc:
        open_request(world, "key_change", {"id_number": "440106201605010000"}, today=TODAY)
    assert exc.value.code == "id_check_char"
    # an ID that disagrees with the recorded birth date names the field
    other_id = resident_id(dt.date(2016, 6, 1), "2")
    with pytest.raises(ValidationFailed) as exc:
        open_request(world, "key_change", {"id_number": other_id}, today=TODAY)
    assert (exc.value.code, exc.value.field) == ("id_birth_mismatch", "birth_date")


def test_birth_date_and_id_change_together(world):
    new_id = resident_id(dt.date(2016, 6, 1), "2")
    request = open_request(world, "key_change", {"birth_date": "2016-06-01", "id_number": new_id}, today=TODAY)
    approve_both(world, request)
    world.pupils["a1"].refresh_from_db()
    assert world.pupils["a1"].id_number == new_id


def test_no_change_is_refused(world):
    with pytest.raises(ValidationFailed) as exc:
        open_request(world, "key_change", {"name": "李娜"}, today=TODAY)
    assert exc.value.code == "no_change"


def test_id_held_by_another_active_pupil_is_refused(world):
    holder = world.pupils["b1"]
    pupil = make_pupil(world.school_a1, name="王伟", sex="1", birth_date=holder.birth_date, id_number="")
    with pytest.raises(BusinessRefused) as exc:
        open_request(world, "key_change", {"id_type": "1", "id_number": holder.id_number}, pupil=pupil, today=TODAY)
    assert exc.value.code == "id_number_active_elsewhere"
    assert exc.value.details["school_code"] == world.school_b1.code


def test_refused_after_graduation(world):
    pupil = make_pupil(world.school_a1, name="毕业生", grade=6, status="graduated", basic_data_locked=True)
    with pytest.raises(BusinessRefused) as exc:
        open_request(world, "key_change", {"name": "改名"}, pupil=pupil, today=TODAY)
    assert exc.value.code == "basic_data_locked"


def test_refused_in_the_freeze_window(world):
    with pytest.raises(BusinessRefused) as exc:
        open_request(world, "key_change", {"name": "李娜娜"}, today=dt.date(2026, 7, 25))
    assert exc.value.code == "freeze_window"


def test_freeze_window_is_checked_again_at_county_approval(world):
    request = open_request(world, "key_change", {"name": "李娜娜"}, today=TODAY)
    requests.change_request_approve(user=world["a1"].approver, request_id=request.pk)
    with mock.patch("django.utils.timezone.localdate", return_value=dt.date(2027, 8, 1)):
        with pytest.raises(BusinessRefused) as exc:
            requests.change_request_approve(user=world["county_a"].approver, request_id=request.pk)
    assert exc.value.code == "freeze_window"
    request.refresh_from_db()
    assert request.state == State.COUNTY_REVIEW


def test_duplicate_hook_runs_before_the_county_step(world):
    finding = {"pupil": "L440105201509090001", "score": 0.9, "reasons": ["姓名拼音相同"]}
    request = open_request(world, "key_change", {"name": "李娜娜"}, today=TODAY)
    with mock.patch("duplicates.entry.likely_duplicates", return_value=[finding]) as hook:
        requests.change_request_approve(user=world["a1"].approver, request_id=request.pk)
    assert hook.call_args.kwargs["exclude_pk"] == world.pupils["a1"].pk
    assert hook.call_args.args[0].name == "李娜娜"
    request.refresh_from_db()
    assert request.duplicate_findings == [finding]
    with pytest.raises(BusinessRefused) as exc:
        requests.change_request_approve(user=world["county_a"].approver, request_id=request.pk)
    assert exc.value.code == "likely_duplicate"
    requests.change_request_approve(user=world["county_a"].approver, request_id=request.pk,
                                    acknowledge_duplicates=True)
    request.refresh_from_db()
    assert request.state == State.APPROVED


def test_no_id_pupil_gets_a_g_number_keeping_the_j_number_in_history(world):
    birth = dt.date(2016, 3, 3)
    pupil = make_pupil(world.school_a1, name="无户籍", sex="1", birth_date=birth, id_number="")
    j_number = "J440106201603030011"
    from kernel.identity import id_check_char

    j_number = j_number[:18] + id_check_char(j_number[1:18])
    type(pupil).objects.filter(pk=pupil.pk).update(national_number=j_number)
    pupil.refresh_from_db()
    new_id = resident_id(birth, "1")
    request = open_request(world, "key_change", {"id_type": "1", "id_number": new_id}, pupil=pupil, today=TODAY)
    approve_both(world, request)
    pupil.refresh_from_db()
    assert pupil.national_number == "G" + new_id
    assert pupil.id_type == "1" and pupil.id_number == new_id
    entry = pupil.history.get(kind="number_changed")
    assert entry.data["old"] == j_number and entry.data["new"] == "G" + new_id


def test_l_number_is_not_changed_by_a_key_change(world):
    pupil = world.pupils["a1"]
    number = pupil.national_number
    new_id = resident_id(pupil.birth_date, "2")
    request = open_request(world, "key_change", {"id_number": new_id}, today=TODAY)
    approve_both(world, request)
    pupil.refresh_from_db()
    assert pupil.national_number == number


def test_key_change_is_its_own_open_business_kind(world):
    open_request(world, "key_change", {"name": "李娜娜"}, today=TODAY)
    from workflow.models import OpenBusiness

    assert OpenBusiness.objects.get(pupil=world.pupils["a1"]).kind == "key_change"


@pytest.mark.parametrize(("grade", "code"), [(2, "repeat_forbidden_compulsory"), (5, "one_grade_only"),
                                             (1, "one_grade_only")])
def test_a_key_change_of_the_grade_obeys_the_repeat_and_skip_rules(world, grade, code):
    ProvincePolicy.objects.update_or_create(province=world.province, defaults={"forbid_repeat_in_compulsory": True})
    with pytest.raises(BusinessRefused) as refused:
        open_request(world, "key_change", {"grade": grade}, today=TODAY)
    assert refused.value.code == code


def test_a_key_change_of_the_grade_moves_one_grade_like_a_skip(world):
    request = open_request(world, "key_change", {"grade": 4}, today=TODAY)
    assert request.payload["grade"] == 4
