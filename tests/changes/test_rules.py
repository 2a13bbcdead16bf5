"""Rules of each kind of status change, each with its own code."""

from __future__ import annotations

import datetime as dt

import pytest

from changes import requests
from changes.models import DropoutFollowUp
from kernel.errors import BusinessRefused, ValidationFailed
from provinces.models import CalendarOverride, ProvincePolicy
from registry.models import PupilStatus
from tests.changes.conftest import approve_both, open_request, pdf
from tests.factories import make_pupil
from workflow.models import WorkItem

TODAY = dt.date(2026, 11, 23)


def refused(world, kind, payload, *, code, pupil=None, **kwargs):
    with pytest.raises((BusinessRefused, ValidationFailed)) as exc:
        open_request(world, kind, payload, pupil=pupil, today=kwargs.pop("today", TODAY), **kwargs)
    assert exc.value.code == code, exc.value.message
    return exc.value


def suspended_pupil(world, **kwargs):
    return make_pupil(world.school_a1, name="休学生", status="suspended", status_until=dt.date(2027, 6, 30), **kwargs)


# --- 休学 ---------------------------------------------------------------------------

def test_suspension_needs_an_enrolled_pupil(world):
    refused(world, "suspend", {"start": "2026-11-23", "until": "2027-06-30"}, pupil=suspended_pupil(world),
            code="not_enrolled")


def test_suspension_is_at_most_one_year(world):
    refused(world, "suspend", {"start": "2026-11-23", "until": "2027-11-24"}, code="suspension_too_long")
    request = open_request(world, "suspend", {"start": "2026-11-23", "until": "2027-11-23"}, today=TODAY)
    assert request.payload["until"] == "2027-11-23"


def test_suspension_refused_in_last_semester_of_graduating_grade(world):
    sixth = make_pupil(world.school_a1, name="六年级", grade=6)
    refused(world, "suspend", {"start": "2027-03-01", "until": "2027-09-01"}, pupil=sixth,
            code="suspension_last_semester")
    # the first semester of the same grade is fine
    open_request(world, "suspend", {"start": "2026-11-23", "until": "2027-02-01"}, pupil=sixth, today=TODAY)


def test_sixth_grade_of_a_nine_year_school_is_not_graduating(world):
    sixth = make_pupil(world.school_b2, name="九年制六年级", grade=6)
    request = requests.change_request_open(user=world["b2"].operator, pupil=sixth, kind="suspend",
                                           payload={"start": "2027-03-01", "until": "2027-09-01"}, today=TODAY)
    assert request.state == "school_review"


def test_last_semester_rule_follows_the_province_policy(world):
    ProvincePolicy.objects.create(province=world.province, refuse_suspension_last_semester=False)
    sixth = make_pupil(world.school_a1, name="六年级", grade=6)
    open_request(world, "suspend", {"start": "2027-03-01", "until": "2027-09-01"}, pupil=sixth, today=TODAY)


def test_suspension_approved_sets_status_and_return_date(world):
    request = open_request(world, "suspend", {"start": "2026-11-23", "until": "2027-06-30"}, today=TODAY)
    approve_both(world, request)
    pupil = world.pupils["a1"]
    pupil.refresh_from_db()
    assert (pupil.status, pupil.status_until) == (PupilStatus.SUSPENDED, dt.date(2027, 6, 30))


# --- 延长休学 -------------------------------------------------------------------------

def test_extension_needs_a_suspended_pupil(world):
    refused(world, "suspend_extend", {"until": "2027-12-01"}, code="not_suspended")


def test_extension_at_most_one_year_and_only_once(world):
    pupil = suspended_pupil(world)
    refused(world, "suspend_extend", {"until": "2028-07-01"}, pupil=pupil, code="extension_too_long")
    request = open_request(world, "suspend_extend", {"until": "2028-06-30"}, pupil=pupil, today=TODAY)
    approve_both(world, request)
    pupil.refresh_from_db()
    assert pupil.status_until == dt.date(2028, 6, 30)
    refused(world, "suspend_extend", {"until": "2028-12-01"}, pupil=pupil, code="extension_used")


