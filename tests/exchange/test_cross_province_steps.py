"""跨省转学 across two registries with province steps: when a side's province policy asks for
one (``transfer_cross_province_province_step``), that side's province step runs on its own
registry — the destination province after the destination county (before the application
travels), the origin province after the origin county (before the record is released) —
with the 待办 for that province's staff; the other side's chain shows it from its messages."""

from __future__ import annotations

import pytest

from exchange.models import OutboxMessage
from kernel.errors import Conflict, Forbidden
from provinces.models import ProvincePolicy
from tests.exchange.test_cross_chain import filed, open_items, received
from tests.exchange.test_cross_transfer import post, to_origin
from transfers.cross_registry import CROSS_TRANSFER, cross_transfer_move
from workflow import engine


@pytest.fixture
def province_steps(db):
    """This registry's province (44) asks for its province step on cross-province chains."""
    return ProvincePolicy.objects.create(province_id="44", transfer_cross_province_province_step=True)


def plan(row) -> list[str]:
    return [step["state"] for step in engine.progress(CROSS_TRANSFER, row) if step["status"] != "end"]


# --- the destination's province ----------------------------------------------------------


def test_the_destination_province_approves_after_its_county_before_the_application_travels(
        client, peer_world, world, province_steps):
    row = filed(world)
    cross_transfer_move(user=world["a1"].approver, pk=row.pk, action="submit")
    row = cross_transfer_move(user=world["county_a"].approver, pk=row.pk, action="approve")
    assert row.state == "dest_province" and open_items(row) == [(None, "44", True)]  # the province's 待办
    assert not OutboxMessage.objects.exists()  # nothing travels before the province approved
    with pytest.raises(Conflict) as county:  # the county's step is done; the province acts now
        cross_transfer_move(user=world["county_a"].approver, pk=row.pk, action="approve")
    assert county.value.code == "state_conflict"
    client.force_login(world["province"].approver)
    assert "跨省转学待转入省审核：黄小梅" in client.get("/").content.decode()  # on the province's 待办
    assert 'data-testid="action-approve"' in client.get(f"/transfers/remote/{row.pk}/").content.decode()
    row = cross_transfer_move(user=world["province"].approver, pk=row.pk, action="approve")
    assert (row.state, open_items(row)) == ("origin_school", [])
    body = OutboxMessage.objects.get(type="transfer.applied").envelope["body"]
    assert body["dest_province_step"] is True
    assert plan(row) == ["draft", "dest_county", "dest_province", "origin_school", "origin_county"]


def test_the_destination_province_refuses_and_nothing_travels(peer_world, world, province_steps):
    row = filed(world)
    cross_transfer_move(user=world["a1"].approver, pk=row.pk, action="submit")
    cross_transfer_move(user=world["county_a"].approver, pk=row.pk, action="approve")
    row = cross_transfer_move(user=world["province"].approver, pk=row.pk, action="refuse", reason="材料不全")
    assert (row.state, row.closed_reason, open_items(row)) == ("refused", "材料不全", [])
    assert not OutboxMessage.objects.exists()


def test_the_plan_is_fixed_at_submit(peer_world, world, province_steps):
    row = filed(world)
    cross_transfer_move(user=world["a1"].approver, pk=row.pk, action="submit")
    province_steps.delete()  # the policy changes while the chain is open
    row = cross_transfer_move(user=world["county_a"].approver, pk=row.pk, action="approve")
    assert row.state == "dest_province"


def test_without_the_policy_there_is_no_province_step(peer_world, world):
    row = to_origin(world, filed(world))
    assert row.state == "origin_school"
    assert OutboxMessage.objects.get(type="transfer.applied").envelope["body"]["dest_province_step"] is False


# --- the origin's province ---------------------------------------------------------------


def test_the_origin_province_approves_after_its_county_and_then_the_record_is_released(
        client, peer_world, world, province_steps):
    row = received(client, peer_world, world)
    assert plan(row) == ["draft", "dest_county", "origin_school", "origin_county", "origin_province"]
    cross_transfer_move(user=world["a1"].approver, pk=row.pk, action="approve")
    row = cross_transfer_move(user=world["county_a"].approver, pk=row.pk, action="approve")
    assert row.state == "origin_province" and open_items(row) == [(None, "44", True)]
    assert not OutboxMessage.objects.filter(type="transfer.released").exists()
    step = OutboxMessage.objects.filter(type="transfer.step").order_by("id").last().envelope["body"]
    assert (step["step"], step["state"]) == ("origin_county", "origin_province")  # the destination is told
    row = cross_transfer_move(user=world["province"].approver, pk=row.pk, action="approve")
    assert (row.state, open_items(row)) == ("completed", [])
    assert OutboxMessage.objects.filter(type="transfer.released").exists()


def test_the_origin_province_refuses_and_the_destination_is_told(client, peer_world, world, province_steps):
    row = received(client, peer_world, world)
    cross_transfer_move(user=world["a1"].approver, pk=row.pk, action="approve")
    cross_transfer_move(user=world["county_a"].approver, pk=row.pk, action="approve")
    row = cross_transfer_move(user=world["province"].approver, pk=row.pk, action="refuse", reason="不符合本省规定")
    assert row.state == "refused"
    assert OutboxMessage.objects.get(type="transfer.refused").envelope["body"]["reason"] == "不符合本省规定"


def test_the_destination_applied_with_a_province_step_shows_it_at_the_origin(client, peer_world, world):
    from tests.exchange.test_cross_transfer import applied, card_ref

    body = applied(world, card_ref(client, peer_world, world), dest_province_step=True)
    assert post(client, peer_world.envelope("transfer.applied", body)).status_code == 202
    row = received_row()
    assert plan(row) == ["draft", "dest_county", "dest_province", "origin_school", "origin_county"]


def received_row():
    from transfers.models import CrossTransfer

    return CrossTransfer.objects.get(side="origin")


# --- the destination learns of the origin's province step ---------------------------------


def step(row, done: str, now: str) -> dict:
    return {"application": str(row.application), "step": done, "action": "approve", "state": now,
            "actor": "b", "unit_code": "450102", "unit_name": "兴宁区教育局"}


def test_the_origin_province_step_reported_shows_at_the_destination_without_a_work_item(client, peer_world, world):
    row = to_origin(world, filed(world))
    assert post(client, peer_world.envelope("transfer.step", step(row, "origin_school", "origin_county"))).status_code \
        == 202
    response = post(client, peer_world.envelope("transfer.step", step(row, "origin_county", "origin_province")))
    assert response.status_code == 202, response.content
    row.refresh_from_db()
    assert (row.state, open_items(row)) == ("origin_province", [])
    assert plan(row) == ["draft", "dest_county", "origin_school", "origin_county", "origin_province"]
    with pytest.raises(Forbidden) as here:  # nobody here acts at the origin province's step
        cross_transfer_move(user=world["province"].approver, pk=row.pk, action="approve")
    assert here.value.code == "not_a_party"


def test_a_step_message_out_of_the_order_is_refused(client, peer_world, world):
    row = to_origin(world, filed(world))
    response = post(client, peer_world.envelope("transfer.step", step(row, "origin_school", "origin_province")))
    assert (response.status_code, response.json()["code"]) == (422, "invalid_message")
    row.refresh_from_db()
    assert row.state == "origin_school"
