"""The hard duplicate kinds found and the hard negatives kept apart, by the engine's blocking
and scoring (the one rule used by sweeps and the entry check) and through the database.

Each kind is built so that only the rule it pins finds it: without the 曾用名 keys and
weight, the birth-date variant of an ID, or the guardians' phones, the pair is not reported.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from datetime import date

import pytest

from duplicates import sweeps
from duplicates.entry import likely_duplicates
from duplicates.keys import former_names
from duplicates.models import DuplicateCase, PupilMatchKey
from kernel.identity import id_check_char
from kernel.matching import CASE_THRESHOLD, PupilKey, explain_pair, find_matches, record_keys
from registry.models import Guardian
from registry.records import GuardianData
from tests.duplicates.helpers import open_cases, pair_of, record_like
from tests.factories import make_pupil


def valid_id(first17: str) -> str:
    return first17 + id_check_char(first17)


BORN = date(2012, 3, 15)
FATHER = valid_id("44010619800101123")
MOTHER = valid_id("44010619820304124")
FATHER_PHONE = "13800138000"
MOTHER_PHONE = "13911112222"


def child(pk: int, name: str, *, id_number: str | None = None, sex: str = "2", born: date = BORN,
          guardians: tuple[str, ...] = (FATHER, MOTHER), phones: tuple[str, ...] = (FATHER_PHONE, MOTHER_PHONE),
          formers: tuple[str, ...] = (), county: str = "440106", seq: str = "002") -> PupilKey:
    if id_number is None:
        id_number = valid_id(f"440106{born:%Y%m%d}{seq}")
    return PupilKey(pk=pk, name=name, sex=sex, birth_date=born, id_number=id_number, guardian_ids=guardians,
                    county=county, id_type="1" if id_number else "Z", former_names=formers, guardian_phones=phones)


def only_match(*records: PupilKey):
    matches = find_matches(records)
    assert len(matches) == 1, matches
    return matches[0]


# Found ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("former_on", ["new", "old"])
def test_renamed_child_found_by_the_former_name_on_either_record(former_on):
    """王子轩 renamed 王浩然; re-entered without ID or guardians: only the 曾用名 ties them."""
    if former_on == "new":
        old = child(1, "王子轩", sex="1", seq="003")
        new = child(2, "王浩然", sex="1", id_number="", guardians=(), phones=(), formers=("王子轩",))
    else:
        old = child(1, "王浩然", sex="1", seq="003", formers=("王子轩",))
        new = child(2, "王子轩", sex="1", id_number="", guardians=(), phones=())
    match = only_match(old, new)
    assert match.kind == "renamed" and match.score >= CASE_THRESHOLD
    assert any(reason.startswith("曾用名相同") for reason in match.reasons)


def test_renamed_child_with_an_invented_id_and_a_shared_guardian_is_found():
    old = child(1, "王子轩", sex="1", seq="003")
    new = child(2, "王浩然", sex="1", id_number=valid_id("44030320120315155"), guardians=(FATHER,),
                formers=("王子轩",))
    assert only_match(old, new).kind == "renamed"


def test_renamed_without_former_name_found_by_the_id():
    """No 曾用名 on either record; the ID (here one digit mistyped), birth date and guardians agree."""
    old = child(1, "王子轩", sex="1", seq="003")
    typo = old.id_number[:10] + ("5" if old.id_number[10] != "5" else "6") + old.id_number[11:]
    match = only_match(old, child(2, "王浩然", sex="1", id_number=typo))
    assert match.kind == "id_typo"


def test_birth_date_slip_with_an_id_made_to_agree_is_found():
    """Born 2012-03-15, re-entered as 2013-03-15 with the ID's birth part changed to agree;
    no guardians, another county: only the ID without its birth date ties them."""
    old = child(1, "李娜")
    slip = date(2013, 3, 15)
    new = child(2, "李娜", born=slip, id_number=valid_id(f"440106{slip:%Y%m%d}002"), guardians=(), phones=(),
                county="440303")
    assert any(key.startswith("v:") for key in set(record_keys(old)) & set(record_keys(new)))
    match = only_match(old, new)
    assert match.kind == "id_birth_variant" and match.score >= CASE_THRESHOLD
    assert "身份证号除出生日期外相同，且各与本记录出生日期一致" in match.reasons


def test_no_id_record_known_only_by_the_guardians_phone_is_found():
    """李晴娜 / 李睛纳 (a look-alike and a homophone): the no-ID record names no guardian ID,
    only the father's phone, written differently."""
    old = child(1, "李晴娜", guardians=(FATHER,), phones=(FATHER_PHONE,))
    new = child(2, "李睛纳", id_number="", guardians=(), phones=("+86 138-0013-8000",))
    match = only_match(old, new)
    assert match.score >= CASE_THRESHOLD
    assert any(reason.startswith("监护人联系电话相同: 138****8000") for reason in match.reasons)


