"""Races: two approvals of one step, two applications for one pupil — one wins, the other 409/422."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from kernel.errors import RegistryError
from tests.conftest import ensure_reference_data
from tests.transfers.chain import apply, submit
from transfers import services
from transfers.models import Transfer
from workflow.models import OpenBusiness

pytestmark = pytest.mark.django_db(transaction=True)


def _race(*calls):
    """Run the calls at once, each thread on its own DB connection; results or errors."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except RegistryError as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.fixture
def race_world(world):
    ensure_reference_data()
    return world


def test_two_concurrent_approvals_of_one_step_make_one_transition(race_world):
    world = race_world
    from tests.factories import make_user

    second = make_user("440105.approver2", role="approver", division=world.county_b)
    transfer = apply(world)
    submit(world, transfer)
    results = _race(
        lambda: services.transfer_approve(user=world["county_b"].approver, transfer_id=transfer.pk),
        lambda: services.transfer_approve(user=second, transfer_id=transfer.pk),
    )
    errors = [r for r in results if isinstance(r, RegistryError)]
    assert len(errors) == 1 and errors[0].status == 409 and errors[0].details["state"] == "origin_school"
    assert transfer.log.filter(action="approve").count() == 1
    assert Transfer.objects.get(pk=transfer.pk).state == "origin_school"


def test_two_concurrent_applications_for_one_pupil_one_wins(race_world):
    world = race_world
    results = _race(lambda: apply(world, dest="b1"), lambda: apply(world, dest="b2"))
    wins = [r for r in results if isinstance(r, Transfer)]
    losses = [r for r in results if isinstance(r, RegistryError)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert losses[0].code == "open_business"
    assert Transfer.objects.filter(pupil=world.pupils["a1"]).count() == 1
    assert OpenBusiness.objects.filter(pupil=world.pupils["a1"]).count() == 0  # claimed at submit
