"""Two real registries on this machine — province 44 on A, province 45 on B — each with its
own database, web server and Celery worker: a duplicate question across them, messages that
wait while the peer is down and then arrive in order and once, replayed and tampered
messages refused and logged."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import urllib.error
import urllib.request

import pytest

from exchange import signing
from tests.exchange.registries import (
    MARK,
    SETUP,
    Registry,
    database_copy,
    database_drop,
    redis_claim,
    redis_release,
)
from tests.factories import resident_id

pytestmark = [pytest.mark.slow, pytest.mark.celery]
BIRTH = dt.date(2018, 4, 2)
HELD_IN_B = resident_id(BIRTH, "2", region="450102", seq=77)


@pytest.fixture(scope="module")
def registries(django_db_blocker):
    from django.conf import settings
    from django.db import connections

    db = settings.DATABASES["default"]
    redis_base = settings.REDIS_URL.rstrip("/").rsplit("/", 1)[0] if settings.REDIS_URL.count("/") > 2 else ""
    if not str(db.get("HOST", "")).startswith(("127.", "localhost")) or not redis_base.startswith("redis://"):
        pytest.skip("the two registries need PostgreSQL and Redis over TCP (DATABASE_URL, REDIS_URL)")
    template = db["TEST"]["NAME"]  # the suite's test database, its schema migrated
    server = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}"
    connections.close_all()
    keys = [signing.key_generate() for _ in range(2)]
    owner = f"{template}-{os.getpid()}"
    brokers = redis_claim(redis_base, owner)  # two Redis DBs of this run's own
    a = Registry("a", "44", f"{server}/" + f"{template}"[:60] + "_xa", brokers[0], *keys[0])
    b = Registry("b", "45", f"{server}/" + f"{template}"[:60] + "_xb", brokers[1], *keys[1])
    with django_db_blocker.unblock():
        for registry in (a, b):
            migrate = not database_copy(server, template, registry.database_url.rsplit("/", 1)[1])
            if migrate:  # no test database yet: this registry's own is migrated from nothing
                registry.manage("migrate", "-v", "0")
    try:
        a.start_server(), b.start_server()
        a.start_worker(), b.start_worker()
        for registry, peer, school in ((a, b, ("4401060001", "天河第一小学", "440106")),
                                       (b, a, ("4501020001", "南宁市民主路小学", "450102"))):
            registry.setup = registry.run(SETUP.format(
                label=registry.label, province=registry.province, school_code=school[0], school_name=school[1],
                county=school[2], peer_name={"44": "广东", "45": "广西"}[peer.province], peer_province=peer.province,
                peer_url=peer.url, peer_key=peer.public_key, mark=MARK))
        yield a, b
    finally:
        for registry in (a, b):
            registry.stop()
        for registry in (a, b):
            database_drop(server, registry.database_url.rsplit("/", 1)[1])
        redis_release(brokers, owner)


def wait_for(condition, *, timeout: float = 60, what: str = ""):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def post(url: str, body, headers=None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


SEND = """
from django.db import transaction
from exchange.services import message_send
for note in {notes!r}:
    with transaction.atomic():
        message_send(type="exchange.ping", province="45", body={{"note": note}})
"""


def notes_delivered(a: Registry) -> list[str]:
    return [row[0] for row in a.query("SELECT envelope->'body'->>'note' FROM exchange_outboxmessage"
                                      " WHERE state = 'delivered' ORDER BY id")]


def test_an_id_held_in_the_other_province_is_refused_at_entry_and_the_question_recorded_on_both_sides(registries):
    a, b = registries
    b.run(f"""
from schools.models import School
from tests.factories import make_pupil
make_pupil(School.objects.get(code="4501020001"), name="黄小梅", sex="2", birth_date={BIRTH!r}, id_number={HELD_IN_B!r})
""".replace("datetime.date", "__import__('datetime').date"))
    refused = a.run(f"""
