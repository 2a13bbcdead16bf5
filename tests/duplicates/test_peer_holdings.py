"""跨省在籍: the incremental sweep asks the peer registries, in one question per partition,
whether the resident IDs of the records changed since the last sweep are held there by an
active record; a held one becomes a problem record of its county (``PeerHolding``), resolved
when a later sweep's answer no longer holds it; a peer that does not answer changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from duplicates.models import PeerHolding
from duplicates.problems import pupil_problem_reasons
from exchange.models import PeerQuery
from tests.duplicates.test_incremental import full_sweep, incremental
from tests.exchange.conftest import own_key, peer_world  # noqa: F401
from tests.exchange.test_ids_held import CARD, _held_in_guangxi, peer_batches  # noqa: F401
from tests.factories import make_pupil


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
