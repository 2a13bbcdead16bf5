"""``no_hukou_q`` (for counts) says the same as ``pupil_is_no_hukou`` for every combination."""

from __future__ import annotations

import pytest

from registry.models import Pupil
from registry.nohukou import no_hukou_q, pupil_is_no_hukou
from tests.factories import make_pupil

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("id_type, with_number, hmt", [
    ("1", True, "00"), ("1", False, "00"), ("Z", False, "00"), ("6", True, "00"), ("A", True, "00"),
    ("Z", False, "01"), ("1", False, ""), ("Z", False, ""),
])
def test_query_and_record_rule_agree(world, id_type, with_number, hmt):
    pupil = make_pupil(world.school_a1, name="甲")
    Pupil.objects.filter(pk=pupil.pk).update(id_type=id_type, id_number=pupil.id_number if with_number else "", hmt=hmt)
    pupil.refresh_from_db()
    assert Pupil.objects.filter(no_hukou_q(), pk=pupil.pk).exists() == pupil_is_no_hukou(pupil)
