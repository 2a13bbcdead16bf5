"""跨省查重: a peer asks whether an ID number (or a no-ID child) is held here; this registry
asks its peers at entry and through the API. Minimal card, audited on both sides; a held ID
is refused at entry; a peer that does not answer lets entry go on with a warning."""

from __future__ import annotations

import json

import pytest

from enrolment.registration import pupil_register
from exchange import signing, transport
from exchange.models import PeerQuery
from kernel.errors import BusinessRefused
from registry.models import HistoryEntry
from tests.enrolment.test_registration import id_record
from tests.registry.test_nohukou import no_id_record

URL = "/api/v1/exchange/queries"


def ask(client, envelope):
    return client.post(URL, json.dumps(envelope), content_type="application/json")


def test_a_peer_learns_only_the_card_of_an_id_held_here_and_both_questions_are_recorded(client, peer_world, world,
                                                                                         own_key):
    pupil = world.pupils["a1"]
    envelope = peer_world.envelope("registry.id_held", {"id_number": pupil.id_number})
    response = ask(client, envelope)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert signing.verify(answer, signing.public_key_text(signing.private_key_of(own_key)))
    assert answer["body"]["question"] == envelope["id"]
    assert answer["body"]["answer"] == {"held": True, "holders": [{
        "province": "44", "school_code": world.school_a1.code, "school_name": world.school_a1.name,
        "status": "enrolled", "status_label": "在读"}]}
    assert pupil.national_number not in response.content.decode() and pupil.name not in response.content.decode()
    record = PeerQuery.objects.get()
    assert (record.direction, record.outcome, record.peer, record.question) == (
        "answered", "held", peer_world.peer, {"id_number": pupil.id_number, "no_id_child": None})
    assert ask(client, envelope).json()["code"] == "message_replayed"


def test_an_id_not_held_here_answers_not_held(client, peer_world, world):
    import datetime as dt

    from tests.factories import resident_id

    answer = ask(client, peer_world.envelope("registry.id_held", {"id_number": resident_id(dt.date(2014, 1, 1))}))
    assert answer.json()["body"]["answer"] == {"held": False, "holders": []}
    assert PeerQuery.objects.get().outcome == "not_held"


def test_a_no_id_child_is_found_by_name_birth_date_and_family(client, peer_world, world):
    data = no_id_record(world.school_a1)
    pupil = pupil_register(user=world["a1"].operator, data=data)
    family = sorted(g.id_number for g in data.guardians if g.id_number)
    question = {"no_id_child": {"name": pupil.name, "birth_date": pupil.birth_date.isoformat(),
                                "guardian_id_numbers": family}}
    assert ask(client, peer_world.envelope("registry.id_held", question)).json()["body"]["answer"]["held"]
    question["no_id_child"]["guardian_id_numbers"] = ["11010519491231002X"]
    assert not ask(client, peer_world.envelope("registry.id_held", question)).json()["body"]["answer"]["held"]


def test_a_question_with_a_bad_signature_is_refused(client, peer_world, world):
    envelope = peer_world.envelope("registry.id_held", {"id_number": world.pupils["a1"].id_number})
    envelope["body"]["id_number"] = world.pupils["b1"].id_number
    assert ask(client, envelope).json()["code"] == "bad_signature"
    assert not PeerQuery.objects.exists()


@pytest.fixture
def peer_answers(monkeypatch, peer_world):
    """The peer's answers to our questions, signed with its key (``None``: it does not answer)."""
    answers: list = []
    asked: list[dict] = []

    def post(base_url, path, envelope, *, timeout):
        asked.append(envelope)
        assert timeout <= 5  # the question at entry is bounded
        answer = answers.pop(0) if answers else {"held": False, "holders": []}
        if answer is None:
            return transport.Reply(0, {}, error="timed out")
        signed = {"id": "00000000-0000-4000-8000-000000000001", "type": "registry.id_held.answer",
                  "sender": "45", "recipient": "44", "sent_at": "2026-12-02T04:00:00Z",
                  "body": {"question": envelope["id"], "answer": answer}}
        signed["signature"] = signing.sign(signed, key=peer_world.peer_key)
        return transport.Reply(200, signed)

    monkeypatch.setattr(transport, "post", post)
    return answers, asked


CARD = {"province": "45", "school_code": "4501020001", "school_name": "南宁市民主路小学", "status": "enrolled",
        "status_label": "在读"}


def test_an_id_held_in_another_province_is_refused_at_entry_naming_school_and_province(world, peer_answers):
    answers, asked = peer_answers
    answers.append({"held": True, "holders": [CARD]})
    with pytest.raises(BusinessRefused) as refused:
        pupil_register(user=world["a1"].operator, data=id_record(world.school_a1))
    assert refused.value.code == "id_number_held_in_other_province"
    assert "南宁市民主路小学" in str(refused.value.message) and "广西" in str(refused.value.message)
    assert asked[0]["body"] == {"id_number": id_record(world.school_a1).id_number, "no_id_child": None}
    record = PeerQuery.objects.get()
    assert (record.direction, record.outcome, record.user) == ("asked", "held", world["a1"].operator)


def test_an_answer_not_signed_by_the_peer_is_not_believed(world, peer_answers, monkeypatch, peer_world):
    answers, _asked = peer_answers
    answers.append({"held": True, "holders": [CARD]})
    peer_world.peer.public_key = signing.key_generate()[1]
    peer_world.peer.save()
    pupil = pupil_register(user=world["a1"].operator, data=id_record(world.school_a1))
    assert PeerQuery.objects.get().outcome == "refused"
    assert pupil.entry_warnings  # entry goes on, with the warning that the peer was not checked


def test_a_peer_that_does_not_answer_lets_entry_go_on_with_a_warning(world, peer_answers):
    answers, _asked = peer_answers
    answers.append(None)
    pupil = pupil_register(user=world["a1"].operator, data=id_record(world.school_a1))
    assert "广西" in pupil.entry_warnings[0]
    assert HistoryEntry.objects.filter(pupil=pupil, kind="peer_check_skipped").exists()
    assert PeerQuery.objects.get().outcome == "unreachable"


def test_the_form_shows_the_warning(world, peer_answers, login):
    from tests.enrolment.test_registration import form_post

    answers, _asked = peer_answers
    answers.append(None)
    response = login(world["a1"].operator).post("/pupils/new/", form_post(id_record(world.school_a1)), follow=True)
    assert "未能向外省学籍系统（广西）核对" in response.content.decode()


def test_the_api_asks_every_peer_and_answers_their_cards(world, peer_answers, client, api_token):
    answers, _asked = peer_answers
    answers.append({"held": True, "holders": [CARD]})
    response = client.post("/api/v1/exchange/id-check", json.dumps({"id_number": world.pupils["a1"].id_number}),
                           content_type="application/json", **api_token(world["a1"].operator))
    assert response.status_code == 200, response.content
    assert response.json() == [{"peer": "广西", "provinces": ["45"], "outcome": "held", "holders": [CARD]}]
    bad = client.post("/api/v1/exchange/id-check", json.dumps({"id_number": "123"}),
                      content_type="application/json", **api_token(world["a1"].operator))
    assert bad.status_code == 422
