"""The API contract: full chain with bearer tokens, error JSON, 409 on a moved step."""

from __future__ import annotations

import json

import pytest

from registry.models import Pupil
from tests.transfers.chain import ref_for

pytestmark = pytest.mark.usefixtures("open_season")


def _post(client, url, token, body=None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json", **token)


def test_full_chain_through_the_api(world, client, api_token):
    pupil = world.pupils["a1"]
    dest_op, dest_ap = api_token(world["b1"].operator), api_token(world["b1"].approver)
    response = _post(client, "/api/v1/transfers", dest_op, {
        "pupil_ref": ref_for(world["b1"].operator, pupil), "origin_school_code": world.school_a1.code,
        "dest_school_code": world.school_b1.code, "dest_grade": 3, "dest_class_number": 2, "reason": "随迁",
    })
    assert response.status_code == 201, response.content
    body = response.json()
    tid = body["id"]
    assert body["status"] == "draft" and body["current_step"] == "draft"
    assert body["timeline"][0]["action"] == "apply"
    assert _post(client, f"/api/v1/transfers/{tid}/submit", dest_ap).json()["status"] == "dest_county"
    for unit, expected in (("county_b", "origin_school"), ("a1", "origin_county"), ("county_a", "completed")):
        response = _post(client, f"/api/v1/transfers/{tid}/approve", api_token(world[unit].approver))
        assert response.status_code == 200, response.content
        assert response.json()["status"] == expected
    detail = client.get(f"/api/v1/transfers/{tid}", **dest_op).json()
    assert detail["current_step"] is None
    assert [s["to_state"] for s in detail["timeline"]][-1] == "completed"
    assert detail["steps"] == ["draft", "dest_county", "origin_school", "origin_county"]
    assert Pupil.objects.get(pk=pupil.pk).school_id == world.school_b1.pk
    snap = client.get(f"/api/v1/transfers/{tid}/snapshot", **api_token(world["a1"].operator))
    assert snap.status_code == 200 and snap.json()["record"]["school_code"] == world.school_a1.code


def _draft(world, client, api_token):
    pupil = world.pupils["a1"]
    response = _post(client, "/api/v1/transfers", api_token(world["b1"].operator), {
        "pupil_ref": ref_for(world["b1"].operator, pupil), "origin_school_code": world.school_a1.code,
        "dest_grade": 3, "dest_class_number": 1, "reason": "随迁",
    })
    return response.json()["id"]


def test_refusal_rules_answer_with_code_message_field(world, client, api_token):
    response = _post(client, "/api/v1/transfers", api_token(world["b1"].operator), {
        "pupil_ref": ref_for(world["b1"].operator, world.pupils["a1"]), "origin_school_code": world.school_a1.code,
        "dest_grade": 5, "dest_class_number": 1, "reason": "随迁",
    })
    assert response.status_code == 422
    assert response.json()["code"] == "grade_mismatch" and response.json()["field"] == "dest_grade"
    assert "年级" in response.json()["message"]


def test_second_approval_answers_409_with_the_current_state(world, client, api_token):
    tid = _draft(world, client, api_token)
    _post(client, f"/api/v1/transfers/{tid}/submit", api_token(world["b1"].approver))
    county = api_token(world["county_b"].approver)
    assert _post(client, f"/api/v1/transfers/{tid}/approve", county).status_code == 200
    again = _post(client, f"/api/v1/transfers/{tid}/approve", county)
    assert again.status_code == 409
    assert again.json()["code"] == "state_conflict" and again.json()["details"]["state"] == "origin_school"


def test_refuse_without_reason_is_refused(world, client, api_token):
    tid = _draft(world, client, api_token)
    _post(client, f"/api/v1/transfers/{tid}/submit", api_token(world["b1"].approver))
    response = _post(client, f"/api/v1/transfers/{tid}/refuse", api_token(world["county_b"].approver), {"reason": ""})
    assert response.status_code == 422 and response.json()["code"] == "reason_required"


def test_outsiders_get_404_and_no_data(world, client, api_token):
    tid = _draft(world, client, api_token)
    for unit in ("a1", "b2", "county_a", "county_b", "other_province"):
        user = world[unit].admin or world[unit].approver
        response = client.get(f"/api/v1/transfers/{tid}", **api_token(user))
        assert response.status_code == 404 and "李娜" not in response.content.decode()
        assert client.get("/api/v1/transfers?status=draft", **api_token(user)).json()["items"] == []


def test_list_filters_at_my_step(world, client, api_token):
    tid = _draft(world, client, api_token)
    _post(client, f"/api/v1/transfers/{tid}/submit", api_token(world["b1"].approver))
    county = api_token(world["county_b"].approver)
    assert [t["id"] for t in client.get("/api/v1/transfers?at_my_step=true", **county).json()["items"]] == [tid]
    city = api_token(world["city"].approver)
    assert client.get("/api/v1/transfers?at_my_step=true", **city).json()["items"] == []
    assert [t["id"] for t in client.get("/api/v1/transfers", **city).json()["items"]] == [tid]


def test_lookup_endpoint_is_minimal_and_explains_when_nothing_is_found(world, client, api_token):
    token = api_token(world["b1"].operator)
    def ask(name):
        return client.post("/api/v1/transfers/lookup", {"origin_school_code": world.school_a1.code, "name": name},
                           content_type="application/json", **token).json()

    found = ask("李娜")
    assert set(found["found"][0]) == {"ref", "name", "sex", "birth_date", "grade", "class_number"}
    none = ask("李纳")
    assert none["found"] == [] and "淞" in none["hint"]


def test_the_lookup_is_a_post_and_its_old_get_writes_nothing(world, client, api_token):
    from transfers.models import TransferLookup

    token = api_token(world["b1"].operator)
    response = client.get(f"/api/v1/transfers/lookup?origin_school_code={world.school_a1.code}&name=李娜", **token)
    assert response.status_code == 405 and response.json()["code"] == "post_required"
    assert not TransferLookup.objects.exists()
    schema = client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/transfers/lookup"]
    assert set(schema) == {"post"}


def test_attachment_upload_checks_bytes(world, client, api_token):
    tid = _draft(world, client, api_token)
    from django.core.files.uploadedfile import SimpleUploadedFile

    token = api_token(world["b1"].operator)
    bad = client.post(f"/api/v1/transfers/{tid}/attachments",
                      {"files": [SimpleUploadedFile("x.pdf", b"not a pdf")]}, **token)
    assert bad.status_code == 422 and bad.json()["code"] == "proof_type"
    assert "attachment_type" in bad.json()["aliases"]


def test_each_open_step_shows_its_unit_and_due_date_and_none_once_closed(world, client, api_token):
    from django.utils import timezone

    from provinces import calendar
    from workflow.models import WorkItem

    def due(code):  # the 待办's deadline: the same rule, from the day the step was reached
        return calendar.due_date(timezone.localdate(), province_code=code).isoformat()

    tid = _draft(world, client, api_token)
    token = api_token(world["b1"].operator)
    body = client.get(f"/api/v1/transfers/{tid}", **token).json()
    assert (body["current_step"], body["current_step_label"]) == ("draft", "待学校审核")
    assert body["waiting_for"] == {"code": world.school_b1.code, "name": "海珠第一小学"}
    assert body["due_date"] == due("440105")
    body = _post(client, f"/api/v1/transfers/{tid}/submit", api_token(world["b1"].approver)).json()
    assert (body["current_step"], body["current_step_label"]) == ("dest_county", "待转入区县审核")
    assert body["waiting_for"] == {"code": "440105", "name": "广东省广州市海珠区教育行政部门"}
    item = WorkItem.objects.get(object_id=tid, kind="transfer", state="open")
    assert body["due_date"] == item.due_on.isoformat() == due("440105")
    listed = client.get("/api/v1/transfers", **token).json()["items"]
    assert [(t["id"], t["current_step"], t["waiting_for"], t["due_date"]) for t in listed] == [
        (tid, "dest_county", body["waiting_for"], body["due_date"])
    ]
    body = _post(client, f"/api/v1/transfers/{tid}/approve", api_token(world["county_b"].approver)).json()
    assert body["waiting_for"] == {"code": world.school_a1.code, "name": "天河第一小学"}
    body = _post(client, f"/api/v1/transfers/{tid}/refuse", api_token(world["a1"].approver), {"reason": "不符合"}).json()
    assert body["status"] == "refused"
    assert [body[k] for k in ("current_step", "current_step_label", "waiting_for", "due_date")] == [None] * 4
