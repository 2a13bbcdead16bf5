"""新生注册审核: a new record is 待审核 until an approver of the school and, when the policy
asks, the county approve; refused, it is 注册未通过. Through the service, the API and the pages."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from django.contrib.contenttypes.models import ContentType

from accounts.models import Membership
from duplicates.promotion import promote_to_g
from enrolment import registration
from enrolment.models import Registration, StudentSource
from enrolment.registration import pupil_register
from enrolment.review import county_review_needed
from kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed
from provinces import calendar
from provinces.models import ProvincePolicy
from registry.models import Pupil, PupilStatus
from registry.records import PupilData
from tests.enrolment.test_registration import api_body, id_record
from tests.registry.test_nohukou import no_id_record
from tests.rosters.test_check import _check
from tests.rosters.test_support import csv_bytes, roster_media, roster_row, rows_of  # noqa: F401
from transfers import rules as transfer_rules
from workflow.models import ChainEvent, OpenBusiness, WorkItem


def entry_record(school, **changes) -> PupilData:
    """A grade-1 pupil with a resident ID: the entry grade, no source needed."""
    return dataclasses.replace(id_record(school), **{"grade": 1, "source": "", "source_reason": "", **changes})


def reg_of(pupil) -> Registration:
    return Registration.objects.get(pupil=pupil)


def open_items(row) -> list[WorkItem]:
    return list(WorkItem.objects.filter(content_type=ContentType.objects.get_for_model(Registration),
                                        object_id=row.pk, state=WorkItem.State.OPEN))


# --- the policy: which registrations the county reviews ---------------------------------

@pytest.mark.parametrize(
    ("no_hukou", "grade", "source", "review_all", "needed"),
    [
        (False, 1, "normal", False, False),
        (False, 7, "normal", False, False),
        (False, 10, "", False, False),
        (True, 1, "normal", False, True),  # 无户籍
        (False, 3, "normal", False, True),  # outside the entry grades
        (False, 1, "other_province", False, True),  # 外省转入
        (False, 1, "returned", False, True),  # 回国
        (False, 1, "hmt_foreign", False, False),
        (False, 1, "normal", True, True),  # the province requires the county for all
    ],
)
def test_county_review_policy(no_hukou, grade, source, review_all, needed):
    policy = ProvincePolicy(province_id="44", registration_county_review_all=review_all)
    assert county_review_needed(no_hukou=no_hukou, grade=grade, source=source, policy=policy) is needed


# --- registering: 待审核, the number, the first step ------------------------------------

def test_a_registration_is_pending_with_its_number_and_waits_for_the_school(world):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    assert pupil.status == PupilStatus.PENDING and pupil.national_number.startswith("L440106")
    row = reg_of(pupil)
    assert row.state == "school_review" and row.county_review is False and row.initiator == world["a1"].operator
    [item] = open_items(row)
    assert item.school_id == world.school_a1.pk and item.role == Membership.Role.APPROVER
    assert item.due_on == calendar.due_date(item.opened_on, province_code="440106")
    assert item.url == f"/registrations/{row.pk}/"
    assert OpenBusiness.objects.filter(pupil=pupil, kind="registration").exists()
    assert ChainEvent.objects.filter(object_id=row.pk, action="register").count() == 1


def test_the_school_approver_admits_an_entry_grade_pupil(world):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    row = registration.registration_approve(user=world["a1"].approver, registration_id=reg_of(pupil).pk)
    pupil.refresh_from_db()
    assert row.state == "approved" and pupil.status == PupilStatus.ENROLLED
    assert row.school_approver == world["a1"].approver and row.decided_at is not None
    assert not open_items(row) and not OpenBusiness.objects.filter(pupil=pupil).exists()
    assert pupil.history.filter(kind="registration_approved").exists()


def test_a_no_id_pupil_needs_the_school_and_then_the_county(world):
    pupil = pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1))
    row = reg_of(pupil)
    assert pupil.national_number.startswith("J") and row.county_review is True
    registration.registration_approve(user=world["a1"].approver, registration_id=row.pk)
    row.refresh_from_db()
    pupil.refresh_from_db()
    assert row.state == "county_review" and pupil.status == PupilStatus.PENDING
    [item] = open_items(row)
    assert item.division_id == "440106" and item.school_id is None
    registration.registration_approve(user=world["county_a"].approver, registration_id=row.pk)
    pupil.refresh_from_db()
    assert pupil.status == PupilStatus.ENROLLED and reg_of(pupil).county_approver == world["county_a"].approver


def test_the_county_cannot_act_before_the_school(world):
    pupil = pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1))
    with pytest.raises(Conflict) as exc:
        registration.registration_approve(user=world["county_a"].approver, registration_id=reg_of(pupil).pk)
    assert exc.value.code == "step_not_reached"


@pytest.mark.parametrize(("changes", "county"), [
    ({"source": "外省转入"}, True),
    ({"source": "回国"}, True),
    ({"source": "港澳台及外籍"}, False),
    ({"grade": 2, "source": "正常入学", "source_reason": "补录"}, True),
])
def test_sources_and_grades_that_need_the_county(world, changes, county):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1, **changes))
    assert reg_of(pupil).county_review is county


def test_the_province_can_require_the_county_for_all(world):
    ProvincePolicy.objects.create(province_id="44", registration_county_review_all=True)
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    assert reg_of(pupil).county_review is True


# --- the two-person rule and the roles --------------------------------------------------

def _operator_made_approver(world):
    """The operator who registered is later made an approver of the same school."""
    Membership.objects.filter(user=world["a1"].operator).update(role=Membership.Role.APPROVER)
    world["a1"].operator.refresh_from_db()


def test_the_person_who_registered_cannot_approve(world):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    _operator_made_approver(world)
    with pytest.raises(Forbidden) as exc:
        registration.registration_approve(user=world["a1"].operator, registration_id=reg_of(pupil).pk)
    assert exc.value.code == "two_person_rule"
    with pytest.raises(Forbidden):
        registration.registration_refuse(user=world["a1"].operator, registration_id=reg_of(pupil).pk, reason="x")


def test_an_operator_cannot_approve(world):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    with pytest.raises(Forbidden) as exc:
        registration.registration_approve(user=world["a1"].operator, registration_id=reg_of(pupil).pk)
    assert exc.value.code == "role_forbidden"


# --- refusal ----------------------------------------------------------------------------

def test_refusal_needs_a_reason(world):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    with pytest.raises(ValidationFailed) as exc:
        registration.registration_refuse(user=world["a1"].approver, registration_id=reg_of(pupil).pk, reason=" ")
    assert exc.value.code == "reason_required"


def test_a_refused_record_is_closed_not_deleted_and_its_number_never_comes_back(world):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    number = pupil.national_number
    row = registration.registration_refuse(user=world["a1"].approver, registration_id=reg_of(pupil).pk,
                                           reason="材料不全")
    pupil.refresh_from_db()
    assert row.state == "refused" and row.refusal_reason == "材料不全"
    assert pupil.status == PupilStatus.NOT_ADMITTED and pupil.national_number == number
    assert pupil.history.filter(kind="registration_refused", summary__contains="材料不全").exists()
    assert not OpenBusiness.objects.filter(pupil=pupil).exists() and not open_items(row)
    again = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))  # the ID is free again
    assert again.national_number != number and Pupil.objects.filter(national_number=number).exists()


def test_a_refused_registration_cannot_be_approved_later(world):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    registration.registration_refuse(user=world["a1"].approver, registration_id=reg_of(pupil).pk, reason="不符")
    with pytest.raises(Conflict) as exc:
        registration.registration_approve(user=world["a1"].approver, registration_id=reg_of(pupil).pk)
    assert exc.value.code == "state_conflict"


# --- until approved: no transfer, no status change, no G number -------------------------

def test_a_pending_pupil_cannot_transfer(world):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    refusal = transfer_rules.start_refusal(pupil, origin=world.school_a1, dest=world.school_b1, dest_grade=1,
                                           today=dt.date(2026, 10, 12))
    assert refusal is not None and refusal.code == "registration_pending"


def test_a_pending_pupil_has_no_status_change(world, client, api_token):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    response = client.post("/api/v1/changes", {"pupil": pupil.national_number, "kind": "suspend",
                                               "payload": {"start": "2026-11-23", "until": "2027-06-01"}},
                           content_type="application/json", **api_token(world["a1"].operator))
    assert response.status_code in (409, 422) and response.json()["code"] == "registration_pending"


def test_a_pending_pupil_is_not_promoted_to_g(world):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    Pupil.objects.filter(pk=pupil.pk).update(identity_status=Pupil.IdentityStatus.PASSED)
    result = promote_to_g(user=world["province"].admin, pupils=[pupil.national_number])
    assert result["promoted"] == [] and [r["code"] for r in result["refused"]] == ["registration_pending"]
    assert promote_to_g(user=world["province"].admin)["promoted"] == []  # the province-wide run skips it


# --- 学生来源 and reason outside the entry grades ---------------------------------------

def test_outside_an_entry_grade_source_and_reason_are_required(world):
    data = dataclasses.replace(id_record(world.school_a1), source="", source_reason="")
    with pytest.raises(ValidationFailed) as exc:
        pupil_register(user=world["a1"].operator, data=data)
    problems = {(d["code"], d["field"]) for d in exc.value.details}
    assert problems == {("source_required", "source"), ("source_reason_required", "source_reason")}
    assert not Pupil.objects.filter(name=data.name).exists()


def test_an_unknown_source_is_refused(world):
    with pytest.raises(ValidationFailed) as exc:
        pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1, source="外星"))
    assert exc.value.code == "invalid_source" and exc.value.field == "source"


def test_the_source_is_kept_by_its_code_or_its_name(world):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1, source="回国"))
    assert reg_of(pupil).source == StudentSource.RETURNED


def test_the_api_names_each_missing_field(world, client, api_token):
    body = api_body(dataclasses.replace(id_record(world.school_a1), source="", source_reason=""))
    response = client.post("/api/v1/pupils", body, content_type="application/json", **api_token(world["a1"].operator))
    assert response.status_code == 422
    assert {d["field"] for d in response.json()["details"]} >= {"source", "source_reason"}


# --- tenancy ----------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["b1", "county_b", "other_county", "other_province"])
def test_a_foreign_unit_neither_sees_nor_approves(world, who, client, api_token):
    pupil = pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1))
    row = reg_of(pupil)
    user = world[who].approver
    with pytest.raises(NotFound):
        registration.registration_approve(user=user, registration_id=row.pk)
    headers = api_token(user)
    assert client.get(f"/api/v1/registrations/{row.pk}", **headers).status_code == 404
    assert client.post(f"/api/v1/registrations/{row.pk}/approve", {}, content_type="application/json",
                       **headers).status_code == 404
    assert client.get("/api/v1/registrations", **headers).json()["items"] == []
    row.refresh_from_db()
    assert row.state == "school_review"


def test_another_school_of_the_same_county_cannot_approve(world):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    with pytest.raises(NotFound):
        registration.registration_approve(user=world["a2"].approver, registration_id=reg_of(pupil).pk)


def test_the_pending_record_is_visible_to_its_school_and_county(world, client, api_token):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    for who in ("a1", "county_a"):
        response = client.get(f"/api/v1/pupils/{pupil.national_number}", **api_token(world[who].approver))
        assert response.status_code == 200 and response.json()["status"] == "pending"


# --- the API ----------------------------------------------------------------------------

def test_api_lists_pending_registrations_with_their_step_and_due_date(world, client, api_token):
    pupil = pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1))
    row = reg_of(pupil)
    [item] = open_items(row)
    listing = client.get("/api/v1/registrations", **api_token(world["county_a"].approver)).json()
    [out] = listing["items"]
    assert out["national_number"] == pupil.national_number and out["current_step"] == "school_review"
    assert out["waiting_for"]["code"] == world.school_a1.code and out["due_date"] == item.due_on.isoformat()
    assert out["county_review"] is True
    waiting = client.get("/api/v1/registrations?waiting=true", **api_token(world["county_a"].approver)).json()
    assert waiting["items"] == []  # not yet at the county's step
    mine = client.get("/api/v1/registrations?waiting=true", **api_token(world["a1"].approver)).json()
    assert [r["id"] for r in mine["items"]] == [row.pk]


def test_api_approve_then_refuse(world, client, api_token):
    pupil = pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1))
    row = reg_of(pupil)
    school = api_token(world["a1"].approver)
    detail = client.get(f"/api/v1/registrations/{row.pk}", **school).json()
    assert detail["actions"] == ["approve", "refuse", "send_back"]
    out = client.post(f"/api/v1/registrations/{row.pk}/approve", {}, content_type="application/json", **school).json()
    assert out["current_step"] == "county_review" and out["waiting_for"]["code"] == "440106"
    county = api_token(world["county_a"].approver)
    refused = client.post(f"/api/v1/registrations/{row.pk}/refuse", json.dumps({"reason": ""}),
                          content_type="application/json", **county)
    assert refused.status_code == 422 and refused.json()["code"] == "reason_required"
    out = client.post(f"/api/v1/registrations/{row.pk}/refuse", json.dumps({"reason": "户籍材料不实"}),
                      content_type="application/json", **county).json()
    assert out["state"] == "refused" and out["pupil_status"] == "not_admitted" and out["current_step"] is None
    again = client.post(f"/api/v1/registrations/{row.pk}/approve", {}, content_type="application/json", **county)
    assert again.status_code == 409 and again.json()["code"] == "state_conflict"


def test_api_registration_answers_pending(world, client, api_token):
    body = api_body(entry_record(world.school_a1))
    response = client.post("/api/v1/pupils", body, content_type="application/json", **api_token(world["a1"].operator))
    assert response.status_code == 201 and response.json()["status"] == "pending"


# --- the pages --------------------------------------------------------------------------

def test_the_work_item_leads_to_the_review_page_with_its_buttons(world, login):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    row = reg_of(pupil)
    client = login(world["a1"].approver)
    home = client.get("/").content.decode()
    assert f"/registrations/{row.pk}/" in home
    page = client.get(f"/registrations/{row.pk}/").content.decode()
    assert 'data-testid="action-approve"' in page and 'data-testid="action-refuse"' in page
    assert pupil.national_number in page
    response = client.post(f"/registrations/{row.pk}/refuse/", {"reason": "重复登记"})
    assert response.status_code == 302
    pupil.refresh_from_db()
    assert pupil.status == PupilStatus.NOT_ADMITTED


def test_the_operator_sees_the_page_without_buttons(world, login):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    page = login(world["a1"].operator).get(f"/registrations/{reg_of(pupil).pk}/").content.decode()
    assert 'data-testid="action-approve"' not in page


def test_the_list_page_shows_the_pending_registrations_of_the_scope(world, login):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    assert pupil.national_number in login(world["county_a"].approver).get("/registrations/").content.decode()
    assert pupil.national_number not in login(world["b1"].approver).get("/registrations/").content.decode()
    assert login(world["b1"].approver).get(f"/registrations/{reg_of(pupil).pk}/").status_code == 404


def test_a_page_post_by_the_author_is_refused_with_its_code(world, login):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    _operator_made_approver(world)
    response = login(world["a1"].operator).post(f"/registrations/{reg_of(pupil).pk}/approve/", follow=True)
    assert "two_person_rule" in response.content.decode()
    pupil.refresh_from_db()
    assert pupil.status == PupilStatus.PENDING


# --- the roster import ------------------------------------------------------------------

def test_roster_rows_that_create_pupils_are_pending_with_their_review(world):
    from rosters.parsing import Row
    from rosters.writing import write_rows

    rows = []
    for n, data in enumerate([entry_record(world.school_a1),
                              no_id_record(world.school_a1, name="林小湖")], start=2):
        row = Row(number=n, cells=[])
        row.data, row.school, row.outcome, row.likely = data, world.school_a1, "new", []
        rows.append(row)
    from django.db import transaction

    from accounts.audit import acting_as

    with transaction.atomic(), acting_as(world["a1"].operator):
        assert write_rows(user=world["a1"].operator, rows=rows) == 2
    pupils = {p.name: p for p in Pupil.objects.filter(name__in=["黄小梅", "林小湖"])}
    assert {p.status for p in pupils.values()} == {PupilStatus.PENDING}
    assert reg_of(pupils["黄小梅"]).county_review is False and reg_of(pupils["林小湖"]).county_review is True
    for pupil in pupils.values():
        [item] = open_items(reg_of(pupil))
        assert item.school_id == world.school_a1.pk and item.due_on is not None
        assert OpenBusiness.objects.filter(pupil=pupil, kind="registration").exists()
    registration.registration_approve(user=world["a1"].approver, registration_id=reg_of(pupils["黄小梅"]).pk)
    assert Pupil.objects.get(name="黄小梅").status == PupilStatus.ENROLLED


@pytest.mark.usefixtures("roster_media")
def test_a_roster_row_outside_an_entry_grade_without_source_is_refused(world):

    job = _check(world["a1"].operator, csv_bytes([roster_row(world.school_a1, seq=5, source="", source_reason="")]))
    problems = rows_of(job)[2]["problems"]
    assert {(p["code"], p["column"]) for p in problems} == {("source_required", "学生来源"),
                                                             ("source_reason_required", "注册原因")}




def test_the_pupil_page_links_a_pending_record_to_its_review(world, login):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    page = login(world["a1"].operator).get(f"/pupils/{pupil.national_number}/").content.decode()
    assert f"/registrations/{reg_of(pupil).pk}/" in page and "待学校审核" in page


def test_the_form_names_the_missing_source_and_reason_on_their_fields(world, login):
    from tests.enrolment.test_registration import form_post

    data = dataclasses.replace(id_record(world.school_a1), source="", source_reason="")
    content = login(world["a1"].operator).post("/pupils/new/", form_post(data)).content.decode()
    assert 'data-code="source_required" data-field="source"' in content
    assert 'data-code="source_reason_required" data-field="source_reason"' in content
    assert content.count('class="field-error"') >= 2
    assert not Pupil.objects.filter(name=data.name).exists()


def test_at_the_county_step_only_the_schools_county_acts(world):
    pupil = pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1))
    row = reg_of(pupil)
    registration.registration_approve(user=world["a1"].approver, registration_id=row.pk)
    for who in ("county_b", "other_county"):
        with pytest.raises(NotFound):
            registration.registration_approve(user=world[who].approver, registration_id=row.pk)
    with pytest.raises(Forbidden) as exc:  # the city sees it but acts at no step
        registration.registration_approve(user=world["city"].approver, registration_id=row.pk)
    assert exc.value.code == "not_a_party"
    with pytest.raises(Conflict):  # the school has done its step
        registration.registration_approve(user=world["a1"].approver, registration_id=row.pk)
    row.refresh_from_db()
    assert row.state == "county_review"


def test_a_record_that_left_review_otherwise_is_not_admitted(world):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    Pupil.objects.filter(pk=pupil.pk).update(status=PupilStatus.DELETED)  # e.g. 删除 of a duplicate case
    with pytest.raises(Conflict) as exc:
        registration.registration_approve(user=world["a1"].approver, registration_id=reg_of(pupil).pk)
    assert exc.value.code == "registration_record_changed"
    pupil.refresh_from_db()
    assert pupil.status == PupilStatus.DELETED
    registration.registration_refuse(user=world["a1"].approver, registration_id=reg_of(pupil).pk, reason="已删除")
    pupil.refresh_from_db()
    assert pupil.status == PupilStatus.DELETED and reg_of(pupil).state == "refused"
