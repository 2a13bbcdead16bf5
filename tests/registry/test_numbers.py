"""Numbers are given once: an L or J number a pupil stopped carrying is never drawn again."""

from __future__ import annotations

import datetime as dt
import random

from kernel import identity
from registry import numbers
from registry.models import NumberSequence, Pupil, RetiredNumber
from tests.factories import make_pupil

BORN = dt.date(2016, 5, 1)


def test_a_retired_l_number_is_not_drawn_again(world):
    drawn = identity.make_l_number("440106", BORN, rng=random.Random(7))
    pupil = make_pupil(world.school_a1, birth_date=BORN)
    Pupil.objects.filter(pk=pupil.pk).update(national_number="G" + pupil.id_number)
    numbers.retire(pupil=pupil, number=drawn)
    again = numbers.l_numbers([("440106", BORN)], rng=random.Random(7))[0]
    assert again != drawn and again.startswith("L44010620160501")


def test_j_numbers_continue_after_the_highest_ever_issued(world):
    first, second = numbers.j_numbers([("440106", BORN), ("440106", BORN)])
    assert (first[15:18], second[15:18]) == ("001", "002")
    RetiredNumber.objects.create(number=identity.make_j_number("440106", BORN, 7), pupil=world.pupils["a1"])
    assert numbers.j_numbers([("440106", BORN)])[0][15:18] == "008"
    numbers.note_issued([identity.make_j_number("440106", BORN, 20)])
    assert NumberSequence.objects.get(prefix="J44010620160501").last == 20
    assert numbers.j_numbers([("440106", BORN)])[0][15:18] == "021"