def test_look_alike_name_with_an_id_that_looks_like_a_twins_is_found():
    old = child(1, "李淞", seq="002")
    assert only_match(old, child(2, "李凇", seq="004")).kind == "lookalike"


def test_two_characters_changed_with_an_invented_id_is_found():
    old = child(1, "张子涵", sex="1", seq="001")
    new = child(2, "张梓晗", sex="1", id_number=valid_id("44030320120315011"), guardians=(MOTHER,))
    assert only_match(old, new).score >= CASE_THRESHOLD


# Kept apart -----------------------------------------------------------------------------------------


def test_twins_sharing_a_character_with_the_next_id_are_not_flagged():
    a = child(1, "张子涵", sex="1", seq="001")
    b = child(2, "张子轩", sex="1", seq="003")
    c = child(3, "张子豪", sex="1", seq="005", guardians=(), phones=(FATHER_PHONE,))  # no guardian IDs on file
    assert find_matches([a, b, c]) == []


def test_namesakes_of_one_county_born_the_same_day_are_not_flagged():
    """Same name, sex, birth date, county and ID region; other family (or none on file)."""
    a = child(1, "李娜", seq="002")
    other_family = (valid_id("44010619790505321"),)
    b = child(2, "李娜", seq="086", guardians=other_family, phones=("13700001111",))
    c = child(3, "李娜", seq="244", guardians=(), phones=())
    assert find_matches([a, b, c]) == []
    assert explain_pair(a, c).score < CASE_THRESHOLD


def test_siblings_a_year_apart_with_the_same_id_sequence_are_not_flagged():
    """张子涵 2012-03-15 and 张子轩 2013-03-15 (dates one digit off), same parents and, by
    chance, the same region and sequence: a name one character off never counts the ID
    variant."""
    a = child(1, "张子涵", sex="1", seq="001")
    b = child(2, "张子轩", sex="1", born=date(2013, 3, 15), seq="001")
    assert find_matches([a, b]) == []
    assert explain_pair(a, b).score < CASE_THRESHOLD


def test_a_former_name_shared_by_nobody_is_not_a_match():
    a = child(1, "王浩然", sex="1", seq="003", formers=("王子轩",))
    b = child(2, "王宇航", sex="1", seq="005", formers=("王一诺",))
    assert find_matches([a, b]) == []


# Through the database: the entry check and a sweep use the same rules ---------------------------------


def test_former_name_field_splits_into_names():
    assert former_names("王子轩、王子萱 / 王梓") == ("王子轩", "王子萱", "王梓")
    assert former_names("") == ()


def test_entry_check_finds_a_renamed_child(world):
    old = make_pupil(world.school_a1, name="王子轩", sex="1", birth_date=dt.date(2014, 6, 1), grade=4)
    data = record_like(old, world.school_b1, name="王浩然", former_name="王子轩")
    found = likely_duplicates(data)
    assert [f["national_number"] for f in found] == [old.national_number]
    assert found[0]["kind"] == "renamed"


def test_entry_check_finds_a_record_under_the_old_name_of_a_renamed_child(world):
    """The stored record carries the 曾用名, and its stored sound keys include the old name's;
    the new record comes under the old name without ID or guardians."""
    renamed = make_pupil(world.school_a1, name="王浩然", sex="1", birth_date=dt.date(2014, 6, 1), grade=4,
                         former_name="王子轩")
    assert "2014:wang-zi-xuan" in PupilMatchKey.objects.get(pupil=renamed).sound_keys
    data = dataclasses.replace(record_like(renamed, world.school_b1, name="王子轩", id_number="", id_type="Z"),
                               guardians=[])
    found = likely_duplicates(data)
    assert [f["national_number"] for f in found] == [renamed.national_number]
    assert found[0]["kind"] == "renamed"


