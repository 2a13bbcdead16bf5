"""The same actions through /api/v1: error shape, tenancy, token and session auth."""

from __future__ import annotations

import datetime as dt
import json

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.changes.conftest import GRADUATION_YEAR, PDF

SUSPEND = {"start": "2026-11-23", "until": "2027-06-30"}


def _post(client, path, body=None, **headers):
    return client.post(path, data=json.dumps(body or {}), content_type="application/json", **headers)


def test_a_request_through_its_three_steps_by_api(world, client, api_token):
    number = world.pupils["a1"].national_number
    response = _post(client, "/api/v1/changes", {"pupil": number, "kind": "suspend", "payload": SUSPEND},
                     **api_token(world["a1"].operator))
    assert response.status_code == 201, response.content
    request_id = response.json()["id"]
    assert response.json()["state"] == "school_review"
    response = _post(client, f"/api/v1/changes/{request_id}/approve", **api_token(world["a1"].approver))
    assert response.json()["state"] == "county_review"
    response = _post(client, f"/api/v1/changes/{request_id}/approve", {"note": "同意"},
                     **api_token(world["county_a"].approver))
    body = response.json()
    assert body["state"] == "approved"
    assert [e["to_state"] for e in body["timeline"]] == ["draft", "school_review", "county_review", "approved"]
    assert body["applied"]["after"]["status"] == "suspended"


def test_withdrawal_by_api(world, senior, client, api_token):
    from tests.factories import make_pupil

    pupil = make_pupil(senior, name="高三学生", grade=12, birth_date=dt.date(2008, 3, 3))
    body = {"pupil": pupil.national_number, "kind": "withdrawal", "payload": {"date": "2026-11-20"}}
    response = _post(client, "/api/v1/changes", body, **api_token(world["senior"].operator))
    assert response.status_code == 422 and response.json()["code"] == "reason_required"
    response = _post(client, "/api/v1/changes", {**body, "reason": "出国留学"}, **api_token(world["senior"].operator))
    assert response.status_code == 201, response.content
    request_id = response.json()["id"]
    _post(client, f"/api/v1/changes/{request_id}/approve", **api_token(world["senior"].approver))
    response = _post(client, f"/api/v1/changes/{request_id}/approve", **api_token(world["county_a"].approver))
    assert response.json()["applied"]["after"]["status"] == "withdrawn"
    compulsory = {**body, "pupil": world.pupils["a1"].national_number, "reason": "本人申请"}
    response = _post(client, "/api/v1/changes", compulsory, **api_token(world["a1"].operator))
    assert response.status_code == 422 and response.json()["code"] == "withdrawal_compulsory"


def test_errors_have_code_message_field(world, client, api_token):
    number = world.pupils["a1"].national_number
    response = _post(client, "/api/v1/changes",
                     {"pupil": number, "kind": "suspend", "payload": {"start": "2026-11-23", "until": "2028-01-01"}},
                     **api_token(world["a1"].operator))
    assert response.status_code == 422
    assert response.json() == {"code": "suspension_too_long", "message": response.json()["message"], "field": "until"}
    assert "一年" in response.json()["message"]


def test_double_approval_is_409(world, client, api_token):
    number = world.pupils["a1"].national_number
    request_id = _post(client, "/api/v1/changes", {"pupil": number, "kind": "suspend", "payload": SUSPEND},
                       **api_token(world["a1"].operator)).json()["id"]
    headers = api_token(world["a1"].approver)
    assert _post(client, f"/api/v1/changes/{request_id}/approve", **headers).status_code == 200
    response = _post(client, f"/api/v1/changes/{request_id}/approve", **headers)
    assert response.status_code == 409 and response.json()["code"] == "state_conflict"
    assert response.json()["aliases"] == ["state_changed"]


def test_requests_outside_scope_are_404_without_data(world, client, api_token):
    number = world.pupils["a1"].national_number
    request_id = _post(client, "/api/v1/changes", {"pupil": number, "kind": "suspend", "payload": SUSPEND},
                       **api_token(world["a1"].operator)).json()["id"]
    for user in (world["b1"].operator, world["county_b"].approver, world["other_province"].admin):
        headers = api_token(user)
        response = client.get(f"/api/v1/changes/{request_id}", **headers)
        assert response.status_code == 404 and number not in response.content.decode()
        assert client.get("/api/v1/changes", **headers).json()["items"] == []
        assert _post(client, f"/api/v1/changes/{request_id}/withdraw", **headers).status_code == 404
    assert client.get(f"/api/v1/changes/{request_id}", **api_token(world["city"].operator)).status_code == 200


def test_evidence_upload_by_api(world, client, api_token):
    number = world.pupils["a1"].national_number
    request_id = _post(client, "/api/v1/changes", {"pupil": number, "kind": "death", "payload": {"date": "2026-11-20"},
                                                    "submit": False}, **api_token(world["a1"].operator)).json()["id"]
    headers = api_token(world["a1"].operator)
    response = _post(client, f"/api/v1/changes/{request_id}/submit", **headers)
    assert response.status_code == 422 and response.json()["code"] == "evidence_required"
    response = client.post(f"/api/v1/changes/{request_id}/evidence",
                           {"file": SimpleUploadedFile("死亡证明.pdf", PDF)}, **headers)
    assert response.status_code == 201 and response.json()["content_type"] == "application/pdf"
    assert _post(client, f"/api/v1/changes/{request_id}/submit", **headers).json()["state"] == "school_review"