from django.contrib.auth import get_user_model
from enrolment.registration import pupil_register
from kernel.errors import BusinessRefused
from tests.enrolment.test_registration import id_record
from schools.models import School
import datetime
data = id_record(School.objects.get(code="4401060001"), id_number={HELD_IN_B!r}, birth_date=datetime.date(2018, 4, 2))
try:
    pupil_register(user=get_user_model().objects.get(username="op-a"), data=data)
    print({MARK!r} + '"registered"')
except BusinessRefused as exc:
    import json
    print({MARK!r} + json.dumps([exc.code, str(exc.message)]))
""")
    assert refused[0] == "id_number_held_in_other_province", refused
    assert "南宁市民主路小学" in refused[1]
    status, answers = post(f"{a.url}/api/v1/exchange/id-check", {"id_number": HELD_IN_B},
                           {"Authorization": f"Bearer {a.setup['token']}"})
    assert status == 200, answers
    assert answers == [{"peer": "广西", "provinces": ["45"], "outcome": "held", "holders": [{
        "province": "45", "school_code": "4501020001", "school_name": "南宁市民主路小学", "status": "enrolled",
        "status_label": "在读"}]}]
    assert a.query("SELECT direction, outcome FROM exchange_peerquery ORDER BY id") == [("asked", "held")] * 2
    assert b.query("SELECT direction, outcome FROM exchange_peerquery ORDER BY id") == [("answered", "held")] * 2


def test_a_destination_school_looks_up_a_pupil_in_the_other_registry(registries):
    a, b = registries
    status, found = post(f"{a.url}/api/v1/transfers/remote-lookup",
                         {"origin_school_code": "4501020001", "name": "黄小梅", "id_number": HELD_IN_B},
                         {"Authorization": f"Bearer {a.setup['token']}"})
    assert status == 200, found
    assert found["peer"] == "广西" and found["origin_school_name"] == "南宁市民主路小学"
    [card] = found["found"]
    assert (card["name"], card["birth_date"], card["sex"]) == ("黄小梅", BIRTH.isoformat(), "2")
    assert a.query("SELECT type, direction FROM exchange_peerquery WHERE type = 'transfer.lookup'") == [
        ("transfer.lookup", "asked")]
    assert b.query("SELECT type, direction, question->>'asking_school_code' FROM exchange_peerquery"
                   " WHERE type = 'transfer.lookup'") == [("transfer.lookup", "answered", "4401060001")]


def test_messages_wait_while_the_peer_is_down_then_arrive_in_order_and_once(registries):
    a, b = registries
    a.run(SEND.format(notes=["1", "2", "3"]))
    wait_for(lambda: len(notes_delivered(a)) >= 3, what="the first messages")
    b.stop_server()
    try:
        a.run(SEND.format(notes=["4", "5", "6"]))
        wait_for(lambda: a.query("SELECT count(*) FROM exchange_outboxmessage WHERE state = 'waiting'"
                                 " AND attempts >= 2")[0][0] >= 1, what="a failed attempt")
        assert a.query("SELECT count(*) FROM exchange_outboxmessage WHERE state = 'waiting'")[0][0] == 3
    finally:
        b.start_server()
    wait_for(lambda: len(notes_delivered(a)) >= 6, what="the waiting messages", timeout=30)
    received = [row[0] for row in b.query("SELECT envelope->'body'->>'note' FROM exchange_inboxmessage"
                                          " WHERE type = 'exchange.ping' ORDER BY id")]
    assert received == ["1", "2", "3", "4", "5", "6"]


def test_a_replayed_and_a_tampered_message_are_refused_and_logged(registries):
    a, b = registries
    a.run(SEND.format(notes=["replay me"]))
    wait_for(lambda: "replay me" in notes_delivered(a), what="the message")
    [(envelope,)] = a.query("SELECT envelope FROM exchange_outboxmessage WHERE envelope->'body'->>'note' = 'replay me'")
    before = b.query("SELECT count(*) FROM exchange_inboxmessage")[0][0]
    status, body = post(f"{b.url}/api/v1/exchange/messages", envelope)
    assert (status, body["code"]) == (409, "message_replayed")
    tampered = {**envelope, "id": "6d1f8a52-0000-4000-8000-000000000000", "body": {"note": "tampered"}}
    status, body = post(f"{b.url}/api/v1/exchange/messages", tampered)
    assert (status, body["code"]) == (401, "bad_signature")
    assert b.query("SELECT count(*) FROM exchange_inboxmessage")[0][0] == before
    logged = b.query("SELECT code, message_id FROM exchange_inboxrefusal ORDER BY id")[-2:]
    assert logged == [("message_replayed", envelope["id"]), ("bad_signature", tampered["id"])]


def bearer(registry, who: str) -> dict:
    return {"Authorization": f"Bearer {registry.setup[who]}"}


def approve_at_destination(a, pk: int) -> None:
    """The destination's own steps: its school approver submits, its county approves (sent)."""
    status, moved = post(f"{a.url}/api/v1/transfers/remote/{pk}/submit", {}, bearer(a, "approver"))
    assert (status, moved["state"]) == (200, "dest_county"), moved
    status, moved = post(f"{a.url}/api/v1/transfers/remote/{pk}/approve", {}, bearer(a, "county"))
    assert (status, moved["state"]) == (200, "origin_school"), moved


