"""Two schools receiving the same graduate at the same moment: one wins, the other 409."""

from __future__ import annotations

import pytest

from enrolment import receiving
from enrolment.models import Progression, ProgressionEntry
from kernel.errors import RegistryError
from tests.conftest import ensure_reference_data
from tests.transfers.test_concurrency import _race
from workflow.models import OpenBusiness

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_schools_accepting_one_graduate_at_once_one_wins(world, graduates):
    ensure_reference_data()
    pupil = graduates[0]
    refs = {unit: receiving.graduate_find(user=world[unit].operator, number=pupil.national_number,
                                          name=pupil.name)[0].ref for unit in ("a2", "b2")}
    results = _race(*(
        (lambda unit=unit: receiving.progression_start(user=world[unit].operator, refs=[refs[unit]]))
        for unit in ("a2", "b2")
    ))
    errors = [r for r in results if isinstance(r, RegistryError)]
    assert len(errors) == 1 and errors[0].status == 409 and errors[0].code == "progression_taken"
    assert Progression.objects.count() == 1 and ProgressionEntry.objects.filter(pupil=pupil).count() == 1
    assert OpenBusiness.objects.filter(pupil=pupil).count() == 1


def test_two_approvals_of_one_step_make_one_move(world, graduates):
    ensure_reference_data()
    from tests.factories import make_user

    pupil = graduates[0]
    ref = receiving.graduate_find(user=world["a2"].operator, number=pupil.national_number, name=pupil.name)[0].ref
    row = receiving.progression_start(user=world["a2"].operator, refs=[ref])
    receiving.progression_approve(user=world["a2"].approver, progression_id=row.pk)
    second = make_user("440106.approver2", role="approver", division=world.county_a)
    results = _race(
        lambda: receiving.progression_approve(user=world["county_a"].approver, progression_id=row.pk),
        lambda: receiving.progression_approve(user=second, progression_id=row.pk),
    )
    errors = [r for r in results if isinstance(r, RegistryError)]
    assert len(errors) == 1 and errors[0].status == 409
    assert pupil.history.filter(kind="progressed_in").count() == 1
