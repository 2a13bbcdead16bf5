"""跨省转学 across registries, the application (``transfer.applied``): the destination
stores it and sends it in one transaction; the origin checks the reference and the pupil,
stores it waiting for the origin school, or refuses it with a reason for the sender."""

from __future__ import annotations

import json

import pytest
from django.contrib.contenttypes.models import ContentType

from exchange.models import InboxMessage, OutboxMessage
from kernel.errors import BusinessRefused, Conflict, NotFound, ValidationFailed
from tests.transfers.chain import apply, open_season  # noqa: F401 (a fixture)
from transfers.cross_registry import cross_transfer_move, transfer_apply_remote, transfer_cancel_remote
from transfers.models import CrossTransfer
from workflow.business import require_no_open_business
from workflow.models import OpenBusiness

MESSAGES = "/api/v1/exchange/messages"
QUERIES = "/api/v1/exchange/queries"
DEST = "4501020001"


def card_ref(client, peer_world, world) -> str:
    """The reference the peer's destination school got from this registry's lookup answer."""
    question = {"origin_school_code": world.school_a1.code, "name": "李娜", "id_number": "",
                "asking_school_code": DEST, "asking_school_name": "南宁市民主路小学", "asker": "op"}
    response = client.post(QUERIES, json.dumps(peer_world.envelope("transfer.lookup", question)),
                           content_type="application/json")
    return response.json()["body"]["answer"]["found"][0]["ref"]


def applied(world, ref: str, **changes) -> dict:
    return {"application": "0b6f3f1e-6a53-4b0e-9a3e-0f8f0f7a2a11", "ref": ref,
            "origin_school_code": world.school_a1.code, "pupil_name": "李娜", "dest_school_code": DEST,
            "dest_school_name": "南宁市民主路小学", "dest_county_code": "450102", "dest_grade": 3,
            "dest_class_number": 1, "reason": "随父母务工迁居", "applicant": "op", **changes}


def post(client, envelope):
    return client.post(MESSAGES, json.dumps(envelope), content_type="application/json")


def test_the_origin_stores_the_application_waiting_for_its_school(client, peer_world, world):
    ref = card_ref(client, peer_world, world)
    response = post(client, peer_world.envelope("transfer.applied", applied(world, ref)))
    assert response.status_code == 202, response.content
    row = CrossTransfer.objects.get()
    assert (row.side, row.pupil, row.origin_school, row.state, row.peer_province) == (
        "origin", world.pupils["a1"], world.school_a1, "origin_school", "45")
    assert (row.dest_school_code, row.dest_grade, row.reason) == (DEST, 3, "随父母务工迁居")


def test_a_pupil_changed_since_the_lookup_is_refused_with_its_reason(client, peer_world, world):
    ref = card_ref(client, peer_world, world)
    pupil = world.pupils["a1"]
    pupil.name = "李娜娜"
    pupil.save(update_fields=["name"])
    response = post(client, peer_world.envelope("transfer.applied", applied(world, ref)))
    assert (response.status_code, response.json()["code"]) == (422, "pupil_changed")
    assert "已变更" in response.json()["message"]
    assert not CrossTransfer.objects.exists()
    assert InboxMessage.objects.get().refusal_code == "pupil_changed"


def test_a_reference_for_another_school_or_forged_is_refused(client, peer_world, world):
    ref = card_ref(client, peer_world, world)
    for body in (applied(world, ref, dest_school_code="4501020002"), applied(world, "forged")):
        response = post(client, peer_world.envelope("transfer.applied", body))
        assert (response.status_code, response.json()["code"]) == (422, "ref_invalid")
    assert not CrossTransfer.objects.exists()


def test_a_second_application_for_the_same_pupil_is_refused(client, peer_world, world):
    ref = card_ref(client, peer_world, world)
    assert post(client, peer_world.envelope("transfer.applied", applied(world, ref))).status_code == 202
    again = applied(world, ref, application="1b6f3f1e-6a53-4b0e-9a3e-0f8f0f7a2a11")
    response = post(client, peer_world.envelope("transfer.applied", again))
    assert (response.status_code, response.json()["code"]) == (422, "open_business")


def test_the_application_holds_the_pupils_open_business_until_it_closes(client, peer_world, world):
    pupil = world.pupils["a1"]
    ref = card_ref(client, peer_world, world)
    assert post(client, peer_world.envelope("transfer.applied", applied(world, ref))).status_code == 202
    with pytest.raises(BusinessRefused) as busy:
        require_no_open_business(pupil)  # a status change or a transfer here is refused meanwhile
    assert busy.value.code == "open_business"
    body = closed(applied(world, ref)["application"])
    assert post(client, peer_world.envelope("transfer.cancelled", body)).status_code == 202
    require_no_open_business(pupil)


