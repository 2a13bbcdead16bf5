"""信息维护 (record_update): the non-key fields and family members' phones change through a
light chain — the school's operator proposes, the school's approver approves and applies it;
no county step. Old and new values are kept in the history."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from changes import requests
from changes.models import ChangeRequest, State
from kernel.errors import BusinessRefused, Forbidden, NotFound, ValidationFailed
from registry.models import Guardian, PupilStatus
from tests.changes.conftest import open_request
from workflow.models import OpenBusiness, WorkItem

TODAY = dt.date(2026, 11, 23)


def initial_post(pupil) -> dict:
    """What the browser posts for the record-update form left as it was shown."""
    from changes.forms import ChangeRequestForm

    form = ChangeRequestForm(kind="record_update", pupil=pupil)
    data = {}
    for name, field in form.fields.items():
        value = form.get_initial_for_field(field, name)
        if value in (None, False):
            continue
        data[name] = "on" if value is True else value
    return data


def test_the_school_approval_applies_it_with_old_and_new_values_in_the_history(world):
    pupil = world.pupils["a1"]
    request = open_request(world, "record_update", {"left_behind": "1", "hukou_division_code": "441900",
                                                    "guardian1_phone": "13800138000"}, today=TODAY)
    assert request.state == State.SCHOOL_REVIEW
    assert OpenBusiness.objects.get(pupil=pupil).kind == "record_update"
    [item] = WorkItem.objects.filter(object_id=request.pk, state="open", kind="record_update")
    assert item.school_id == world.school_a1.pk
    done = requests.change_request_approve(user=world["a1"].approver, request_id=request.pk)
    assert done.state == State.APPROVED  # no county step
    assert not WorkItem.objects.filter(object_id=request.pk, state="open").exists()
    pupil.refresh_from_db()
    assert pupil.left_behind == "1" and pupil.hukou_division_id == "441900"
    assert Guardian.objects.get(pupil=pupil, order=1).phone == "13800138000"
    entry = pupil.history.get(kind="change_record_update")
    assert entry.data["before"]["left_behind"] == "0" and entry.data["after"]["left_behind"] == "1"
    from registry import codes

    assert f"是否留守儿童：{codes.label('left_behind', '0')} → {codes.label('left_behind', '1')}" in entry.summary
    assert "户口所在地：— → 广东省东莞市" in entry.summary
    assert "家庭成员1联系电话：— → 13800138000" in entry.summary


def test_the_summary_names_codes_by_their_names(world):
    from registry import codes

    request = open_request(world, "record_update", {"boarding": "2"}, today=TODAY)
    requests.change_request_approve(user=world["a1"].approver, request_id=request.pk)
    entry = world.pupils["a1"].history.get(kind="change_record_update")
    assert f"就读方式：{codes.label('boarding', '1')} → {codes.label('boarding', '2')}" in entry.summary


def test_a_code_may_be_given_by_its_name(world):
    from registry import codes

    name = codes.label("migrant", "1")
    request = open_request(world, "record_update", {"migrant": name}, today=TODAY)
    assert request.payload == {"migrant": "1"}


@pytest.mark.parametrize(("payload", "code", "field"), [
    ({"name": "李娜娜"}, "unknown_field", "name"),  # a key field stays on the key change
    ({"id_number": "x"}, "unknown_field", "id_number"),
    ({"guardian9_phone": "13800138000"}, "unknown_field", "guardian9_phone"),
    ({"left_behind": "7"}, "unknown_code", "left_behind"),
    ({"health": "好"}, "unknown_code", "health"),
    ({"hukou_division_code": "441999"}, "unknown_division", "hukou_division_code"),
    ({"guardian1_phone": "call me"}, "invalid_phone", "guardians[1].phone"),
    ({"left_behind": "0"}, "no_change", None),
    ({}, "no_change", None),
])
def test_bad_values_are_refused_with_their_code_and_field(world, payload, code, field):
    with pytest.raises(ValidationFailed) as exc:
        open_request(world, "record_update", payload, today=TODAY)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert not ChangeRequest.objects.exists()


def test_the_key_change_still_refuses_non_key_fields(world):
    with pytest.raises(ValidationFailed) as exc:
        open_request(world, "key_change", {"left_behind": "1"}, today=TODAY)
    assert exc.value.code == "unknown_field"


def test_a_record_no_longer_active_is_refused(world):
    pupil = world.pupils["a1"]
    pupil.status = PupilStatus.WITHDRAWN
    pupil.save()
    with pytest.raises(BusinessRefused) as exc:
        open_request(world, "record_update", {"left_behind": "1"}, today=TODAY)
    assert exc.value.code == "not_active"


def test_the_proposer_cannot_approve_and_the_county_cannot_open(world):
    request = open_request(world, "record_update", {"left_behind": "1"}, user=world["a1"].approver, today=TODAY)
    with pytest.raises(Forbidden) as exc:
        requests.change_request_approve(user=world["a1"].approver, request_id=request.pk)
    assert exc.value.code == "two_person_rule"
    requests.change_request_withdraw(user=world["a1"].approver, request_id=request.pk)
    with pytest.raises(Forbidden) as exc:
        open_request(world, "record_update", {"left_behind": "1"}, user=world["county_a"].operator, today=TODAY)
    assert exc.value.code == "school_only"


def test_another_school_neither_opens_nor_approves(world):
    with pytest.raises(NotFound):
        open_request(world, "record_update", {"left_behind": "1"}, user=world["b1"].operator, today=TODAY)
    request = open_request(world, "record_update", {"left_behind": "1"}, today=TODAY)
    for user in (world["b1"].approver, world["county_a"].approver, world["other_province"].admin):
        with pytest.raises((Forbidden, NotFound)):
            requests.change_request_approve(user=user, request_id=request.pk)
    request.refresh_from_db()
    assert request.state == State.SCHOOL_REVIEW


def test_the_rules_run_again_at_approval(world):
    request = open_request(world, "record_update", {"left_behind": "1"}, today=TODAY)
    pupil = world.pupils["a1"]
    pupil.left_behind = "1"  # changed meanwhile (e.g. by a roster import)
    pupil.save()
    with pytest.raises(ValidationFailed) as exc:
        requests.change_request_approve(user=world["a1"].approver, request_id=request.pk)
    assert exc.value.code == "no_change"


def test_the_api_takes_kind_and_payload(world, client, api_token):
    body = {"pupil": world.pupils["a1"].national_number, "kind": "record_update",
            "payload": {"health": "20", "guardian1_phone": "020-12345678"}}
    response = client.post("/api/v1/changes", data=json.dumps(body), content_type="application/json",
                           **api_token(world["a1"].operator))
    assert response.status_code == 201, response.content
    request_id = response.json()["id"]
    response = client.post(f"/api/v1/changes/{request_id}/approve", data="{}", content_type="application/json",
                           **api_token(world["a1"].approver))
    assert response.status_code == 200 and response.json()["state"] == "approved"
    bad = {**body, "payload": {"name": "新名"}}
    response = client.post("/api/v1/changes", data=json.dumps(bad), content_type="application/json",
                           **api_token(world["a1"].operator))
    assert response.status_code == 422 and response.json()["code"] == "unknown_field"


def test_the_page_offers_the_current_values_and_sends_only_what_changed(world, login):
    client = login(world["a1"].operator)
    number = world.pupils["a1"].national_number
    assert "信息维护" in client.get(f"/changes/new/?pupil={number}").content.decode()
    page = client.get(f"/changes/new/?pupil={number}&kind=record_update").content.decode()
    assert 'name="left_behind"' in page and 'name="guardian1_phone"' in page and 'name="hukou_division_code"' in page
    response = client.post(f"/changes/new/?pupil={number}&kind=record_update",
                           {**initial_post(world.pupils["a1"]), "left_behind": "2", "reason": "年度留守儿童登记"})
    request = ChangeRequest.objects.get()
    assert response.status_code == 302 and request.payload == {"left_behind": "2"}
    detail = login(world["a1"].approver).get(f"/changes/{request.pk}/").content.decode()
    assert "是否留守儿童" in detail