def test_graduation_and_promotion_by_api(world, graduation_season, client, api_token):
    from tests.factories import make_pupil

    make_pupil(world.school_a1, name="毕业生", grade=6)
    response = _post(client, "/api/v1/graduations", {"school_year": GRADUATION_YEAR}, **api_token(world["a1"].operator))
    assert response.status_code == 201 and len(response.json()["entries"]) == 1
    graduation_id = response.json()["id"]
    _post(client, f"/api/v1/graduations/{graduation_id}/approve", **api_token(world["a1"].approver))
    body = _post(client, f"/api/v1/graduations/{graduation_id}/approve", **api_token(world["county_a"].approver)).json()
    assert body["state"] == "approved" and body["entries"][0]["applied"]

    response = _post(client, "/api/v1/promotions", {"school_year": 2026}, **api_token(world["a1"].approver))
    assert response.status_code == 403 and response.json()["code"] == "province_admin_only"
    response = _post(client, "/api/v1/promotions", {"school_year": 2026}, **api_token(world["province"].admin))
    assert response.status_code == 202
    run_id = response.json()["id"]
    assert client.get(f"/api/v1/promotions/{run_id}", **api_token(world["province"].admin)).json()["total"] == 4
    assert client.get(f"/api/v1/promotions/{run_id}", **api_token(world["other_province"].admin)).status_code == 404


def test_dropout_list_by_api_is_scoped(world, client, api_token):
    from tests.changes.conftest import approve_both, open_request

    approve_both(world, open_request(world, "drop_out", {"date": "2026-11-20"}))
    rows = client.get("/api/v1/changes/dropouts", **api_token(world["county_a"].approver)).json()
    assert [r["pupil"] for r in rows] == [world.pupils["a1"].national_number]
    assert client.get("/api/v1/changes/dropouts", **api_token(world["county_b"].approver)).json() == []


WAITING = ("current_step", "current_step_label", "waiting_for", "due_date")


def _due(code: str) -> str:
    """The deadline of a step reached today: the 待办's rule (provinces.calendar.due_date)."""
    from django.utils import timezone

    from provinces import calendar

    return calendar.due_date(timezone.localdate(), province_code=code).isoformat()


def test_a_request_shows_its_current_step_unit_and_due_date(world, client, api_token):
    from workflow.models import WorkItem

    number = world.pupils["a1"].national_number
    body = _post(client, "/api/v1/changes", {"pupil": number, "kind": "suspend", "payload": SUSPEND, "submit": False},
                 **api_token(world["a1"].operator)).json()
    # a draft waits for its author's school, with no deadline (it is nobody's 待办)
    assert [body[k] for k in WAITING] == ["draft", "草稿", {"code": world.school_a1.code, "name": "天河第一小学"}, None]
    request_id = body["id"]
    from django.utils import timezone

    from provinces.models import CalendarOverride

    for days in range(1, 8):  # the province declares next week off: the deadline follows its calendar
        CalendarOverride.objects.create(province=world.province, day=timezone.localdate() + dt.timedelta(days=days),
                                        is_working_day=False)
    body = _post(client, f"/api/v1/changes/{request_id}/submit", **api_token(world["a1"].operator)).json()
    assert [body[k] for k in WAITING] == [
        "school_review", "待学校审核", {"code": world.school_a1.code, "name": "天河第一小学"}, _due("440106")
    ]
    assert body["due_date"] == WorkItem.objects.get(object_id=request_id, kind="status_change", state="open") \
        .due_on.isoformat()
    body = _post(client, f"/api/v1/changes/{request_id}/approve", **api_token(world["a1"].approver)).json()
    assert [body[k] for k in WAITING] == [
        "county_review", "待区县审核", {"code": "440106", "name": "广东省广州市天河区教育行政部门"}, _due("440106")
    ]
    listed = client.get("/api/v1/changes", **api_token(world["county_a"].approver)).json()["items"]
    assert [[r[k] for k in WAITING] for r in listed] == [[body[k] for k in WAITING]]
    body = _post(client, f"/api/v1/changes/{request_id}/approve", **api_token(world["county_a"].approver)).json()
    assert body["state"] == "approved" and [body[k] for k in WAITING] == [None] * 4


def test_a_graduation_list_shows_its_current_step_unit_and_due_date(world, graduation_season, client, api_token):
    from tests.factories import make_pupil

    make_pupil(world.school_a1, name="毕业生", grade=6)
    body = _post(client, "/api/v1/graduations", {"school_year": GRADUATION_YEAR}, **api_token(world["a1"].operator)).json()
    assert [body[k] for k in WAITING] == [
        "school_review", "待学校审核", {"code": world.school_a1.code, "name": "天河第一小学"}, _due("440106")
    ]
    graduation_id = body["id"]
    body = _post(client, f"/api/v1/graduations/{graduation_id}/approve", **api_token(world["a1"].approver)).json()
    assert [body[k] for k in WAITING] == [
        "county_review", "待区县审核", {"code": "440106", "name": "广东省广州市天河区教育行政部门"}, _due("440106")
    ]
    listed = client.get("/api/v1/graduations", **api_token(world["county_a"].approver)).json()
    assert [[g[k] for k in WAITING] for g in listed] == [[body[k] for k in WAITING]]
    body = _post(client, f"/api/v1/graduations/{graduation_id}/approve", **api_token(world["county_a"].approver)).json()
    assert body["state"] == "approved" and [body[k] for k in WAITING] == [None] * 4