# --- 复学 ---------------------------------------------------------------------------

def test_resume_needs_a_suspended_pupil(world):
    refused(world, "resume", {"grade": 3}, code="not_suspended")


def test_resume_into_same_or_next_grade_only(world):
    pupil = suspended_pupil(world)
    refused(world, "resume", {"grade": 5}, pupil=pupil, code="resume_grade")
    refused(world, "resume", {"grade": 2}, pupil=pupil, code="resume_grade")
    request = open_request(world, "resume", {"grade": 4, "class_number": 2}, pupil=pupil, today=TODAY)
    approve_both(world, request)
    pupil.refresh_from_db()
    assert (pupil.status, pupil.grade, pupil.school_class.number, pupil.status_until) == ("enrolled", 4, 2, None)
    assert pupil.school == world.school_a1


def test_resume_cannot_leave_the_school_grades(world):
    pupil = make_pupil(world.school_a1, name="六年级休学", grade=6, status="suspended")
    refused(world, "resume", {"grade": 7}, pupil=pupil, code="grade_not_in_school")


# --- 留级 / 跳级 ----------------------------------------------------------------------

def test_repeat_forbidden_in_compulsory_education_by_default(world):
    refused(world, "repeat", {}, code="repeat_forbidden_compulsory")


def test_repeat_allowed_when_policy_off_one_grade_same_stage(world):
    ProvincePolicy.objects.create(province=world.province, forbid_repeat_in_compulsory=False)
    refused(world, "repeat", {"grade": 1}, code="one_grade_only")
    request = open_request(world, "repeat", {}, today=TODAY)
    approve_both(world, request)
    world.pupils["a1"].refresh_from_db()
    assert world.pupils["a1"].grade == 2


def test_repeat_in_senior_school_is_not_compulsory(world):
    from schools.models import School

    senior = School.objects.create(code="4401060009", name="天河高中", county=world.county_a, stage="senior")
    pupil = make_pupil(senior, name="高二", grade=11)
    from tests.factories import make_user

    operator = make_user("senior.operator", role="operator", school=senior)
    request = requests.change_request_open(user=operator, pupil=pupil, kind="repeat", payload={}, today=TODAY)
    assert request.payload["grade"] == 10


def test_skip_one_grade_within_the_stage(world):
    request = open_request(world, "skip", {"class_number": 3}, today=TODAY)
    approve_both(world, request)
    pupil = world.pupils["a1"]
    pupil.refresh_from_db()
    assert (pupil.grade, pupil.school_class.grade, pupil.school_class.number) == (4, 4, 3)


def test_skip_cannot_cross_the_stage_boundary(world):
    sixth = make_pupil(world.school_b2, name="九年制六年级", grade=6)
    with pytest.raises(BusinessRefused) as exc:
        requests.change_request_open(user=world["b2"].operator, pupil=sixth, kind="skip", payload={}, today=TODAY)
    assert exc.value.code == "stage_boundary"


def test_skip_two_grades_is_refused(world):
    refused(world, "skip", {"grade": 5}, code="one_grade_only")


# --- 辍学 / 出境 / 恢复学籍 -------------------------------------------------------------

def test_drop_out_of_compulsory_age_pupil_goes_on_the_follow_up_list(world):
    request = open_request(world, "drop_out", {"date": "2026-11-20"}, today=TODAY)
    approve_both(world, request)
    pupil = world.pupils["a1"]
    pupil.refresh_from_db()
    assert pupil.status == PupilStatus.DROPPED_OUT
    follow_up = DropoutFollowUp.objects.get(pupil=pupil)
    assert follow_up.county_code == "440106" and follow_up.age == 10