def test_a_destination_school_applies_and_the_origin_registry_holds_the_application_at_its_school(registries):
    a, b = registries
    auth = {"Authorization": f"Bearer {a.setup['token']}"}
    status, found = post(f"{a.url}/api/v1/transfers/remote-lookup",
                         {"origin_school_code": "4501020001", "name": "黄小梅", "id_number": HELD_IN_B}, auth)
    assert status == 200, found
    application = {"ref": found["found"][0]["ref"], "origin_school_code": "4501020001", "pupil_name": "黄小梅",
                   "dest_grade": 3, "dest_class_number": 1, "reason": "随父母务工迁居"}
    status, applied = post(f"{a.url}/api/v1/transfers/remote-apply", application, auth)
    assert status == 201, applied
    approve_at_destination(a, applied["id"])
    wait_for(lambda: a.query("SELECT state FROM exchange_outboxmessage WHERE type = 'transfer.applied'")
             == [("delivered",)], what="the application delivered")
    assert b.query("SELECT side, application::text, pupil_name, dest_school_code, state FROM transfers_crosstransfer") == [
        ("origin", applied["application"], "黄小梅", "4401060001", "origin_school")]
    assert a.query("SELECT side, origin_school_code, state FROM transfers_crosstransfer") == [
        ("dest", "4501020001", "origin_school")]

    # A second application for the same pupil is refused there; the reason is on the sender's page.
    status, again = post(f"{a.url}/api/v1/transfers/remote-apply", application, auth)
    assert status == 201, again
    approve_at_destination(a, again["id"])
    wait_for(lambda: a.query("SELECT state, refusal_code FROM exchange_outboxmessage"
                             " WHERE type = 'transfer.applied' ORDER BY id")[-1] == ("refused", "open_business"),
             what="the second application refused")
    assert b.query("SELECT count(*) FROM transfers_crosstransfer")[0][0] == 1
    # ... and the destination's row is closed as refused with the origin's reason.
    [(state, reason)] = a.query("SELECT state, closed_reason FROM transfers_crosstransfer WHERE id = %s",
                                [again["id"]])
    assert state == "refused" and "正在办理" in reason and reason.endswith("（广西学籍系统）"), (state, reason)

    # The destination withdraws the first application: the origin's record is closed too.
    [(first_id,)] = a.query("SELECT id FROM transfers_crosstransfer WHERE application::text = %s",
                            [applied["application"]])
    status, cancelled = post(f"{a.url}/api/v1/transfers/remote/{first_id}/cancel", {"reason": "家长改变主意"}, auth)
    assert (status, cancelled["state"]) == (200, "cancelled"), cancelled
    wait_for(lambda: b.query("SELECT state FROM transfers_crosstransfer") == [("cancelled",)],
             what="the cancel at the origin")


