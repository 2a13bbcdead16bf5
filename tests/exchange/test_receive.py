"""POST /api/v1/exchange/messages: signature-authenticated, applied once; replays, tampered
messages, unknown senders and bad bodies are refused with their code and logged."""

from __future__ import annotations

import json

import pytest

from exchange import protocol
from exchange.models import InboxMessage, InboxRefusal
from kernel.errors import BusinessRefused

URL = "/api/v1/exchange/messages"


def post(client, envelope):
    return client.post(URL, json.dumps(envelope), content_type="application/json")


@pytest.fixture
def applied(peer_world):
    """A test message type whose handler counts its calls (and refuses on demand)."""
    calls = []

    def apply(body, envelope, peer):
        if body["note"] == "refuse":
            raise BusinessRefused("学生已变更", code="pupil_changed")
        calls.append(body["note"])

    protocol.register_message("test.count", schema=protocol.PingBody, apply=apply)
    yield calls
    protocol._TYPES.pop("test.count", None)


def test_a_signed_message_is_applied_once_and_its_replay_refused_and_logged(client, peer_world, applied):
    envelope = peer_world.envelope("test.count", {"note": "一"})
    first = post(client, envelope)
    assert first.status_code == 202, first.content
    again = post(client, envelope)
    assert again.status_code == 409
    assert again.json()["code"] == "message_replayed"
    assert again.json()["details"]["first_outcome"] == "applied"
    assert applied == ["一"]
    assert InboxMessage.objects.get().state == "applied"
    assert InboxRefusal.objects.get().code == "message_replayed"


def test_a_tampered_message_is_refused_and_logged(client, peer_world, applied):
    envelope = peer_world.envelope("test.count", {"note": "一"})
    envelope["body"]["note"] = "二"
    response = post(client, envelope)
    assert response.status_code == 401
    assert response.json()["code"] == "bad_signature"
    assert applied == [] and not InboxMessage.objects.exists()
    assert InboxRefusal.objects.get().code == "bad_signature"


def test_a_message_signed_with_another_key_is_refused(client, peer_world, applied):
    from exchange import signing

    stranger = signing.private_key_of(signing.key_generate()[0])
    response = post(client, peer_world.envelope("test.count", {"note": "一"}, key=stranger))
    assert response.json()["code"] == "bad_signature"
    assert applied == []


@pytest.mark.parametrize(("changes", "status", "code"), [
    ({"sender": "46"}, 403, "unknown_peer"),
    ({"recipient": "45"}, 422, "wrong_recipient"),
    ({"type": "nobody.knows"}, 422, "unknown_type"),
    ({"body": {"note": "x" * 201}}, 422, "invalid_message"),
    ({"body": {"other": 1}}, 422, "invalid_message"),
])
def test_a_message_we_cannot_take_is_refused_with_its_code(client, peer_world, applied, changes, status, code):
    envelope = peer_world.envelope("test.count", {"note": "一"})
    envelope.update(changes)
    del envelope["signature"]
    envelope = peer_world.envelope(envelope["type"], envelope["body"], sender=envelope["sender"],
                                   recipient=envelope["recipient"])
    response = post(client, envelope)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert InboxRefusal.objects.get().code == code
    assert applied == []


def test_a_malformed_envelope_is_refused(client, peer_world):
    response = post(client, {"id": "no", "type": "exchange.ping"})
    assert (response.status_code, response.json()["code"]) == (422, "invalid_envelope")
    assert client.post(URL, b"not json", content_type="application/json").status_code == 400


def test_a_refusal_by_the_handler_is_kept_and_answered_again_on_replay(client, peer_world, applied):
    envelope = peer_world.envelope("test.count", {"note": "refuse"})
    response = post(client, envelope)
    assert (response.status_code, response.json()["code"]) == (422, "pupil_changed")
    inbox = InboxMessage.objects.get()
    assert (inbox.state, inbox.refusal_code) == ("refused", "pupil_changed")
    again = post(client, envelope).json()
    assert again["details"]["first_outcome"] == "refused"
    assert again["details"]["refusal_code"] == "pupil_changed"


def test_a_session_or_token_does_not_replace_the_signature(client, peer_world, applied, world, api_token):
    envelope = peer_world.envelope("test.count", {"note": "一"})
    envelope["signature"] = ""
    response = client.post(URL, json.dumps(envelope), content_type="application/json",
                           **api_token(world["province"].admin))
    assert response.json()["code"] == "bad_signature"


BATCH_URL = "/api/v1/exchange/messages/batch"


def post_batch(client, messages):
    return client.post(BATCH_URL, json.dumps({"messages": messages}), content_type="application/json")


def test_a_batch_is_applied_in_order_each_message_answered_as_alone(client, peer_world, applied):
    first = peer_world.envelope("test.count", {"note": "一"})
    tampered = peer_world.envelope("test.count", {"note": "二"})
    tampered["body"]["note"] = "篡改"
    refused = peer_world.envelope("test.count", {"note": "refuse"})
    last = peer_world.envelope("test.count", {"note": "三"})
    response = post_batch(client, [first, tampered, refused, first, last])
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(r["id"], r["status"], r["body"].get("code")) for r in results] == [
        (first["id"], 202, None), (tampered["id"], 401, "bad_signature"), (refused["id"], 422, "pupil_changed"),
        (first["id"], 409, "message_replayed"), (last["id"], 202, None)]
    assert results[0]["body"] == {"status": "applied", "id": first["id"]}
    assert applied == ["一", "三"]
    assert list(InboxMessage.objects.order_by("id").values_list("state", flat=True)) == [
        "applied", "refused", "applied"]
    assert list(InboxRefusal.objects.order_by("id").values_list("code", flat=True)) == [
        "bad_signature", "message_replayed"]


def test_an_unexpected_error_stops_the_batch_there_and_keeps_what_came_before(client, peer_world, applied):
    def broken(body, envelope, peer):
        InboxRefusal.objects.create(code="written", reason="by the broken handler")  # rolled back with it
        raise RuntimeError("a bug")

    protocol.register_message("test.broken", schema=protocol.PingBody, apply=broken)
    try:
        messages = [peer_world.envelope("test.count", {"note": "一"}), peer_world.envelope("test.broken", {}),
                    peer_world.envelope("test.count", {"note": "二"})]
        response = post_batch(client, messages)
    finally:
        protocol._TYPES.pop("test.broken", None)
    assert response.status_code == 200
    assert [(r["id"], r["status"]) for r in response.json()["results"]] == [
        (messages[0]["id"], 202), (messages[1]["id"], 500)]
    assert applied == ["一"]
    assert list(InboxMessage.objects.values_list("type", flat=True)) == ["test.count"]
    assert not InboxRefusal.objects.exists()


@pytest.mark.parametrize("payload", [[], {"messages": []}, {"messages": "x"}, {"messages": [{}], "more": 1},
                                     {"messages": [{}] * 101}])
def test_a_batch_of_the_wrong_shape_is_refused_as_a_whole(client, peer_world, payload):
    response = client.post(BATCH_URL, json.dumps(payload), content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (422, "invalid_batch")
    assert not InboxRefusal.objects.exists()