def test_drop_out_of_an_adult_is_not_followed_up(world):
    from schools.models import School
    from tests.factories import make_user

    senior = School.objects.create(code="4401060009", name="天河高中", county=world.county_a, stage="senior")
    pupil = make_pupil(senior, name="高三", grade=12, birth_date=dt.date(2008, 1, 1))
    operator = make_user("senior.operator", role="operator", school=senior)
    request = requests.change_request_open(user=operator, pupil=pupil, kind="drop_out",
                                           payload={"date": "2026-11-20"}, today=TODAY)
    approver = make_user("senior.approver", role="approver", school=senior)
    requests.change_request_approve(user=approver, request_id=request.pk)
    requests.change_request_approve(user=world["county_a"].approver, request_id=request.pk)
    assert not DropoutFollowUp.objects.filter(pupil=pupil).exists()


def test_drop_out_date_cannot_be_in_the_future(world):
    refused(world, "drop_out", {"date": "2026-12-01"}, code="date_in_future")


def test_abroad_needs_a_destination(world):
    refused(world, "abroad", {"date": "2026-11-01", "destination": ""}, code="required")


def test_reinstate_undoes_drop_out_and_closes_the_follow_up(world):
    request = open_request(world, "drop_out", {"date": "2026-11-20"}, today=TODAY)
    approve_both(world, request)
    request = open_request(world, "reinstate", {}, today=TODAY)
    approve_both(world, request)
    pupil = world.pupils["a1"]
    pupil.refresh_from_db()
    assert pupil.status == PupilStatus.ENROLLED
    assert DropoutFollowUp.objects.get(pupil=pupil).closed_at is not None


def test_reinstate_undoes_abroad(world):
    pupil = make_pupil(world.school_a1, name="出境生", status="abroad")
    request = open_request(world, "reinstate", {"class_number": 2}, pupil=pupil, today=TODAY)
    approve_both(world, request)
    pupil.refresh_from_db()
    assert pupil.status == PupilStatus.ENROLLED and pupil.school_class.number == 2


def test_reinstate_needs_drop_out_or_abroad(world):
    refused(world, "reinstate", {}, code="not_reinstatable")


# --- 退学 (senior secondary) -------------------------------------------------------------

def withdraw(world, pupil, payload, *, reason="家庭原因，本人申请退学", school="senior", **kwargs):
    return requests.change_request_open(user=world[school].operator, pupil=pupil, kind="withdrawal",
                                        payload=payload, reason=reason, today=kwargs.pop("today", TODAY), **kwargs)


def test_withdrawal_of_a_senior_pupil_closes_the_record_with_its_history(world, senior):
    pupil = make_pupil(senior, name="高二学生", grade=11, birth_date=dt.date(2009, 4, 1))
    request = withdraw(world, pupil, {"date": "2026-11-20"})
    assert request.state == "school_review"
    assert WorkItem.objects.filter(object_id=request.pk, kind="status_change", school=senior, state="open").exists()
    approve_both(world, request, school="senior")
    pupil.refresh_from_db()
    assert (pupil.status, pupil.status_until, pupil.is_active) == (PupilStatus.WITHDRAWN, None, False)
    entry = pupil.history.get(kind="change_withdrawal")
    assert "2026-11-20" in entry.summary and "家庭原因" in entry.summary
    assert not WorkItem.objects.filter(object_id=request.pk, kind="status_change", state="open").exists()
    assert not DropoutFollowUp.objects.filter(pupil=pupil).exists()  # not a 控辍保学 case


def test_withdrawal_is_refused_in_compulsory_education(world, senior):
    exc = refused(world, "withdrawal", {"date": "2026-11-20"}, reason="本人申请", code="withdrawal_compulsory")
    assert "义务教育" in str(exc.message)
    ninth = make_pupil(world.school_a2, name="初三学生", grade=9)
    with pytest.raises(BusinessRefused) as caught:
        withdraw(world, ninth, {"date": "2026-11-20"}, school="a2")
    assert caught.value.code == "withdrawal_compulsory"


