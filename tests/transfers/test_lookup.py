"""The origin-school lookup: exact name (+ ID), minimal answer, audited, close matches."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from kernel.errors import BusinessRefused, Forbidden, ValidationFailed
from tests.factories import make_pupil, resident_id
from tests.transfers.chain import OPEN_DAY
from transfers import lookup, services
from transfers.models import TransferLookup
from transfers.states import State


def _lookup(world, name, id_number="", *, origin=None, user=None):
    return lookup.transfer_lookup(
        user=user or world["b1"].operator,
        origin_school_code=origin or world.school_a1.code,
        name=name,
        id_number=id_number,
    )


def test_exact_name_finds_the_pupil_with_only_the_minimal_fields(world):
    result = _lookup(world, "李娜")
    assert len(result.found) == 1
    card = result.found[0]
    assert {f.name for f in dataclasses.fields(card)} == {"ref", "name", "sex", "birth_date", "grade", "class_number"}
    assert (card.name, card.sex, card.birth_date, card.grade) == ("李娜", "2", dt.date(2016, 5, 1), 3)


def test_every_lookup_is_audited(world):
    _lookup(world, "李娜")
    _lookup(world, "没有这个人")
    rows = list(TransferLookup.objects.order_by("at"))
    assert [(r.name, r.found, r.actor_name) for r in rows] == [
        ("李娜", 1, world["b1"].operator.username), ("没有这个人", 0, world["b1"].operator.username)
    ]


def test_partial_name_finds_nothing(world):
    assert _lookup(world, "李").found == []


def test_wrong_id_number_finds_nothing(world):
    other = resident_id(dt.date(2016, 5, 1), "2", seq=401)
    assert _lookup(world, "李娜", other).found == []


def test_close_matches_need_the_id_number_and_the_same_birth_date(world):
    born = dt.date(2014, 2, 3)
    make_pupil(world.school_a1, name="王凇", sex="1", birth_date=born)
    make_pupil(world.school_a1, name="王松", sex="1", birth_date=born)
    make_pupil(world.school_a1, name="王淞", sex="1", birth_date=dt.date(2014, 2, 4))  # other day
    typed = resident_id(born, "1", seq=402)
    result = _lookup(world, "王淞", typed)
    assert result.found == []
    assert sorted(c.name for c in result.close) == ["王凇", "王松"]  # look-alike, sound-alike
    assert _lookup(world, "王淞").close == []  # no ID number: nothing offered


def test_the_ref_of_a_lookup_starts_the_transfer_and_only_for_its_user(world):
    card = _lookup(world, "李娜").found[0]
    base = dict(origin_school_code=world.school_a1.code, dest_grade=3, dest_class_number=1, reason="搬家",
                today=OPEN_DAY)
    with pytest.raises(ValidationFailed) as exc:
        services.transfer_apply(user=world["b2"].operator, pupil_ref=card.ref, **base)
    assert exc.value.code == "lookup_expired"
    transfer = services.transfer_apply(user=world["b1"].operator, pupil_ref=card.ref, **base)
    assert transfer.state == State.DRAFT and transfer.pupil == world.pupils["a1"]


def test_lookup_at_own_school_is_refused(world):
    with pytest.raises(BusinessRefused) as exc:
        _lookup(world, "李娜", user=world["a1"].operator)
    assert exc.value.code == "same_school"


def test_only_schools_look_up(world):
    with pytest.raises(Forbidden):
        _lookup(world, "李娜", user=world["county_b"].approver)