def test_a_pupil_busy_here_is_refused_to_the_peer(client, peer_world, world):
    pupil = world.pupils["a1"]
    OpenBusiness.objects.create(pupil=pupil, kind="status_change", content_type=ContentType.objects.get_for_model(
        pupil), object_id=pupil.pk)
    response = post(client, peer_world.envelope("transfer.applied", applied(world, card_ref(client, peer_world,
                                                                                             world))))
    assert (response.status_code, response.json()["code"]) == (422, "open_business")
    assert not CrossTransfer.objects.exists()


def to_origin(world, row):
    """The destination's own steps: its school approver submits, its county approves (sent)."""
    cross_transfer_move(user=world["a1"].approver, pk=row.pk, action="submit")
    return cross_transfer_move(user=world["county_a"].approver, pk=row.pk, action="approve")


def test_the_destination_files_its_application_and_sends_it_once_its_county_approved(peer_world, world):
    operator = world["a1"].operator
    row = transfer_apply_remote(user=operator, ref="opaque", origin_school_code=DEST, pupil_name="黄小梅",
                                dest_grade=3, dest_class_number=1, reason="随父母务工迁居")
    assert (row.side, row.dest_school, row.origin_school_code, row.peer_province, row.state) == (
        "dest", world.school_a1, DEST, "45", "draft")
    assert not OutboxMessage.objects.exists()  # its own steps first
    row = to_origin(world, row)
    assert row.state == "origin_school"
    message = OutboxMessage.objects.get()
    assert (message.type, message.peer, message.envelope["recipient"]) == ("transfer.applied", peer_world.peer, "45")
    assert message.envelope["body"]["application"] == str(row.application)
    assert message.envelope["body"]["dest_school_code"] == world.school_a1.code


@pytest.mark.parametrize(("changes", "code"), [
    ({"reason": " "}, "reason_required"),
    ({"origin_school_code": "4401060001"}, "peer_unknown_province"),
    ({"origin_school_code": "4201020001"}, "peer_unknown_province"),
    ({"origin_school_code": "45" * 40}, "peer_unknown_province"),
    ({"dest_grade": 9}, "grade_not_offered"),
    ({"dest_class_number": 0}, "invalid_class_number"),
    ({"dest_class_number": 10**9}, "invalid_class_number"),
    ({"pupil_name": "黄" * 51}, "ref_invalid"),
    ({"ref": "x" * 301}, "ref_invalid"),
])
def test_the_destination_refuses_a_bad_application_and_sends_nothing(peer_world, world, changes, code):
    operator = world["a1"].operator
    data = {"ref": "opaque", "origin_school_code": DEST, "pupil_name": "黄小梅", "dest_grade": 3,
            "dest_class_number": 1, "reason": "随父母务工迁居", **changes}
    with pytest.raises((ValidationFailed, BusinessRefused)) as refused:
        transfer_apply_remote(user=operator, **data)
    assert refused.value.code == code
    assert not OutboxMessage.objects.exists() and not CrossTransfer.objects.exists()


def closed(application, reason="不符合转学条件") -> dict:
    return {"application": application, "reason": reason, "by": "origin-approver（南宁市民主路小学）"}


def test_the_origin_refusal_closes_the_destination_application_with_its_reason(client, peer_world, world):
    row = transfer_apply_remote(user=world["a1"].operator, ref="opaque", origin_school_code=DEST,
                                pupil_name="黄小梅", dest_grade=3, dest_class_number=1, reason="随父母务工迁居")
    to_origin(world, row)
    response = post(client, peer_world.envelope("transfer.refused", closed(str(row.application))))
    assert response.status_code == 202, response.content
    row.refresh_from_db()
    assert row.state == "refused" and "不符合转学条件" in row.closed_reason and row.closed_at
    again = post(client, peer_world.envelope("transfer.refused", closed(str(row.application))))
    assert (again.status_code, again.json()["code"]) == (409, "state_conflict")
    unknown = post(client, peer_world.envelope("transfer.refused", closed("2b6f3f1e-6a53-4b0e-9a3e-0f8f0f7a2a11")))
    assert (unknown.status_code, unknown.json()["code"]) == (422, "application_unknown")


