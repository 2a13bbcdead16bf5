"""Visibility: the four parties (and the divisions above them), each from its step on."""

from __future__ import annotations

import pytest

from kernel.errors import NotFound
from tests.transfers.chain import apply, submit
from transfers import search, selectors, services


def _sees(user, transfer) -> bool:
    return selectors.transfers_visible_to(user).filter(pk=transfer.pk).exists()


def test_each_party_sees_the_transfer_only_from_its_step(world):
    transfer = apply(world)
    assert _sees(world["b1"].operator, transfer)
    for unit in ("county_b", "a1", "county_a", "city", "province"):
        assert not _sees(world[unit].approver, transfer), unit
    submit(world, transfer)
    assert _sees(world["county_b"].approver, transfer)
    assert _sees(world["city"].approver, transfer) and _sees(world["province"].admin, transfer)
    assert not _sees(world["a1"].approver, transfer) and not _sees(world["county_a"].approver, transfer)
    services.transfer_approve(user=world["county_b"].approver, transfer_id=transfer.pk)
    assert _sees(world["a1"].operator, transfer)
    assert not _sees(world["county_a"].approver, transfer)
    services.transfer_approve(user=world["a1"].approver, transfer_id=transfer.pk)
    assert _sees(world["county_a"].operator, transfer)


@pytest.mark.parametrize("outsider", ["a2", "b2", "x", "other_county", "other_province"])
def test_units_outside_the_chain_see_nothing(world, outsider):
    transfer = apply(world)
    submit(world, transfer)
    for unit in ("county_b", "a1", "county_a"):
        services.transfer_approve(user=world[unit].approver, transfer_id=transfer.pk)
    user = world[outsider].admin or world[outsider].approver
    assert not _sees(user, transfer)
    with pytest.raises(NotFound):
        selectors.transfer_get(user, transfer.pk)
    with pytest.raises(NotFound):
        services.transfer_approve(user=user, transfer_id=transfer.pk)


def test_refused_at_destination_county_never_reaches_the_origin(world):
    transfer = apply(world)
    submit(world, transfer)
    services.transfer_refuse(user=world["county_b"].approver, transfer_id=transfer.pk, reason="不符合条件")
    assert not _sees(world["a1"].approver, transfer)
    assert _sees(world["b1"].operator, transfer)


def test_at_my_step_lists_only_what_waits_for_my_own_unit(world):
    transfer = apply(world)
    submit(world, transfer)
    assert search.at_my_step_count(world["county_b"].approver) == 1
    assert search.at_my_step_count(world["city"].approver) == 0  # sees it, but not its step
    assert search.at_my_step_count(world["b1"].approver) == 0
