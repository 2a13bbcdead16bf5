"""跨省转学 lookup across registries: a destination school here looks up a pupil of a
province served by a peer; the peer answers the minimal card for the exact name at the
chosen origin school; both sides record it; the allowance and the timeout hold."""

from __future__ import annotations

import json

import pytest

from exchange import signing, transport
from exchange.models import PeerQuery
from kernel.errors import BusinessRefused, Forbidden, ValidationFailed
from transfers.remote import PeerUnreachable, transfer_lookup_remote

URL = "/api/v1/exchange/queries"


def question(world, **changes):
    return {"origin_school_code": world.school_a1.code, "name": world.pupils["a1"].name, "id_number": "",
            "asking_school_code": "4501020001", "asking_school_name": "南宁市民主路小学", "asker": "op", **changes}


def test_a_peer_gets_the_minimal_card_of_the_exact_name_at_the_chosen_school(client, peer_world, world):
    pupil = world.pupils["a1"]
    response = client.post(URL, json.dumps(peer_world.envelope("transfer.lookup", question(world))),
                           content_type="application/json")
    answer = response.json()["body"]["answer"]
    assert answer["origin_school_known"] and answer["origin_school_name"] == world.school_a1.name
    [card] = answer["found"]
    assert set(card) == {"ref", "name", "sex", "birth_date", "grade", "class_number"}
    assert (card["name"], card["birth_date"]) == (pupil.name, pupil.birth_date.isoformat())
    assert pupil.national_number not in response.content.decode() and pupil.id_number not in response.content.decode()
    assert PeerQuery.objects.get().direction == "answered"


def test_another_school_or_name_finds_nobody(client, peer_world, world):
    for changes in ({"origin_school_code": world.school_b1.code}, {"name": "李纳"}):
        envelope = peer_world.envelope("transfer.lookup", question(world, **changes))
        answer = client.post(URL, json.dumps(envelope), content_type="application/json").json()["body"]["answer"]
        assert answer["found"] == []
    envelope = peer_world.envelope("transfer.lookup", question(world, origin_school_code="4401069999"))
    assert client.post(URL, json.dumps(envelope), content_type="application/json").json()["body"]["answer"] == {
        "origin_school_known": False, "origin_school_name": "", "found": []}


@pytest.fixture
def peer_says(monkeypatch, peer_world):
    said: list = []

    def post(base_url, path, envelope, *, timeout):
        if not said or said[0] is None:
            return transport.Reply(0, {}, error="timed out")
        signed = {"id": "00000000-0000-4000-8000-000000000002", "type": "transfer.lookup.answer", "sender": "45",
                  "recipient": "44", "sent_at": "2026-12-02T04:00:00Z",
                  "body": {"question": envelope["id"], "answer": said[0]}}
        signed["signature"] = signing.sign(signed, key=peer_world.peer_key)
        return transport.Reply(200, signed)

    monkeypatch.setattr(transport, "post", post)
    return said


CARD = {"ref": "r", "name": "黄小梅", "sex": "2", "birth_date": "2018-04-02", "grade": 2, "class_number": 1}


def test_a_school_looks_up_a_pupil_in_the_peer_registry(world, peer_says):
    peer_says.append({"origin_school_known": True, "origin_school_name": "南宁市民主路小学", "found": [CARD]})
    result = transfer_lookup_remote(user=world["a1"].operator, origin_school_code="4501020001", name="黄小梅")
    assert result == {"peer": "广西", "origin_school_name": "南宁市民主路小学", "found": [CARD]}
    record = PeerQuery.objects.get()
    assert (record.direction, record.outcome, record.user) == ("asked", "held", world["a1"].operator)


def test_an_unknown_origin_school_a_province_without_peer_and_a_peer_down_are_refused(world, peer_says):
    operator = world["a1"].operator
    with pytest.raises(BusinessRefused) as refused:
        transfer_lookup_remote(user=operator, origin_school_code="4601020001", name="黄小梅")
    assert refused.value.code == "peer_unknown_province"
    with pytest.raises(BusinessRefused):  # a school of this registry's own province: the ordinary lookup
        transfer_lookup_remote(user=operator, origin_school_code=world.school_b1.code, name="王伟")
    with pytest.raises(PeerUnreachable):
        transfer_lookup_remote(user=operator, origin_school_code="4501020001", name="黄小梅")
    peer_says.append({"origin_school_known": False, "origin_school_name": "", "found": []})
    with pytest.raises(ValidationFailed) as unknown:
        transfer_lookup_remote(user=operator, origin_school_code="4501020009", name="黄小梅")
    assert unknown.value.code == "origin_school_unknown"


def test_only_a_school_looks_up_and_within_the_hourly_allowance(world, peer_says):
    from provinces.models import ProvincePolicy

    with pytest.raises(Forbidden):
        transfer_lookup_remote(user=world["county_a"].operator, origin_school_code="4501020001", name="黄小梅")
    policy = ProvincePolicy.for_province("44")
    policy.foreign_lookups_per_hour = 1
    policy.save()
    from provinces.cache import forget_all

    forget_all()
    peer_says.append({"origin_school_known": True, "origin_school_name": "x", "found": []})
    transfer_lookup_remote(user=world["a1"].operator, origin_school_code="4501020001", name="黄小梅")
    with pytest.raises(Exception) as throttled:
        transfer_lookup_remote(user=world["a1"].operator, origin_school_code="4501020001", name="黄小梅")
    assert throttled.value.code == "lookup_throttled"


def test_the_api_answers_the_cards(world, peer_says, client, api_token):
    peer_says.append({"origin_school_known": True, "origin_school_name": "南宁市民主路小学", "found": [CARD]})
    response = client.post("/api/v1/transfers/remote-lookup",
                           json.dumps({"origin_school_code": "4501020001", "name": "黄小梅"}),
                           content_type="application/json", **api_token(world["a1"].operator))
    assert response.status_code == 200, response.content
    assert response.json()["found"][0]["name"] == "黄小梅"