def test_entry_check_finds_a_no_id_record_by_the_guardians_phone(world):
    old = make_pupil(world.school_a1, name="李淞娜", sex="2", birth_date=dt.date(2014, 6, 1), grade=4)
    father = old.guardians.get()
    father.phone = "13800138000"
    father.save()  # the phone becomes a matching key
    data = record_like(old, world.school_b1, name="李凇纳", id_number="", id_type="Z",
                       guardians=[GuardianData(name="李父", relation="51", phone="138 0013 8000",
                                               is_first_guardian=True)])
    found = likely_duplicates(data)
    assert [f["national_number"] for f in found] == [old.national_number]


def test_entry_check_finds_a_birth_year_slip_with_an_id_made_to_agree(world):
    old = make_pupil(world.school_a1, name="李娜娜", sex="2", birth_date=dt.date(2014, 6, 1), grade=4)
    slip = dt.date(2015, 6, 1)
    body = f"{old.id_number[:6]}{slip:%Y%m%d}{old.id_number[14:17]}"
    data = dataclasses.replace(record_like(old, world.school_b1, birth_date=slip, id_number=body + id_check_char(body)),
                               guardians=[])
    found = likely_duplicates(data)
    assert [f["national_number"] for f in found] == [old.national_number]
    assert found[0]["kind"] == "id_birth_variant"


def test_sweep_finds_a_child_renamed_in_place_and_keeps_twins_apart(world):
    renamed = make_pupil(world.school_a1, name="王浩然", sex="1", birth_date=dt.date(2014, 6, 1), grade=4,
                         former_name="王子轩")
    again = make_pupil(world.school_b1, name="王子轩", sex="1", birth_date=dt.date(2014, 6, 1), grade=4, id_number="")
    Guardian.objects.filter(pupil=again).delete()
    twin_a = make_pupil(world.school_a2, name="张子涵", sex="1", birth_date=dt.date(2015, 7, 7))
    twin_b = make_pupil(world.school_a2, name="张子轩", sex="1", birth_date=dt.date(2015, 7, 7))
    twin_b.guardians.update(id_number=twin_a.guardians.get().id_number)
    sweep = sweeps.sweep_start(user=world["province"].admin, province_code="44", partitions=2, dispatch=False)
    for index in range(2):
        sweeps.sweep_run_partition(sweep_id=sweep.pk, index=index)
    case = open_cases().get()
    assert pair_of(case) == {renamed.pk, again.pk}
    assert case.source == DuplicateCase.Source.SWEEP and case.kind == "renamed"


def _sweep(records, *, forked: bool):
    """find_matches in this process, or the two forked workers' halves run here in turn
    (forking inside the test process would inherit its threads)."""
    from kernel.matching import SweepStats
    from kernel.matching import sweep as engine

    stats = SweepStats()
    if not forked:
        return find_matches(records, processes=1, stats=stats), stats
    engine._FORK_INPUT = list(records)
    try:
        found = {}
        for family in ("identity", "name"):
            part, part_stats = engine._fork_worker((family, 0, 1))
            found.update(part)
            stats.add(part_stats)
    finally:
        engine._FORK_INPUT = []
    return [m for _pair, m in sorted(found.items())], stats


@pytest.mark.parametrize("forked", [False, True])
def test_a_shared_phone_blocks_only_where_one_record_has_no_guardian_id(forked):
    """A phone counts only when one record names no guardian ID: two records with guardian
    IDs (none shared) are not compared through their phone; a no-ID record with the phone
    meets both, in one process and in the forked workers alike."""
    a = child(1, "陈一", guardians=(FATHER,), phones=(FATHER_PHONE,))
    b = child(2, "黄二", sex="1", born=date(2013, 6, 1), guardians=(MOTHER,), phones=(FATHER_PHONE,))
    matches, stats = _sweep([a, b], forked=forked)
    assert matches == [] and stats.pairs_scored == 0
    lone = child(3, "陈一", id_number="", guardians=(), phones=("138 0013 8000",))
    matches, stats = _sweep([a, b, lone], forked=forked)
    assert [(m.a_pk, m.b_pk) for m in matches] == [(1, 3)] and stats.pairs_scored >= 2
    assert "p:13800138000" in record_keys(a)  # a partition still reads every record with the phone