def test_a_full_chain_releases_the_record_to_the_destination_with_the_same_national_number(registries):
    a, b = registries
    status, found = post(f"{a.url}/api/v1/transfers/remote-lookup",
                         {"origin_school_code": "4501020001", "name": "黄小梅", "id_number": HELD_IN_B}, bearer(a, "token"))
    assert status == 200, found
    application = {"ref": found["found"][0]["ref"], "origin_school_code": "4501020001", "pupil_name": "黄小梅",
                   "dest_grade": 3, "dest_class_number": 1, "reason": "随父母务工迁居"}
    status, applied = post(f"{a.url}/api/v1/transfers/remote-apply", application, bearer(a, "token"))
    assert status == 201, applied
    approve_at_destination(a, applied["id"])
    origin = wait_for(lambda: b.query("SELECT id FROM transfers_crosstransfer WHERE application::text = %s"
                                      " AND state = 'origin_school'", [applied["application"]]),
                      what="the application at the origin school")[0][0]
    status, moved = post(f"{b.url}/api/v1/transfers/remote/{origin}/approve", {}, bearer(b, "approver"))
    assert (status, moved["state"]) == (200, "origin_county"), moved
    wait_for(lambda: a.query("SELECT state FROM transfers_crosstransfer WHERE id = %s", [applied["id"]])
             == [("origin_county",)], what="the origin school's step shown at the destination")
    status, moved = post(f"{b.url}/api/v1/transfers/remote/{origin}/approve", {}, bearer(b, "county"))
    assert (status, moved["state"]) == (200, "completed"), moved
    wait_for(lambda: a.query("SELECT state FROM transfers_crosstransfer WHERE id = %s", [applied["id"]])
             == [("completed",)], what="the release at the destination")
    [(number, status_b)] = b.query("SELECT national_number, status FROM registry_pupil WHERE id_number = %s",
                                   [HELD_IN_B])
    assert status_b == "transferred_out"
    assert a.query("SELECT national_number, status, name FROM registry_pupil WHERE id_number = %s", [HELD_IN_B]) == [
        (number, "enrolled", "黄小梅")]


def test_the_pupil_moves_back_and_the_record_kept_there_is_re_activated(registries):
    a, b = registries  # after the full chain: enrolled on A, kept as 转出 on B
    [(number,)] = a.query("SELECT national_number FROM registry_pupil WHERE id_number = %s", [HELD_IN_B])
    status, found = post(f"{b.url}/api/v1/transfers/remote-lookup",
                         {"origin_school_code": "4401060001", "name": "黄小梅", "id_number": HELD_IN_B}, bearer(b, "token"))
    assert status == 200, found
    application = {"ref": found["found"][0]["ref"], "origin_school_code": "4401060001", "pupil_name": "黄小梅",
                   "dest_grade": 3, "dest_class_number": 2, "reason": "随父母返回原籍"}
    status, applied = post(f"{b.url}/api/v1/transfers/remote-apply", application, bearer(b, "token"))
    assert status == 201, applied
    approve_at_destination(b, applied["id"])
    origin = wait_for(lambda: a.query("SELECT id FROM transfers_crosstransfer WHERE application::text = %s"
                                      " AND state = 'origin_school'", [applied["application"]]),
                      what="the application at A's school")[0][0]
    for who in ("approver", "county"):
        status, moved = post(f"{a.url}/api/v1/transfers/remote/{origin}/approve", {}, bearer(a, who))
        assert status == 200, moved
    wait_for(lambda: b.query("SELECT state FROM transfers_crosstransfer WHERE id = %s", [applied["id"]])
             == [("completed",)], what="the release back at B")
    assert b.query("SELECT national_number, status FROM registry_pupil WHERE id_number = %s", [HELD_IN_B]) == [
        (number, "enrolled")]  # the one record B kept, enrolled again
    assert a.query("SELECT status FROM registry_pupil WHERE national_number = %s", [number]) == [("transferred_out",)]
    assert b.query("SELECT h.kind, h.summary FROM registry_historyentry h JOIN registry_pupil p ON p.id = h.pupil_id"
                   " WHERE p.national_number = %s GROUP BY h.kind, h.summary, date_trunc('second', h.at)"
                   " HAVING count(*) > 1", [number]) == []  # the history B had is not copied back twice


