"""跨省转学 across two registries, the approval chain (``transfers.cross_registry.CROSS_TRANSFER``
in ``workflow.engine``): the destination's school and county steps here, then the origin's
school and county steps on the origin registry, each with its 待办; a step done on one side
travels (``transfer.step``, ``transfer.refused``, ``transfer.cancelled``); the origin county's
final approval releases the whole record (``transfer.released``)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from exchange.models import InboxMessage, OutboxMessage
from kernel.errors import BusinessRefused, Conflict, Forbidden
from registry.models import Guardian, Pupil, PupilStatus
from tests.changes.conftest import open_request
from tests.exchange.test_cross_transfer import DEST, applied, card_ref, post, to_origin
from transfers.cross_registry import CROSS_TRANSFER, cross_transfer_move, transfer_apply_remote
from transfers.models import CrossTransfer
from workflow import engine
from workflow.business import require_no_open_business
from workflow.models import WorkItem

NUMBER = "G450102201804020774"


def open_items(row) -> list[tuple]:
    items = WorkItem.objects.filter(content_type=ContentType.objects.get_for_model(CrossTransfer), object_id=row.pk,
                                    state=WorkItem.State.OPEN)
    return [(item.school_id, item.division_id, item.due_on is not None) for item in items]


def filed(world) -> CrossTransfer:
    return transfer_apply_remote(user=world["a1"].operator, ref="opaque", origin_school_code=DEST,
                                 pupil_name="黄小梅", dest_grade=3, dest_class_number=1, reason="随父母务工迁居")


# --- the destination's side -----------------------------------------------------------


def test_the_destination_steps_have_their_work_items_and_the_peer_steps_none(peer_world, world):
    row = filed(world)
    assert open_items(row) == [(world.school_a1.pk, None, True)]  # the school approver's 待办
    with pytest.raises(Forbidden) as refused:  # the operator who filed it may not submit it
        cross_transfer_move(user=world["a1"].operator, pk=row.pk, action="submit")
    assert refused.value.code in ("two_person_rule", "role_forbidden")
    cross_transfer_move(user=world["a1"].approver, pk=row.pk, action="submit")
    row.refresh_from_db()
    assert (row.state, open_items(row)) == ("dest_county", [(None, "440106", True)])
    row = cross_transfer_move(user=world["county_a"].approver, pk=row.pk, action="approve")
    assert row.state == "origin_school" and open_items(row) == []  # the origin's step: no 待办 here
    progress = [(step["state"], step["status"]) for step in engine.progress(CROSS_TRANSFER, row)]
    assert progress == [("draft", "done"), ("dest_county", "done"), ("origin_school", "current"),
                        ("origin_county", "pending")]
    with pytest.raises(Conflict) as done:  # nobody here acts at the origin's step
        cross_transfer_move(user=world["county_a"].approver, pk=row.pk, action="approve")
    assert done.value.code == "state_conflict"


def test_the_destination_county_refuses_with_a_reason_and_nothing_travels(peer_world, world):
    row = filed(world)
    cross_transfer_move(user=world["a1"].approver, pk=row.pk, action="submit")
    row = cross_transfer_move(user=world["county_a"].approver, pk=row.pk, action="refuse", reason="材料不全")
    assert (row.state, row.closed_reason, open_items(row)) == ("refused", "材料不全", [])
    assert not OutboxMessage.objects.exists()


def test_a_step_done_at_the_origin_moves_the_destination_row_and_names_its_actor(client, peer_world, world):
    row = to_origin(world, filed(world))
    step = {"application": str(row.application), "step": "origin_school", "action": "approve",
            "state": "origin_county", "actor": "b-approver", "unit_code": "4501020001", "unit_name": "南宁市民主路小学"}
    assert post(client, peer_world.envelope("transfer.step", step)).status_code == 202
    row.refresh_from_db()
    assert row.state == "origin_county" and open_items(row) == []
    last = row.log.order_by("-at", "-pk").first()
    assert (last.actor_id, last.actor_name, last.unit_name, last.to_state) == (
        None, "b-approver", "南宁市民主路小学", "origin_county")
    again = post(client, peer_world.envelope("transfer.step", step))  # the same step again: not where it waits
    assert (again.status_code, again.json()["code"]) == (409, "state_conflict")


def test_a_step_message_for_a_row_still_at_the_destination_is_refused(client, peer_world, world):
    row = filed(world)
    step = {"application": str(row.application), "step": "origin_school", "action": "approve",
            "state": "origin_county", "actor": "x", "unit_code": "", "unit_name": ""}
    response = post(client, peer_world.envelope("transfer.step", step))
    assert (response.status_code, response.json()["code"]) == (409, "state_conflict")
    row.refresh_from_db()
    assert row.state == "draft"


# --- the origin's side ----------------------------------------------------------------


def received(client, peer_world, world) -> CrossTransfer:
    ref = card_ref(client, peer_world, world)
    assert post(client, peer_world.envelope("transfer.applied", applied(world, ref))).status_code == 202
    return CrossTransfer.objects.get(side="origin")


def test_an_application_arriving_starts_the_origin_chain_by_the_system(client, peer_world, world):
    row = received(client, peer_world, world)
    assert row.state == "origin_school" and open_items(row) == [(world.school_a1.pk, None, True)]
    [event] = row.log.all()
    assert (event.actor_id, event.actor_name, event.unit_code, event.unit_name, event.to_state) == (
        None, "op", DEST, "南宁市民主路小学", "origin_school")


def test_the_origin_school_approves_and_the_destination_is_told(client, peer_world, world):
    row = received(client, peer_world, world)
    with pytest.raises(Conflict) as early:  # the county does not act before the school
        cross_transfer_move(user=world["county_a"].approver, pk=row.pk, action="approve")
    assert early.value.code == "step_not_reached"
    row = cross_transfer_move(user=world["a1"].approver, pk=row.pk, action="approve")
    assert row.state == "origin_county" and open_items(row) == [(None, "440106", True)]
    message = OutboxMessage.objects.get(type="transfer.step")
    assert message.envelope["body"] | {"actor": ""} == {
        "application": str(row.application), "step": "origin_school", "action": "approve", "state": "origin_county",
        "actor": "", "unit_code": world.school_a1.code, "unit_name": message.envelope["body"]["unit_name"]}


def test_the_origin_refuses_with_a_reason_the_destination_is_told_and_the_pupil_is_free(client, peer_world, world):
    row = received(client, peer_world, world)
    with pytest.raises(Exception) as no_reason:
        cross_transfer_move(user=world["a1"].approver, pk=row.pk, action="refuse", reason=" ")
    assert no_reason.value.code == "reason_required"
    row = cross_transfer_move(user=world["a1"].approver, pk=row.pk, action="refuse", reason="学生未办理离校手续")
    assert (row.state, open_items(row)) == ("refused", [])
    body = OutboxMessage.objects.get(type="transfer.refused").envelope["body"]
    assert body["application"] == str(row.application) and body["reason"] == "学生未办理离校手续"
    require_no_open_business(world.pupils["a1"])


def test_a_cancel_arriving_at_the_origin_closes_its_chain_and_work_item(client, peer_world, world):
    row = received(client, peer_world, world)
    body = {"application": str(row.application), "reason": "家长改变主意", "by": "op（南宁市民主路小学）"}
    assert post(client, peer_world.envelope("transfer.cancelled", body)).status_code == 202
    row.refresh_from_db()
    assert (row.state, open_items(row)) == ("cancelled", [])
    assert row.log.order_by("-at", "-pk").first().actor_name == "op（南宁市民主路小学）"


def with_family_and_photo(pupil, tmp_path, settings) -> bytes:
    settings.MEDIA_ROOT = str(tmp_path)
    photo = b"\xff\xd8\xff\xe0" + b"photo" * 100
    pupil.photo.name = default_storage.save(f"photos/{pupil.national_number}.jpg", ContentFile(photo))
    pupil.save(update_fields=["photo"])
    Guardian.objects.create(pupil=pupil, name="李强", relation="51", id_number="", order=2)
    return photo


def test_the_origin_county_releases_the_whole_record_and_keeps_it_read_only(client, peer_world, world, tmp_path,
                                                                            settings):
    pupil = world.pupils["a1"]
    photo = with_family_and_photo(pupil, tmp_path, settings)
    row = received(client, peer_world, world)
    cross_transfer_move(user=world["a1"].approver, pk=row.pk, action="approve")
    row = cross_transfer_move(user=world["county_a"].approver, pk=row.pk, action="approve")
    assert (row.state, open_items(row)) == ("completed", [])
    body = OutboxMessage.objects.get(type="transfer.released").envelope["body"]
    assert body["record"]["national_number"] == pupil.national_number
    assert body["record"]["name"] == "李娜" and body["record"]["id_number"] == pupil.id_number
    assert [g["name"] for g in body["guardians"]] == [g.name for g in pupil.guardians.all()] and len(body["guardians"]) == 2
    assert base64.b64decode(body["photo"]["content"]) == photo
    assert body["photo"]["sha256"] == hashlib.sha256(photo).hexdigest()
    pupil.refresh_from_db()
    assert (pupil.status, pupil.school) == (PupilStatus.TRANSFERRED_OUT, world.school_a1)  # 转出, kept here
    assert pupil.get_status_display() == "转出"
    assert pupil.history.filter(kind="transferred_out").exists()
    require_no_open_business(pupil)
    with pytest.raises(BusinessRefused) as read_only:  # 信息维护 of the 转出 record is refused
        open_request(world, "record_update", {"left_behind": "1"}, today=dt.date(2026, 11, 23))
    assert read_only.value.code == "not_active"


def test_the_release_is_refused_when_the_pupil_left_meanwhile(client, peer_world, world):
    row = received(client, peer_world, world)
    cross_transfer_move(user=world["a1"].approver, pk=row.pk, action="approve")
    Pupil.objects.filter(pk=world.pupils["a1"].pk).update(status=PupilStatus.DECEASED)
    with pytest.raises(BusinessRefused) as refused:
        cross_transfer_move(user=world["county_a"].approver, pk=row.pk, action="approve")
    assert refused.value.code == "pupil_not_enrolled"
    assert not OutboxMessage.objects.filter(type="transfer.released").exists()


# --- the destination receives the record ------------------------------------------------


def released(row, photo: bytes | None = b"\xff\xd8jpeg-bytes", **changes) -> dict:
    record = {"national_number": NUMBER, "name": "黄小梅", "sex": "2", "birth_date": "2018-04-02",
              "id_number": "450102201804020774", "hukou_division": "450102", "enrolled_on": "2024-09-01",
              "ethnicity": "02", "home_address": "南宁市兴宁区民主路1号", "commute_distance": "1.5",
              "status": "enrolled", "grade": 2}
    body = {"application": str(row.application), "record": record,
            "guardians": [{"name": "黄强", "relation": "51", "id_number": "450102198001010011", "is_first_guardian": True,
                           "hukou_division": ""}],
            "history": [{"kind": "registered", "summary": "新生注册", "at": "2024-09-01T02:00:00Z", "actor_name": "x"}],
            "photo": None if photo is None else {"content": base64.b64encode(photo).decode(),
                                                 "sha256": hashlib.sha256(photo).hexdigest()},
            "by": "county（兴宁区教育局）", "unit_code": "450102", "unit_name": "兴宁区教育局"}
    body.update(changes)
    return body


def at_origin_county(client, peer_world, world) -> CrossTransfer:
    row = to_origin(world, filed(world))
    step = {"application": str(row.application), "step": "origin_school", "action": "approve",
            "state": "origin_county", "actor": "b", "unit_code": "4501020001", "unit_name": "南宁市民主路小学"}
    assert post(client, peer_world.envelope("transfer.step", step)).status_code == 202
    return row


def test_the_destination_creates_the_pupil_with_the_same_national_number_once(client, peer_world, world, tmp_path,
                                                                             settings):
    settings.MEDIA_ROOT = str(tmp_path)
    row = at_origin_county(client, peer_world, world)
    envelope = peer_world.envelope("transfer.released", released(row))
    response = post(client, envelope)
    assert response.status_code == 202, response.content
    pupil = Pupil.objects.get(national_number=NUMBER)
    assert (pupil.school, pupil.grade, pupil.status, pupil.county_code) == (
        world.school_a1, 3, PupilStatus.ENROLLED, world.school_a1.county_id)
    assert (pupil.name, pupil.id_number, pupil.ethnicity, str(pupil.commute_distance), pupil.enrolled_on) == (
        "黄小梅", "450102201804020774", "02", "1.5", dt.date(2024, 9, 1))
    assert pupil.school_class.number == 1
    assert [g.name for g in pupil.guardians.all()] == ["黄强"]
    with pupil.photo.open("rb") as stored:
        assert hashlib.sha256(stored.read()).hexdigest() == hashlib.sha256(b"\xff\xd8jpeg-bytes").hexdigest()
    assert set(pupil.history.values_list("kind", flat=True)) == {"registered", "transferred_in"}
    row.refresh_from_db()
    assert (row.state, row.pupil, open_items(row)) == ("completed", pupil, [])
    # The same message again is a replay, applied once; another release of it is refused.
    again = post(client, envelope)
    assert (again.status_code, again.json()["code"]) == (409, "message_replayed")
    other = post(client, peer_world.envelope("transfer.released", released(row)))
    assert (other.status_code, other.json()["code"]) == (409, "state_conflict")
    assert Pupil.objects.filter(national_number=NUMBER).count() == 1


def test_a_photo_that_does_not_match_its_hash_is_refused_and_nothing_created(client, peer_world, world):
    row = at_origin_county(client, peer_world, world)
    body = released(row)
    body["photo"]["sha256"] = "0" * 64
    response = post(client, peer_world.envelope("transfer.released", body))
    assert (response.status_code, response.json()["code"]) == (422, "photo_hash_mismatch")
    assert not Pupil.objects.filter(national_number=NUMBER).exists()
    row.refresh_from_db()
    assert row.state == "origin_county"
    assert InboxMessage.objects.filter(refusal_code="photo_hash_mismatch").exists()


def test_a_release_before_the_application_reached_the_origin_is_refused(client, peer_world, world):
    row = filed(world)
    response = post(client, peer_world.envelope("transfer.released", released(row, photo=None)))
    assert (response.status_code, response.json()["code"]) == (409, "state_conflict")
    assert not Pupil.objects.filter(national_number=NUMBER).exists()


def test_the_release_schema_needs_a_national_number_of_the_national_shape(client, peer_world, world):
    row = at_origin_county(client, peer_world, world)
    body = released(row, photo=None)
    body["record"]["national_number"] = "123"
    response = post(client, peer_world.envelope("transfer.released", body))
    assert (response.status_code, response.json()["code"]) == (422, "invalid_message")


def test_the_api_moves_this_sides_steps_and_refuses_in_the_error_shape(client, peer_world, world, api_token):
    row = filed(world)
    url = f"/api/v1/transfers/remote/{row.pk}"
    response = client.post(f"{url}/submit", content_type="application/json", **api_token(world["a1"].approver))
    assert (response.status_code, response.json()["state"]) == (200, "dest_county")
    response = client.post(f"{url}/refuse", json.dumps({"reason": ""}), content_type="application/json",
                           **api_token(world["county_a"].approver))
    assert (response.status_code, response.json()["code"]) == (422, "reason_required")
    response = client.post(f"{url}/approve", content_type="application/json", **api_token(world["a1"].approver))
    assert (response.status_code, response.json()["code"]) == (403, "not_a_party")
    response = client.post(f"{url}/approve", content_type="application/json", **api_token(world["county_a"].approver))
    assert (response.status_code, response.json()["state"]) == (200, "origin_school")


def test_each_side_shows_its_chain_on_a_page(client, peer_world, world):
    row = to_origin(world, filed(world))
    client.force_login(world["a1"].operator)
    page = client.get(f"/transfers/remote/{row.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-step="origin_school" data-status="current"' in text and "黄小梅" in text
    client.force_login(world["b1"].operator)
    assert client.get(f"/transfers/remote/{row.pk}/").status_code == 404
