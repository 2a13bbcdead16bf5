"""A pupil who becomes a problem record (问题学籍) while its transfer is open: the chain stops
at its next forward step with the reason, and goes on once the county has dealt with it."""

from __future__ import annotations

import pytest

from kernel.errors import BusinessRefused
from registry.models import Pupil
from tests.transfers.chain import apply, submit
from transfers import services
from transfers.models import Transfer
from transfers.states import State


def _fail_identity(pupil):
    Pupil.objects.filter(pk=pupil.pk).update(identity_status=Pupil.IdentityStatus.FAILED,
                                             identity_note="公安比对不一致")


def test_a_problem_record_stops_the_open_chain_at_the_next_approval_with_the_reason(world):
    transfer = apply(world)
    submit(world, transfer)
    _fail_identity(world.pupils["a1"])
    with pytest.raises(BusinessRefused) as refused:
        services.transfer_approve(user=world["county_b"].approver, transfer_id=transfer.pk)
    assert refused.value.code == "problem_record"
    assert "公安比对不一致" in str(refused.value.message)
    transfer.refresh_from_db()
    assert transfer.state == State.DEST_COUNTY and transfer.log.count() == 2  # nothing moved, nothing logged


def test_the_school_cannot_submit_a_draft_for_a_pupil_that_became_a_problem_record(world):
    transfer = apply(world)
    _fail_identity(world.pupils["a1"])
    with pytest.raises(BusinessRefused) as refused:
        submit(world, transfer)
    assert refused.value.code == "problem_record"
    assert Transfer.objects.get(pk=transfer.pk).state == State.DRAFT


def test_the_stopped_chain_may_still_be_refused_and_goes_on_once_the_problem_is_dealt_with(world):
    transfer = apply(world)
    submit(world, transfer)
    _fail_identity(world.pupils["a1"])
    with pytest.raises(BusinessRefused):
        services.transfer_approve(user=world["county_b"].approver, transfer_id=transfer.pk)
    Pupil.objects.filter(pk=world.pupils["a1"].pk).update(identity_status=Pupil.IdentityStatus.PASSED)
    assert services.transfer_approve(user=world["county_b"].approver, transfer_id=transfer.pk).state == \
        State.ORIGIN_SCHOOL
    _fail_identity(world.pupils["a1"])
    refused = services.transfer_refuse(user=world["a1"].approver, transfer_id=transfer.pk, reason="身份待核实")
    assert refused.state == State.REFUSED