PROVINCE_STEPS = """
import json
from accounts.models import ApiToken, Membership
from provinces.models import Division, ProvincePolicy
from tests.factories import make_user
ProvincePolicy.objects.update_or_create(province_id={province!r}, defaults={{"transfer_cross_province_province_step": True}})
user = make_user("province-approver-{label}", role=Membership.Role.APPROVER, division=Division.objects.get(code={province!r}))
_, token = ApiToken.issue(user, access=ApiToken.Access.WRITE)
print({mark!r} + json.dumps(token))
"""


def test_each_provinces_step_runs_on_its_own_registry_when_its_policy_asks(registries):
    a, b = registries  # the pupil is on B again; both provinces now add their province step
    for registry in (a, b):
        registry.setup["province"] = registry.run(PROVINCE_STEPS.format(province=registry.province,
                                                                        label=registry.label, mark=MARK))
    status, found = post(f"{a.url}/api/v1/transfers/remote-lookup",
                         {"origin_school_code": "4501020001", "name": "黄小梅", "id_number": HELD_IN_B}, bearer(a, "token"))
    assert status == 200, found
    application = {"ref": found["found"][0]["ref"], "origin_school_code": "4501020001", "pupil_name": "黄小梅",
                   "dest_grade": 3, "dest_class_number": 1, "reason": "随父母务工迁居"}
    status, applied = post(f"{a.url}/api/v1/transfers/remote-apply", application, bearer(a, "token"))
    assert status == 201, applied
    pk = applied["id"]
    status, moved = post(f"{a.url}/api/v1/transfers/remote/{pk}/submit", {}, bearer(a, "approver"))
    assert (status, moved["state"]) == (200, "dest_county"), moved
    status, moved = post(f"{a.url}/api/v1/transfers/remote/{pk}/approve", {}, bearer(a, "county"))
    assert (status, moved["state"]) == (200, "dest_province"), moved  # A's province, on A, before it travels
    assert a.query("SELECT division_id FROM registry_workitem WHERE state = 'open' AND object_id = %s"
                   " AND kind = 'cross_transfer'", [pk]) == [("44",)]
    assert not a.query("SELECT 1 FROM exchange_outboxmessage WHERE type = 'transfer.applied'"
                       " AND envelope->'body'->>'application' = %s", [applied["application"]])
    status, moved = post(f"{a.url}/api/v1/transfers/remote/{pk}/approve", {}, bearer(a, "province"))
    assert (status, moved["state"]) == (200, "origin_school"), moved
    origin = wait_for(lambda: b.query("SELECT id FROM transfers_crosstransfer WHERE application::text = %s"
                                      " AND state = 'origin_school'", [applied["application"]]),
                      what="the application at B's school")[0][0]
    for who, state in (("approver", "origin_county"), ("county", "origin_province")):
        status, moved = post(f"{b.url}/api/v1/transfers/remote/{origin}/approve", {}, bearer(b, who))
        assert (status, moved["state"]) == (200, state), moved
    assert b.query("SELECT division_id FROM registry_workitem WHERE state = 'open' AND object_id = %s"
                   " AND kind = 'cross_transfer'", [origin]) == [("45",)]  # B's province, on B
    wait_for(lambda: a.query("SELECT state, steps FROM transfers_crosstransfer WHERE id = %s", [pk]) == [
        ("origin_province", ["dest_county", "dest_province", "origin_school", "origin_county", "origin_province"])],
        what="B's province step shown on A")
    status, moved = post(f"{b.url}/api/v1/transfers/remote/{origin}/approve", {}, bearer(b, "province"))
    assert (status, moved["state"]) == (200, "completed"), moved
    wait_for(lambda: a.query("SELECT state FROM transfers_crosstransfer WHERE id = %s", [pk]) == [("completed",)],
             what="the release at A")
    assert a.query("SELECT status FROM registry_pupil WHERE id_number = %s", [HELD_IN_B]) == [("enrolled",)]


