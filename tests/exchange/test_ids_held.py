"""跨省批量查重 (``registry.ids_held``): a roster batch asked of every peer in one question.
Answered with one minimal card per held item and nothing of the others; audited on both
sides as one question with its count; a held row is refused in the dry run as at the form;
a peer that does not answer leaves the row importable with a warning that reaches the row
report and the pupil's history, also when the import reuses the dry run."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from enrolment.registration import pupil_register
from exchange import signing, transport
from exchange.models import PeerQuery
from registry.models import HistoryEntry, Pupil
from rosters import jobs, reports
from rosters.models import RosterImport
from tests.factories import resident_id
from tests.registry.test_nohukou import no_id_record
from tests.rosters.test_support import fast_passwords, roster_media, roster_row, rows_of, xlsx_bytes  # noqa: F401

URL = "/api/v1/exchange/queries"
CARD = {"province": "45", "school_code": "4501020001", "school_name": "南宁市民主路小学", "status": "enrolled",
        "status_label": "在读"}


def ask(client, envelope):
    return client.post(URL, json.dumps(envelope), content_type="application/json")


# --- answered here ------------------------------------------------------------------------

def test_a_batch_is_answered_with_one_card_per_held_item_and_nothing_of_the_others(client, peer_world, world):
    held = world.pupils["a1"]
    child = pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1))
    family = sorted(g.id_number for g in child.guardians.all() if g.id_number)
    items = [
        {"id_number": held.id_number},
        {"id_number": resident_id(dt.date(2014, 1, 1))},
        {"no_id_child": {"name": child.name, "birth_date": child.birth_date.isoformat(),
                         "guardian_id_numbers": family}},
    ]
    response = ask(client, peer_world.envelope("registry.ids_held", {"count": 3, "items": items}))
    assert response.status_code == 200, response.content
    answer = response.json()["body"]["answer"]
    assert answer["held"] is True
    assert [card["item"] for card in answer["holders"]] == [0, 2]
    assert {k: v for k, v in answer["holders"][0].items() if k != "item"} == {
        "province": "44", "school_code": world.school_a1.code, "school_name": world.school_a1.name,
        "status": "enrolled", "status_label": "在读"}
    text = response.content.decode()
    assert items[1]["id_number"] not in text  # nothing is said of an item not held
    assert held.national_number not in text and held.name not in text and child.name not in text
    record = PeerQuery.objects.get(direction="answered")
    assert (record.outcome, record.type, record.question["count"]) == ("held", "registry.ids_held", 3)


def test_a_batch_whose_count_is_not_its_items_is_refused(client, peer_world, world):
    envelope = peer_world.envelope("registry.ids_held", {"count": 2, "items": [{"id_number": resident_id(
        dt.date(2014, 1, 1))}]})
    response = ask(client, envelope)
    assert response.status_code == 422 and response.json()["code"] == "invalid_message"
    assert not PeerQuery.objects.exists()


# --- asked by the roster --------------------------------------------------------------------

@pytest.fixture
def peer_batches(monkeypatch, peer_world):
    """The peer's answers to our batch questions: ``answer(items) -> dict`` (``None``: it does
    not answer); every question asked is kept."""
    asked: list[dict] = []
    state = {"answer": lambda items: {"held": False, "holders": []}}

    def post(base_url, path, envelope, *, timeout):
        asked.append(envelope)
        answer = state["answer"](envelope["body"]["items"])
        if answer is None:
            return transport.Reply(0, {}, error="timed out")
        signed = {"id": "00000000-0000-4000-8000-000000000001", "type": f"{envelope['type']}.answer",
                  "sender": "45", "recipient": "44", "sent_at": "2026-12-02T04:00:00Z",
                  "body": {"question": envelope["id"], "answer": answer}}
        signed["signature"] = signing.sign(signed, key=peer_world.peer_key)
        return transport.Reply(200, signed)

    monkeypatch.setattr(transport, "post", post)
    return state, asked


def _held_in_guangxi(id_number: str):
    def answer(items):
        holders = [{"item": i, **CARD} for i, item in enumerate(items) if item.get("id_number") == id_number]
        return {"held": bool(holders), "holders": holders}
    return answer


def _checked(user, rows) -> RosterImport:
    job = jobs.roster_upload(user=user, content=xlsx_bytes(rows), file_name="r.xlsx")
    return jobs.roster_check(job_id=job.pk)


def _import(user, job) -> RosterImport:
    jobs.roster_confirm(user=user, job_id=job.pk, mode=RosterImport.Mode.GOOD_ROWS)
    return jobs.roster_import_rows(job_id=job.pk)


@pytest.mark.usefixtures("fast_passwords", "roster_media")
def test_the_dry_run_asks_each_peer_once_per_batch_and_refuses_a_row_held_there(world, peer_batches):
    state, asked = peer_batches
    rows = [roster_row(world.school_a1, seq=31), roster_row(world.school_a1, name="钱小红", sex="女", seq=32)]
    state["answer"] = _held_in_guangxi(rows[1]["id_number"])
    job = _checked(world["a1"].operator, rows)
    assert len(asked) == 1 and asked[0]["type"] == "registry.ids_held"
    assert asked[0]["body"]["count"] == 2
    report = rows_of(job)
    assert report[2]["outcome"] == "new" and not report[2]["warnings"]
    assert report[3]["outcome"] == "refused"
    [problem] = report[3]["problems"]
    assert problem["code"] == "id_number_held_in_other_province" and "南宁市民主路小学" in problem["message"]
    record = PeerQuery.objects.get()
    assert (record.direction, record.outcome, record.user, record.question["count"]) == (
        "asked", "held", world["a1"].operator, 2)


@pytest.mark.usefixtures("fast_passwords", "roster_media")
@pytest.mark.parametrize("records_kept", [True, False], ids=["records-of-the-dry-run", "file-read-again"])
def test_a_peer_that_does_not_answer_leaves_the_rows_importable_with_a_warning_kept_in_history(
        world, peer_batches, records_kept):
    state, asked = peer_batches
    state["answer"] = lambda items: None
    user = world["a1"].operator
    job = _checked(user, [roster_row(world.school_a1, seq=41)])
    [warning] = rows_of(job)[2]["warnings"]
    assert warning["code"] == "peer_check_skipped" and warning["peers"] == ["广西"]
    assert job.new_rows == 1 and PeerQuery.objects.get().outcome == "unreachable"
    if not records_kept:  # the import reads the file again and takes the dry run's outcomes
        job.records_file = ""
        job.save(update_fields=["records_file"])
    job = _import(user, job)
    assert job.imported_rows == 1 and len(asked) == 1  # nothing changed: the import does not ask again
    pupil = Pupil.objects.get(name="赵小明")
    entry = HistoryEntry.objects.get(pupil=pupil, kind="peer_check_skipped")
    assert "广西" in entry.summary and entry.data["peers"] == ["广西"] and entry.data["roster_import"] == job.pk
    assert rows_of(job)[2]["warnings"] == [warning]
    assert any(line[7] == "peer_check_skipped" for line in reports.report_lines(job))


@pytest.mark.usefixtures("fast_passwords", "roster_media")
def test_without_peers_the_dry_run_asks_nobody_and_looks_once(world, monkeypatch):
    def post(*args, **kwargs):  # pragma: no cover - must not be called
        raise AssertionError("a peer was asked")

    monkeypatch.setattr(transport, "post", post)
    user = world["a1"].operator
    job = jobs.roster_upload(user=user, content=xlsx_bytes([roster_row(world.school_a1, seq=51)]), file_name="r.xlsx")
    with CaptureQueriesContext(connection) as queries:
        job = jobs.roster_check(job_id=job.pk)
    assert job.new_rows == 1
    assert sum('"exchange_' in q["sql"] for q in queries.captured_queries) == 1


@pytest.mark.usefixtures("fast_passwords", "roster_media")
def test_a_peer_that_does_not_answer_one_batch_is_not_waited_for_again_and_every_later_row_is_warned(
        world, peer_batches, monkeypatch):
    from rosters import checking

    state, asked = peer_batches
    state["answer"] = lambda items: None
    monkeypatch.setattr(checking, "BATCH_SIZE", 1)
    rows = [roster_row(world.school_a1, seq=71), roster_row(world.school_a1, name="钱小红", sex="女", seq=72)]
    job = _checked(world["a1"].operator, rows)
    assert len(asked) == 1  # one timeout for the file, not one per batch
    assert [rows_of(job)[n]["warnings"][0]["peers"] for n in (2, 3)] == [["广西"], ["广西"]]
    assert job.new_rows == 2
