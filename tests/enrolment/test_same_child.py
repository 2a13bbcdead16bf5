"""No second record for a known child: every "same child" check sees graduates (and the
dead), never deleted records — registration, the no-hukou family rule, the sweeps and the
transfer refusal."""

from __future__ import annotations

import pytest

from duplicates.keys import province_records
from enrolment.registration import pupil_register
from kernel.errors import BusinessRefused
from registry.models import SAME_CHILD_STATUSES, Pupil
from tests.enrolment.conftest import graduate
from tests.registry.test_nohukou import father, mother, no_id_record
from tests.transfers.chain import apply, ref_for


@pytest.fixture
def no_id_graduate(world):
    """A no-ID pupil of 海珠第一小学 who finished primary school."""
    pupil = pupil_register(user=world["b1"].operator, data=no_id_record(world.school_b1))
    Pupil.objects.filter(pk=pupil.pk).update(grade=6)
    graduate(pupil)
    return pupil


def test_a_no_id_child_whose_family_matches_a_graduate_is_sent_to_progression(world, no_id_graduate):
    data = no_id_record(world.school_a2, father(), mother(), birth_date=no_id_graduate.birth_date, grade=7)
    with pytest.raises(BusinessRefused) as refused:
        pupil_register(user=world["a2"].operator, data=data)
    assert refused.value.code == "graduate_use_progression" and refused.value.field == "guardians"
    assert no_id_graduate.national_number not in str(refused.value.message)
    # without an ID the 升学接收 link finds the graduate by its number (the family's proof)
    assert no_id_graduate.national_number in refused.value.details["url"]
    assert Pupil.objects.filter(name=no_id_graduate.name).count() == 1


def test_sweeps_compare_graduates_and_the_dead_never_the_deleted(world):
    for status in ("graduated", "incomplete", "deceased", "deleted"):
        Pupil.objects.filter(pk=world.pupils["a1"].pk).update(status=status)
        records = {r.pk for r in province_records("44")}
        assert (world.pupils["a1"].pk in records) == (status in SAME_CHILD_STATUSES), status


def test_a_graduate_cannot_be_transferred_and_is_told_where_to_go(world, graduates):
    with pytest.raises(BusinessRefused) as refused:
        apply(world, "a1", dest="a2", pupil_ref=ref_for(world["a2"].operator, graduates[0]),
              origin_school_code=world.school_a1.code, dest_grade=7)
    assert refused.value.code == "pupil_not_enrolled" and "升学接收" in str(refused.value.message)
    assert refused.value.details["url"].startswith("/progressions/")


def test_every_same_child_status_set_includes_the_finished_stages():
    assert {"graduated", "completed", "incomplete", "deceased"} <= set(SAME_CHILD_STATUSES)
    assert "deleted" not in SAME_CHILD_STATUSES and "not_admitted" not in SAME_CHILD_STATUSES