def test_the_destination_cancels_and_the_origin_is_told_once_it_knows(client, peer_world, world):
    operator = world["a1"].operator
    draft = transfer_apply_remote(user=operator, ref="opaque", origin_school_code=DEST, pupil_name="黄小梅",
                                  dest_grade=3, dest_class_number=1, reason="随父母务工迁居")
    cancel(operator, draft)
    assert not OutboxMessage.objects.exists()  # a draft never reached the origin
    row = to_origin(world, transfer_apply_remote(
        user=operator, ref="opaque", origin_school_code=DEST, pupil_name="黄小梅", dest_grade=3,
        dest_class_number=1, reason="随父母务工迁居"))
    with pytest.raises(ValidationFailed):
        cancel(operator, row, reason=" ")
    with pytest.raises(NotFound):
        cancel(world["b1"].operator, row)
    cancel(operator, row)
    row.refresh_from_db()
    assert (row.state, row.closed_reason) == ("cancelled", "家长改变主意")
    message = OutboxMessage.objects.get(type="transfer.cancelled")
    assert message.envelope["body"]["application"] == str(row.application)
    with pytest.raises(Conflict):
        cancel(operator, row)


def cancel(user, row, reason="家长改变主意"):
    return transfer_cancel_remote(user=user, pk=row.pk, reason=reason)


def test_a_cancel_from_the_destination_closes_the_origin_record(client, peer_world, world):
    ref = card_ref(client, peer_world, world)
    assert post(client, peer_world.envelope("transfer.applied", applied(world, ref))).status_code == 202
    response = post(client, peer_world.envelope("transfer.cancelled", closed(applied(world, ref)["application"],
                                                                              reason="家长改变主意")))
    assert response.status_code == 202, response.content
    row = CrossTransfer.objects.get(side="origin")
    assert row.state == "cancelled" and "家长改变主意" in row.closed_reason
    # the pupil is free again: a new application is accepted
    fresh = applied(world, card_ref(client, peer_world, world), application="3b6f3f1e-6a53-4b0e-9a3e-0f8f0f7a2a11")
    assert post(client, peer_world.envelope("transfer.applied", fresh)).status_code == 202


@pytest.mark.usefixtures("open_season")
def test_a_transfer_draft_here_for_the_pupil_refuses_the_peer(client, peer_world, world):
    apply(world)  # a draft at 海珠第一小学: it does not hold the open business yet
    response = post(client, peer_world.envelope("transfer.applied", applied(world, card_ref(client, peer_world,
                                                                                             world))))
    assert (response.status_code, response.json()["code"]) == (422, "open_business")
    assert not CrossTransfer.objects.exists()


def test_an_over_long_reason_is_kept_to_its_200_characters(peer_world, world):
    row = transfer_apply_remote(user=world["a1"].operator, ref="opaque", origin_school_code=DEST,
                                pupil_name="黄小梅", dest_grade=3, dest_class_number=1, reason="因" * 5000)
    to_origin(world, row)
    assert len(row.reason) == 200 and len(OutboxMessage.objects.get().envelope["body"]["reason"]) == 200


@pytest.mark.parametrize("field", ["reason", "pupil_name", "ref", "origin_school_code"])
def test_the_api_refuses_over_long_text_with_422_and_writes_nothing(client, peer_world, world, api_token, field):
    data = {"ref": "opaque", "origin_school_code": DEST, "pupil_name": "黄小梅", "dest_grade": 3,
            "dest_class_number": 1, "reason": "随父母务工迁居", field: "9" * 5000}
    response = client.post("/api/v1/transfers/remote-apply", json.dumps(data), content_type="application/json",
                           **api_token(world["a1"].operator))
    assert response.status_code == 422, response.content
    assert not CrossTransfer.objects.exists() and not OutboxMessage.objects.exists()


def test_a_pupil_that_became_a_problem_record_here_stops_the_origin_step_with_the_reason(client, peer_world, world):
    from registry.models import Pupil

    ref = card_ref(client, peer_world, world)
    assert post(client, peer_world.envelope("transfer.applied", applied(world, ref))).status_code == 202
    row = CrossTransfer.objects.get()
    Pupil.objects.filter(pk=row.pupil_id).update(identity_status=Pupil.IdentityStatus.FAILED,
                                                 identity_note="公安比对不一致")
    sent = OutboxMessage.objects.count()
    with pytest.raises(BusinessRefused) as refused:
        cross_transfer_move(user=world["a1"].approver, pk=row.pk, action="approve")
    assert refused.value.code == "problem_record" and "公安比对不一致" in str(refused.value.message)
    row.refresh_from_db()
    assert row.state == "origin_school" and OutboxMessage.objects.count() == sent  # nothing told the peer
    closed_row = cross_transfer_move(user=world["a1"].approver, pk=row.pk, action="refuse", reason="身份待核实")
    assert closed_row.state == "refused"
