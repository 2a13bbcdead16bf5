"""跨省查重 of a child without an ID number: the question item is built in one place
(``duplicates.peers.family_item``) for the entry check, the roster and the sweeps; the answer
(``registry.id_held`` and ``registry.ids_held``) finds the record by the one rule of
``registry.nohukou.records_of_no_id_children`` — the same name, the same birth date, every given
family ID number among the record's family — in two queries for a whole batch."""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from duplicates.peers import family_item, holders_of_items
from enrolment.checks import peer_question
from enrolment.exchange_handlers import holders_of
from enrolment.registration import pupil_register
from registry.models import Pupil
from registry.nohukou import records_of_no_id_children
from tests.factories import make_pupil, resident_id
from tests.registry.test_nohukou import no_id_record


def _family(pupil: Pupil) -> list[str]:
    return sorted(g.id_number for g in pupil.guardians.all() if g.id_number)


def _item(pupil: Pupil, **changes) -> dict:
    child = {"name": pupil.name, "birth_date": pupil.birth_date.isoformat(), "guardian_id_numbers": _family(pupil)}
    return {"no_id_child": {**child, **changes}}


def test_the_family_item_asks_by_name_birth_date_and_at_most_four_sorted_family_ids():
    ids = [resident_id(dt.date(1980 + i, 1, 1), "1", seq=i) for i in range(5)]
    item = family_item("林小溪", dt.date(2016, 5, 4), [ids[4], "", ids[0], ids[3], ids[1], ids[2], ids[0]])
    assert item == {"no_id_child": {"name": "林小溪", "birth_date": "2016-05-04",
                                    "guardian_id_numbers": sorted(ids)[:4]}}
    assert family_item("林小溪", dt.date(2016, 5, 4), ["", ""]) is None  # nothing to ask by
    assert family_item("林小溪", None, ids) is None


def test_the_entry_and_roster_question_of_a_no_id_record_is_the_family_item(world):
    data = no_id_record(world.school_a1)
    assert peer_question(data) == family_item(data.name, data.birth_date, [g.id_number for g in data.guardians])
    assert peer_question(data)["no_id_child"]["guardian_id_numbers"]
    assert peer_question(dataclasses.replace(data, guardians=[])) is None


def test_only_the_same_child_is_held_never_a_sibling_born_the_same_day_or_another_family(world):
    child = pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1))
    father = next(g.id_number for g in child.guardians.all() if g.relation == "51")
    other_family = resident_id(dt.date(1979, 3, 3), "1", seq=77)
    with_id = make_pupil(world.school_a1, name=child.name, birth_date=child.birth_date)  # has an ID: not a no-ID child
    items = [
        _item(child),
        _item(child, guardian_id_numbers=[father]),  # part of the family is enough
        _item(child, name="林小河"),  # a twin: same parents and birth date, another name
        _item(child, birth_date="2016-01-01"),
        _item(child, guardian_id_numbers=[father, other_family]),  # a number not in the family
        {"id_number": with_id.id_number},
    ]
    held = holders_of_items(items)
    assert sorted(held) == [0, 1, 5]
    assert held[0] == held[1] == child and held[5] == with_id
    assert holders_of(items[0]) == [child] and holders_of(items[2]) == [] and holders_of(items[4]) == []
    Pupil.objects.filter(pk=child.pk).update(status="graduated")  # held means an active record
    assert holders_of_items(items[:2]) == {}


def test_a_batch_of_ids_and_children_is_answered_in_two_queries(world):
    children = [pupil_register(user=world["a1"].operator,
                               data=no_id_record(world.school_a1, name=name, birth_date=dt.date(2017, 6, 1 + 5 * i)))
                for i, name in enumerate(("林小溪", "林小河", "林小江"))]
    items = [_item(child) for child in children] + [{"id_number": world.pupils["a1"].id_number}]
    with CaptureQueriesContext(connection) as queries:
        held = holders_of_items(items)
        assert [held[i].school.code for i in range(4)] == [world.school_a1.code] * 4
    assert len(queries) == 2


def test_the_rule_keeps_each_childs_records_in_order():
    assert records_of_no_id_children([]) == []
    assert records_of_no_id_children([("林小溪", dt.date(2016, 5, 4), frozenset())]) == [[]]
