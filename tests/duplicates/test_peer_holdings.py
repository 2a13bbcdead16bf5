"""跨省在籍: the incremental sweep asks the peer registries, in one question per partition,
whether the resident IDs of the records changed since the last sweep are held there by an
active record; a held one becomes a problem record of its county (``PeerHolding``), resolved
when a later sweep's answer no longer holds it; a peer that does not answer changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import Membership
from duplicates import peers, sweeps
from duplicates.models import DuplicateSweep, PeerHolding
from duplicates.peers import REASON_MAX
from duplicates.problems import pupil_problem_reasons
from exchange.models import PeerQuery
from kernel.errors import Forbidden, NotFound
from provinces.models import ProvincePolicy
from registry.models import ACTIVE_STATUSES, HistoryEntry, Pupil
from tests.duplicates.test_incremental import full_sweep, incremental, run_all
from tests.exchange.conftest import own_key, peer_world  # noqa: F401
from tests.exchange.test_ids_held import CARD, _held_in_guangxi, peer_batches  # noqa: F401
from tests.factories import make_pupil, make_user

Role = Membership.Role


@pytest.fixture
def answers(request):
    """The fake peer of ``tests.exchange.test_ids_held.peer_batches``: (its answer, questions asked)."""
    return request.getfixturevalue("peer_batches")


def test_a_changed_record_held_in_another_province_becomes_a_problem_record_of_its_county(world, answers):
    state, asked = answers
    make_pupil(world.school_a1, name="王旧", birth_date=dt.date(2014, 2, 3))
    full_sweep(world)
    assert not asked  # the full sweep does not ask
    held = make_pupil(world.school_b1, name="黄小梅", sex="2", birth_date=dt.date(2015, 6, 7))
    other = make_pupil(world.school_a1, name="陈小东", birth_date=dt.date(2015, 7, 8))
    make_pupil(world.school_a1, name="刘已毕", birth_date=dt.date(2012, 1, 9), status="graduated")
    state["answer"] = _held_in_guangxi(held.id_number)
    sweep = incremental(world)
    assert len(asked) == 1 and asked[0]["body"]["count"] == 2  # the active changed records only
    assert sorted(item["id_number"] for item in asked[0]["body"]["items"]) == sorted([held.id_number,
                                                                                        other.id_number])
    holding = PeerHolding.objects.get()
    assert (holding.pupil, holding.county_code, holding.peer_name, holding.sweep, holding.status) == (
        held, held.county_code, "广西", sweep, "open")
    assert holding.card == CARD
    assert any("广西" in reason and CARD["school_name"] in reason for reason in pupil_problem_reasons(held))
    assert not pupil_problem_reasons(other)
    record = PeerQuery.objects.get()
    assert (record.direction, record.outcome, record.type, record.user, record.question["count"]) == (
        "asked", "held", "registry.ids_held", world["province"].admin, 2)

    incremental(world)  # nothing changed since: nobody asked
    assert len(asked) == 1
    held.save()
    state["answer"] = lambda items: {"held": False, "holders": []}
    incremental(world)
    assert len(asked) == 2 and asked[1]["body"]["items"] == [{"id_number": held.id_number, "no_id_child": None}]
    holding.refresh_from_db()
    assert holding.status == "resolved" and not pupil_problem_reasons(held)


def test_a_peer_that_does_not_answer_the_sweep_changes_nothing(world, answers):
    state, asked = answers
    full_sweep(world)
    make_pupil(world.school_a1, name="陈小东", birth_date=dt.date(2015, 7, 8))
    state["answer"] = lambda items: None
    sweep = incremental(world)
    assert sweep.status == "finished" and len(asked) == 1
    assert not PeerHolding.objects.exists() and PeerQuery.objects.get().outcome == "unreachable"


def test_the_county_sees_its_pupils_held_in_another_province_on_the_problem_record_page(world, login):
    held = make_pupil(world.school_b1, name="黄小梅", sex="2", birth_date=dt.date(2015, 6, 7))
    PeerHolding.objects.create(pupil=held, county_code=held.county_code, peer_name="广西", card=CARD)
    page = login(world["county_b"].approver).get("/province/cases/").content.decode()
    assert 'data-testid="peer-holdings"' in page and held.national_number in page and CARD["school_name"] in page
    neighbour = login(world["county_a"].approver).get("/province/cases/").content.decode()
    assert held.national_number not in neighbour


# --- 已处理 by the county ----------------------------------------------------------------------

@pytest.fixture
def holding(world):
    held = make_pupil(world.school_b1, name="黄小梅", sex="2", birth_date=dt.date(2015, 6, 7))
    return PeerHolding.objects.create(pupil=held, county_code=held.county_code, peer_name="广西", card=CARD)


def test_the_countys_approver_resolves_a_holding_with_a_reason_from_the_page(world, holding, login):
    client = login(world["county_b"].approver)
    page = client.get("/province/cases/").content.decode()
    assert 'data-testid="peer-holding-resolve"' in page and "csrfmiddlewaretoken" in page
    assert PeerHolding.objects.get().status == "open"  # GET writes nothing
    response = client.post(f"/province/peer-holdings/{holding.pk}/resolve/", {"reason": " 外省已注销 "})
    assert response.status_code == 302
    holding.refresh_from_db()
    assert (holding.status, holding.resolved_by, holding.resolution_reason) == (
        "resolved", world["county_b"].approver, "外省已注销")
    assert holding.resolved_at is not None
    assert not pupil_problem_reasons(holding.pupil)
    entry = HistoryEntry.objects.filter(pupil_id=holding.pupil_id, kind="peer_holding_resolved").get()
    assert entry.actor == world["county_b"].approver and "外省已注销" in entry.summary
    assert holding.pupil.national_number not in client.get("/province/cases/").content.decode()


def test_the_api_resolves_a_holding_and_refuses_a_second_time(world, holding, client, api_token):
    headers = api_token(world["county_b"].approver)
    response = client.post(f"/api/v1/peer-holdings/{holding.pk}/resolve", {"reason": "已办理跨省转学"},
                           content_type="application/json", **headers)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["resolution_reason"], body["resolved_by"]) == (
        "resolved", "已办理跨省转学", world["county_b"].approver.username)
    again = client.post(f"/api/v1/peer-holdings/{holding.pk}/resolve", {"reason": "已办理跨省转学"},
                        content_type="application/json", **headers)
    assert again.status_code == 409 and again.json()["code"] == "holding_not_open"


@pytest.mark.parametrize("reason, code", [("", "reason_required"), ("   ", "reason_required"),
                                          ("理" * (REASON_MAX + 1), "reason_too_long")])
def test_an_empty_or_too_long_reason_is_refused_with_422(world, holding, client, api_token, reason, code):
    response = client.post(f"/api/v1/peer-holdings/{holding.pk}/resolve", {"reason": reason},
                           content_type="application/json", **api_token(world["county_b"].approver))
    assert response.status_code == 422 and response.json()["code"] == code
    assert "处理理由" in response.json()["message"]
    assert PeerHolding.objects.get().status == "open"


def test_only_the_approver_of_the_pupils_county_resolves_a_holding(world, holding, client, api_token):
    viewer = make_user("440105.viewer", role=Role.VIEWER, division=world.county_b)
    for user, status in ((world["county_b"].operator, 403), (viewer, 403), (world["province"].admin, 403),
                         (world["b1"].approver, 403), (world["county_a"].approver, 404)):
        response = client.post(f"/api/v1/peer-holdings/{holding.pk}/resolve", {"reason": "经核实非同一学生"},
                               content_type="application/json", **api_token(user))
        assert response.status_code == status, (user.username, response.content)
    with pytest.raises(Forbidden):
        peers.peer_holding_resolve(user=world["county_b"].operator, holding_id=holding.pk, reason="经核实非同一学生")
    with pytest.raises(NotFound):
        peers.peer_holding_resolve(user=world["county_a"].approver, holding_id=holding.pk, reason="经核实非同一学生")
    assert PeerHolding.objects.get().status == "open" and pupil_problem_reasons(holding.pupil)


def test_the_page_of_another_county_cannot_resolve_it(world, holding, login):
    response = login(world["county_a"].approver).post(f"/province/peer-holdings/{holding.pk}/resolve/",
                                                      {"reason": "经核实非同一学生"})
    assert response.status_code == 404
    page = login(world["county_b"].operator).get("/province/cases/").content.decode()
    assert holding.pupil.national_number in page and 'data-testid="peer-holding-resolve"' not in page
    assert PeerHolding.objects.get().status == "open"


# --- a full sweep that asks the peers ----------------------------------------------------------

def _full(world, **options):
    return run_all(sweeps.sweep_start(user=world["province"].admin, province_code="44", partitions=2,
                                      dispatch=False, **options))


def test_a_full_sweep_started_with_ask_peers_asks_about_every_active_resident_id_once_in_batches(
        world, answers, monkeypatch):
    state, asked = answers
    monkeypatch.setattr(peers, "MAX_ITEMS", 2)
    held = make_pupil(world.school_b1, name="黄小梅", sex="2", birth_date=dt.date(2015, 6, 7))
    for i, name in enumerate(("陈小东", "赵小南", "钱小西", "孙小北")):
        make_pupil(world.school_a1, name=name, birth_date=dt.date(2015, 7, 8 + i))
    make_pupil(world.school_a1, name="刘已毕", birth_date=dt.date(2012, 1, 9), status="graduated")
    state["answer"] = _held_in_guangxi(held.id_number)
    sweep = _full(world, ask_peers=True)
    assert sweep.ask_peers and sweep.status == "finished"
    expected = sorted(Pupil.objects.filter(county_code__startswith="44", status__in=ACTIVE_STATUSES)
                      .exclude(id_number="").values_list("id_number", flat=True))
    assert len(expected) == 7  # the world's two, five here; not the graduate, not province 42's
    assert all(len(q["body"]["items"]) <= 2 for q in asked)
    assert sorted(item["id_number"] for q in asked for item in q["body"]["items"]) == expected
    holding = PeerHolding.objects.get()
    assert (holding.pupil, holding.sweep, holding.status) == (held, sweep, "open")


def test_the_province_policy_makes_every_full_sweep_ask_and_the_default_does_not(world, answers):
    state, asked = answers
    sweep = _full(world)
    assert not sweep.ask_peers and not asked
    ProvincePolicy.objects.update_or_create(province_id="44", defaults={"full_sweep_asks_peers": True})
    sweep = _full(world)
    assert sweep.ask_peers and len(asked) == 2  # one question a partition (two records, one peer)


def test_the_sweep_page_and_the_api_start_a_full_sweep_that_asks_only_when_chosen(world, login, client, api_token,
                                                                                   monkeypatch):
    monkeypatch.setattr(sweeps, "_dispatch", lambda *a, **k: None)
    admin = world["province"].admin
    page = login(admin)
    assert 'data-testid="sweep-ask-peers"' in page.get("/province/sweeps/").content.decode()
    assert page.post("/province/sweeps/start/", {"partitions": "2", "ask_peers": "1"}).status_code == 302
    assert DuplicateSweep.objects.get().ask_peers
    DuplicateSweep.objects.update(status="finished")
    response = client.post("/api/v1/duplicate-sweeps", {"province": "44", "partitions": 2},
                           content_type="application/json", **api_token(admin))
    assert response.status_code == 201 and response.json()["ask_peers"] is False
    assert not DuplicateSweep.objects.get(pk=response.json()["id"]).ask_peers


# --- no-ID children asked by their family --------------------------------------------------------

def _held_by_name(name: str):
    """A peer holding the no-ID child of that name (whatever the family asked)."""
    def answer(items):
        holders = [{"item": i, **CARD} for i, item in enumerate(items)
                   if (item.get("no_id_child") or {}).get("name") == name]
        return {"held": bool(holders), "holders": holders}
    return answer


def _no_id_child(school, name: str, *, family: bool = True, **extra) -> Pupil:
    pupil = make_pupil(school, name=name, id_number="", birth_date=dt.date(2016, 4, 5), **extra)
    if not family:
        pupil.guardians.update(id_number="")
    return pupil


def test_the_sweep_asks_about_a_changed_no_id_child_by_its_family_and_a_held_one_is_a_problem_record(
        world, answers):
    state, asked = answers
    full_sweep(world)
    child = _no_id_child(world.school_b1, "黄小梅")
    _no_id_child(world.school_a1, "陈无号", family=False)  # no family ID number: nothing to ask by
    with_id = make_pupil(world.school_a1, name="陈小东", birth_date=dt.date(2015, 7, 8))
    state["answer"] = _held_by_name("黄小梅")
    sweep = incremental(world)
    [question] = asked
    family = sorted(g.id_number for g in child.guardians.all() if g.id_number)
    assert family and question["body"]["count"] == 2
    assert question["body"]["items"] == [
        {"id_number": "", "no_id_child": {"name": "黄小梅", "birth_date": "2016-04-05", "guardian_id_numbers": family}},
        {"id_number": with_id.id_number, "no_id_child": None}]
    holding = PeerHolding.objects.get()
    assert (holding.pupil, holding.county_code, holding.peer_name, holding.sweep, holding.status, holding.card) == (
        child, child.county_code, "广西", sweep, "open", CARD)
    assert pupil_problem_reasons(child) and not pupil_problem_reasons(with_id)

    child.save()  # changed again; the peer no longer holds it
    state["answer"] = lambda items: {"held": False, "holders": []}
    incremental(world)
    assert asked[1]["body"]["items"][0]["no_id_child"]["name"] == "黄小梅"
    holding.refresh_from_db()
    assert holding.status == "resolved" and not pupil_problem_reasons(child)


def test_a_full_sweep_that_asks_includes_the_active_no_id_children_once(world, answers, monkeypatch):
    state, asked = answers
    monkeypatch.setattr(peers, "MAX_ITEMS", 2)
    child = _no_id_child(world.school_a1, "黄小梅")
    _no_id_child(world.school_a1, "林已毕", status="graduated")
    _no_id_child(world.school_b1, "陈无号", family=False)
    state["answer"] = _held_by_name("黄小梅")
    sweep = _full(world, ask_peers=True)
    children = [item["no_id_child"]["name"] for q in asked for item in q["body"]["items"] if item["no_id_child"]]
    assert children == ["黄小梅"]
    ids = [item["id_number"] for q in asked for item in q["body"]["items"] if item["id_number"]]
    assert len(ids) == len(set(ids)) == 2  # the world's two resident IDs, each once
    holding = PeerHolding.objects.get()
    assert (holding.pupil, holding.sweep, holding.status) == (child, sweep, "open")