ROSTER_BIRTH = dt.date(2018, 5, 3)
ROSTER_HELD_IN_B = resident_id(ROSTER_BIRTH, "1", region="450102", seq=78)


def test_a_roster_dry_run_asks_the_other_registry_once_and_refuses_a_row_held_there(registries):
    a, b = registries
    b.run(f"""
from schools.models import School
from tests.factories import make_pupil
make_pupil(School.objects.get(code="4501020001"), name="黄小刚", sex="1", birth_date={ROSTER_BIRTH!r},
           id_number={ROSTER_HELD_IN_B!r})
""".replace("datetime.date", "__import__('datetime').date"))
    outcomes = a.run(f"""
import datetime, json
from django.contrib.auth import get_user_model
from schools.models import School
from rosters.checking import check_rows
from rosters.reading import parse_table, read_table
from tests.rosters.test_support import roster_row, xlsx_bytes
school = School.objects.get(code="4401060001")
lines = [roster_row(school, seq=61), roster_row(school, name="黄小刚", birth=datetime.date(2018, 5, 3),
                                                id_number={ROSTER_HELD_IN_B!r})]
rows = check_rows(user=get_user_model().objects.get(username="op-a"), table=parse_table(read_table(xlsx_bytes(lines))[1]))
print({MARK!r} + json.dumps([[row.outcome, [p["code"] for p in row.problems]] for row in rows]))
""")
    assert outcomes[1] == ["refused", ["id_number_held_in_other_province"]], outcomes
    assert outcomes[0][1] != ["id_number_held_in_other_province"]
    assert a.query("SELECT direction, outcome, (question->>'count')::int FROM exchange_peerquery"
                   " WHERE type = 'registry.ids_held'") == [("asked", "held", 2)]
    assert b.query("SELECT direction, outcome, (question->>'count')::int FROM exchange_peerquery"
                   " WHERE type = 'registry.ids_held'") == [("answered", "held", 2)]


def test_a_sweep_asks_the_other_registry_about_a_no_id_child_by_its_family(registries):
    a, b = registries
    child = """
from schools.models import School
from tests.factories import make_pupil
pupil = make_pupil(School.objects.get(code={code!r}), name="黄小燕", sex="2", birth_date=__import__('datetime').date(2018, 6, 9),
                   id_number="")
"""
    b.run(child.format(code="4501020001"))
    opened = a.run(child.format(code="4401060001") + f"""
from django.contrib.auth import get_user_model
from duplicates.models import DuplicateSweep, PeerHolding
from duplicates.peers import sweep_ask_peers
sweep = DuplicateSweep.objects.create(province_id="44", partitions_total=1,
                                      started_by=get_user_model().objects.get(username="province-a"))
opened = sweep_ask_peers(sweep, [pupil.pk])
print({MARK!r} + __import__('json').dumps([opened, PeerHolding.objects.get(pupil=pupil).card]))
""")
    assert opened == [1, {"province": "45", "school_code": "4501020001", "school_name": "南宁市民主路小学",
                          "status": "enrolled", "status_label": "在读"}], opened
    question = "SELECT direction, outcome, question->'items'->0->'no_id_child'->>'name' FROM exchange_peerquery" \
               " WHERE type = 'registry.ids_held' ORDER BY id DESC LIMIT 1"
    assert a.query(question) == [("asked", "held", "黄小燕")]
    assert b.query(question) == [("answered", "held", "黄小燕")]
