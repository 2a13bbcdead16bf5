"""Every write is recorded with actor, unit and the change — through the browser session,
through an API token, and for bulk writes."""

from __future__ import annotations

import datetime as dt
import json

from accounts.audit import acting_as
from registry.models import Pupil
from tests.factories import resident_id


def _register(client, school_code, **headers):
    birth = dt.date(2016, 6, 6)
    body = {
        "school_code": school_code, "name": "周审计", "sex": "2", "birth_date": birth.isoformat(), "grade": 3,
        "class_number": 1, "enrolled_on": "2022-09-01", "id_number": resident_id(birth, "2", seq=77),
        "source": "other", "source_reason": "插班注册",
        "guardians": [{"name": "周父", "relation": "父亲", "id_number": resident_id(dt.date(1984, 3, 3), "1")}],
    }
    return client.post("/api/v1/pupils", json.dumps(body), content_type="application/json", **headers)


def test_api_write_records_actor_and_unit(world, client, api_token):
    operator = world["a1"].operator
    response = _register(client, world.school_a1.code, **api_token(operator))
    assert response.status_code == 201
    pupil = Pupil.objects.get(national_number=response.json()["national_number"])
    event = Pupil.pgh_event_model.objects.filter(pgh_obj=pupil, pgh_label="insert").select_related("pgh_context").get()
    assert event.pgh_context.metadata["username"] == operator.username
    assert event.pgh_context.metadata["unit"] == world.school_a1.code
    assert event.name == "周审计"


def test_session_write_records_actor_and_request_id(world, login):
    client = login(world["a1"].operator)
    response = _register(client, world.school_a1.code, HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 201
    event = Pupil.pgh_event_model.objects.filter(pgh_label="insert", name="周审计").select_related("pgh_context").get()
    assert event.pgh_context.metadata["request_id"] == "req-42"
    assert event.pgh_context.metadata["unit"] == world.school_a1.code


def test_bulk_update_is_audited_per_row_with_context(world):
    province_admin = world["province"].admin
    with acting_as(province_admin, task="test-bulk"):
        Pupil.objects.filter(school=world.school_a1).update(health="20")
    events = Pupil.pgh_event_model.objects.filter(pgh_label="update", health="20").select_related("pgh_context")
    assert events.count() == Pupil.objects.filter(school=world.school_a1).count() >= 1
    assert {e.pgh_context.metadata["task"] for e in events} == {"test-bulk"}


def test_pupil_page_shows_history(world, login):
    client = login(world["a1"].operator)
    response = _register(client, world.school_a1.code)
    number = response.json()["national_number"]
    page = client.get(f"/pupils/{number}/").content.decode()
    assert "建立学籍" in page
    assert world["a1"].operator.username in page