def test_withdrawal_only_from_enrolled_or_suspended(world, senior):
    suspended = make_pupil(senior, name="休学高一", grade=10, status="suspended", status_until=dt.date(2027, 6, 30))
    assert withdraw(world, suspended, {"date": "2026-11-20"}).state == "school_review"
    for status in ("dropped_out", "abroad", "graduated"):
        pupil = make_pupil(senior, name=f"高三{status}", grade=12, status=status)
        with pytest.raises(BusinessRefused) as caught:
            withdraw(world, pupil, {"date": "2026-11-20"})
        assert caught.value.code == "not_enrolled", status


def test_withdrawal_needs_a_date_not_in_the_future_and_a_reason(world, senior):
    pupil = make_pupil(senior, name="高一学生", grade=10)
    for payload, code in (({}, "required"), ({"date": "2026-11-24"}, "date_in_future")):
        with pytest.raises(ValidationFailed) as caught:
            withdraw(world, pupil, payload)
        assert caught.value.code == code
    with pytest.raises(ValidationFailed) as caught:
        withdraw(world, pupil, {"date": "2026-11-20"}, reason="  ")
    assert (caught.value.code, caught.value.field) == ("reason_required", "reason")
    assert not pupil.change_requests.exists()


# --- a registration under review (待审核) --------------------------------------------------

def test_no_status_change_while_the_registration_is_pending(world):
    pupil = make_pupil(world.school_a1, name="待审核新生", status="pending")
    for kind, payload in (("suspend", {"start": "2026-11-23", "until": "2027-06-30"}), ("drop_out", {"date": "2026-11-20"}),
                          ("key_change", {"name": "改名"})):
        exc = refused(world, kind, payload, pupil=pupil, code="registration_pending")
        assert "待审核" in str(exc.message)


# --- 死亡 ---------------------------------------------------------------------------

def test_death_requires_evidence(world):
    refused(world, "death", {"date": "2026-11-20"}, code="evidence_required")
    request = open_request(world, "death", {"date": "2026-11-20"}, evidence=[pdf()], today=TODAY)
    assert request.state == "school_review"


def test_death_must_be_filed_within_ten_working_days(world):
    # 2026-11-06 (Fri) + 10 working days = 2026-11-20 (Fri)
    open_request(world, "death", {"date": "2026-11-06"}, evidence=[pdf()], today=dt.date(2026, 11, 20))
    other = make_pupil(world.school_a1, name="另一学生")
    refused(world, "death", {"date": "2026-11-06"}, pupil=other, evidence=[pdf()], today=dt.date(2026, 11, 23),
            code="death_filing_late")


def test_death_deadline_counts_the_province_calendar_overrides(world):
    # The province declares Mon 2026-11-09 .. Fri 11-13 days off: the deadline moves a week.
    for day in range(9, 14):
        CalendarOverride.objects.create(province=world.province, day=dt.date(2026, 11, day), is_working_day=False)
    open_request(world, "death", {"date": "2026-11-06"}, evidence=[pdf()], today=dt.date(2026, 11, 27))


def test_death_approved_releases_the_record(world):
    request = open_request(world, "death", {"date": "2026-11-20"}, evidence=[pdf()], today=TODAY)
    approve_both(world, request)
    world.pupils["a1"].refresh_from_db()
    assert world.pupils["a1"].status == PupilStatus.DECEASED


# --- payload shape --------------------------------------------------------------------

def test_unknown_kind_and_unknown_field_are_refused(world):
    refused(world, "expel", {}, code="unknown_kind")
    refused(world, "suspend", {"start": "2026-11-23", "until": "2027-01-01", "foo": 1}, code="unknown_field")
    refused(world, "suspend", {"start": "soon", "until": "2027-01-01"}, code="invalid_date")


# --- grade rules of the cycle ------------------------------------------------------------

def test_grade_rules_at_stage_boundaries(world):
    assert world.school_a1.next_grade(6) is None
    assert world.school_b2.next_grade(6) == 7
    assert world.school_b2.next_grade(9) is None
    assert world.school_a1.graduating_grades() == {6}
    assert world.school_b2.graduating_grades() == {9}
    assert world.school_a2.graduating_grades() == {9}
