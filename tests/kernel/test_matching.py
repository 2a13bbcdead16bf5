"""The duplicate-matching engine (查重): normalisation, each duplicate kind, hard negatives."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.dupgen import DUPLICATE_KINDS, generate
from kernel.identity import id_check_char
from kernel.matching import (
    CASE_THRESHOLD,
    LOOKALIKE_TABLE,
    PupilKey,
    candidate_query_keys,
    chars_look_alike,
    clean_name,
    explain_pair,
    find_matches,
    id_neighbour_keys,
    matches_for,
    name_sound_key,
    name_sound_keys,
    record_keys,
    record_partitions,
    score_pair,
    simplified_name,
    sounds_alike,
    sweep_partition,
)


def valid_id(first17: str) -> str:
    return first17 + id_check_char(first17)


BORN = date(2012, 3, 15)
FATHER = valid_id("44010619800101123")
MOTHER = valid_id("44010619820304124")


CHILD_ID = valid_id("44010620120315002")  # female (even sequence)
OTHER_ID = valid_id("44030320120315124")  # another valid ID, same birth date and sex


def pupil(pk: int, name: str, *, id_number: str = CHILD_ID, sex: str = "2", born: date = BORN,
          guardians: tuple[str, ...] = (FATHER, MOTHER)) -> PupilKey:
    return PupilKey(pk=pk, name=name, sex=sex, birth_date=born, id_number=id_number,
                    guardian_ids=guardians, county="440106", id_type="1" if id_number else "Z")


# Normalisation -----------------------------------------------------------------------------------


def test_traditional_characters_fold_to_simplified():
    assert simplified_name("張偉") == "张伟"
    match = score_pair(pupil(1, "張偉"), pupil(2, "张伟", id_number=""))
    assert match is not None
    assert "姓名繁简相同: 張偉/张伟" in match.reasons


def test_toneless_pinyin_matches_any_reading_of_a_polyphonic_character():
    assert sounds_alike("李娜", "李纳")  # 娜 reads nà or nuó
    assert sounds_alike("单丽", "善丽")  # 单 reads dān, chán or shàn
    assert sounds_alike("曾乐", "增乐")  # 曾 reads céng or zēng
    assert not sounds_alike("李娜", "李丽")
    assert not sounds_alike("李娜", "李娜娜")
    assert name_sound_key("李娜") == "li-na"
    assert "shan-li" in name_sound_keys("单丽")


def test_sounding_alike_only_through_a_rarer_reading_counts_less():
    common = explain_pair(pupil(1, "李娜", guardians=()), pupil(2, "李纳", id_number="", guardians=()))
    rare = explain_pair(pupil(1, "王可馨", guardians=()), pupil(2, "余可馨", id_number="", guardians=()))
    assert common.reasons[0] == "姓名同音: 李娜/李纳"
    assert rare.reasons[0] == "姓名同音（多音字）: 王可馨/余可馨"  # 王 also reads yù
    assert rare.score < CASE_THRESHOLD <= common.score


def test_lookalike_table_is_shipped_and_knows_song():
    lines = LOOKALIKE_TABLE.read_text(encoding="utf-8").splitlines()
    assert any(line.split("\t")[0] == "凇淞" for line in lines)
    assert chars_look_alike("淞", "凇") and chars_look_alike("凇", "淞")
    assert not chars_look_alike("淞", "松")


def test_lookalike_builder_pairs_characters_differing_in_a_confusable_component():
    path = Path(LOOKALIKE_TABLE).with_name("build_lookalike.py")
    spec = importlib.util.spec_from_file_location("build_lookalike", path)
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    decompositions = {"淞": ["氵", "松"], "凇": ["冰", "松"], "松": ["木", "公"], "沓": ["水", "曰"],
                      "汩": ["水", "日"], "泪": ["水", "目"]}
    four_corner = {"淞": "38132", "凇": "38132", "松": "48932", "沓": "17602", "汩": "36100",
                   "泪": "36100"}
    groups = dict(builder.build_groups(decompositions, four_corner))
    assert groups["凇淞"] == "氵冫|松"
    assert "汩泪" in groups  # 日/目 beside 氵, same corners
    assert not any("沓" in chars for chars in groups)  # 曰 under 水: other corners
    assert not any("松" in chars for chars in groups)


def test_spaces_middle_dots_and_full_width_forms_are_ignored():
    assert clean_name("买买提·艾力") == clean_name("买买提 艾力") == clean_name("买买提•艾力") == "买买提艾力"
    assert clean_name("阿依古丽・买买提") == "阿依古丽买买提"
    assert clean_name(" 李\u3000娜 ") == "李娜"
    assert clean_name("ＡＢ李") == "ab李"
    match = score_pair(pupil(1, "李 娜"), pupil(2, "李娜", id_number=""))
    assert match is not None and match.reasons[0] == "姓名相同: 李 娜"


# Each kind of duplicate ----------------------------------------------------------------------------


def test_same_valid_id_is_a_duplicate_whatever_the_names():
    match = score_pair(pupil(1, "李娜"), pupil(2, "王芳", guardians=()))
    assert match is not None
    assert match.score == 1.0 and match.kind == "same_id"


def test_pinyin_slip_with_an_invented_id_is_found():
    match = score_pair(pupil(1, "李娜"), pupil(2, "李纳", id_number=OTHER_ID))
    assert match is not None and match.kind == "pinyin_slip"
    assert "姓名同音: 李娜/李纳" in match.reasons
    assert "出生日期相同" in match.reasons and "性别相同" in match.reasons
    assert any(reason.startswith("监护人身份证号相同") for reason in match.reasons)


def test_lookalike_characters_are_found():
    match = score_pair(pupil(1, "李淞"), pupil(2, "李凇", id_number=OTHER_ID))
    assert match is not None and match.kind == "lookalike"
    assert match.reasons[0] == "姓名形近: 淞/凇 (李淞/李凇)"


def test_invented_id_instead_of_transfer_is_found():
    match = score_pair(pupil(1, "李娜"), pupil(2, "李娜", id_number=OTHER_ID))
    assert match is not None and match.kind == "invented_id"
    assert match.score >= CASE_THRESHOLD


@pytest.mark.parametrize("typo", [
    CHILD_ID[:3] + "9" + CHILD_ID[4:],  # one substitution in the region
    CHILD_ID[:12] + CHILD_ID[13] + CHILD_ID[12] + CHILD_ID[14:],  # transposition in the date
    CHILD_ID[:13] + CHILD_ID[14] + CHILD_ID[13] + CHILD_ID[15:],  # across date | sequence
])
def test_id_one_edit_apart_is_found_even_without_guardians(typo):
    assert typo != CHILD_ID
    matches = find_matches([pupil(1, "李娜"), pupil(2, "李娜", id_number=typo, guardians=())])
    assert [(m.a_pk, m.b_pk, m.kind) for m in matches] == [(1, 2, "id_typo")]
    assert any(reason.startswith("身份证号") for reason in matches[0].reasons)


def test_no_id_record_of_a_child_with_an_id_record_is_found():
    match = score_pair(pupil(1, "李娜"), pupil(2, "李娜", id_number="", guardians=(MOTHER,)))
    assert match is not None and match.kind == "no_id"
    assert "一方无身份证号" in match.reasons


# Hard negatives -------------------------------------------------------------------------------------


def test_twins_are_not_duplicates():
    twin_id = valid_id("44010620120315004")
    assert score_pair(pupil(1, "李子涵"), pupil(2, "李子萱", id_number=twin_id)) is None
    assert score_pair(pupil(1, "李娜"), pupil(2, "李想", id_number=twin_id)) is None


def test_namesakes_born_the_same_day_with_other_guardians_are_not_duplicates():
    others = (valid_id("44030319790505123"), valid_id("44030319810606124"))
    assert score_pair(pupil(1, "李娜"), pupil(2, "李娜", id_number=OTHER_ID, guardians=others)) is None


def test_siblings_are_not_duplicates():
    sibling_id = valid_id("44010620100720001")
    assert score_pair(pupil(1, "李娜"), pupil(2, "李强", id_number=sibling_id, sex="1",
                                               born=date(2010, 7, 20))) is None


# The sweep ------------------------------------------------------------------------------------------


def test_exclude_pairs_are_never_reported_again():
    records = [pupil(1, "李娜"), pupil(2, "李纳", id_number=OTHER_ID), pupil(3, "李娜", id_number="")]
    assert {m.pair for m in find_matches(records)} == {
        frozenset({1, 2}), frozenset({1, 3}), frozenset({2, 3})
    }
    left = find_matches(records, exclude_pairs={frozenset({1, 2})})
    assert {m.pair for m in left} == {frozenset({1, 3}), frozenset({2, 3})}


def test_partitions_together_give_the_whole_sweep_once():
    records, _, _ = generate(3000, seed=11)
    whole = find_matches(records, processes=1)
    parts = []
    for partition in range(3):
        mine = [r for r in records if partition in record_partitions(r, 3)]
        parts.extend(sweep_partition(mine, partition, 3))
    assert sorted((m.a_pk, m.b_pk) for m in parts) == [(m.a_pk, m.b_pk) for m in whole]


def test_two_processes_find_what_one_finds():
    records, _, _ = generate(4000, seed=12)
    assert find_matches(records, processes=2) == find_matches(records, processes=1)


def test_generator_and_engine_are_deterministic():
    first = generate(2000, seed=5)
    second = generate(2000, seed=5)
    assert first == second
    assert find_matches(first[0]) == find_matches(second[0])
    assert generate(2000, seed=6)[0] != first[0]


def test_generated_ids_are_valid_and_agree_with_birth_date_and_sex():
    records, truth, kinds = generate(2000, seed=8)
    typos = {pk for pair, kind in kinds.items() if kind in ("id_typo", "renamed_same_id") for pk in pair}
    for record in records:
        if not record.id_number or record.pk in typos:
            continue
        number = record.id_number
        assert id_check_char(number[:17]) == number[17] or record.pk in typos
        assert number[6:14] == record.birth_date.strftime("%Y%m%d")
        assert int(number[16]) % 2 == (1 if record.sex == "1" else 0)


def test_small_generated_province_meets_the_quality_targets():
    records, truth, kinds = generate(5000, seed=2024)
    found = {m.pair for m in find_matches(records)}
    assert set(kinds.values()) >= set(DUPLICATE_KINDS)
    precision = len(found & truth) / len(found)
    recall = len(found & truth) / len(truth)
    assert precision >= 0.95 and recall >= 0.97, (precision, recall)


# At entry -------------------------------------------------------------------------------------------


def test_matches_for_a_new_record_best_first():
    new = pupil(10, "李纳", id_number="")
    candidates = [pupil(1, "李娜"), pupil(2, "王芳", id_number=OTHER_ID), pupil(3, "李纳", id_number=OTHER_ID)]
    found = matches_for(new, candidates)
    assert [m.pair for m in found] == [frozenset({3, 10}), frozenset({1, 10})]
    assert found[0].score >= found[1].score


def test_candidate_query_keys_name_indexable_lookups():
    keys = candidate_query_keys(pupil(1, "李娜"))
    assert keys["birth_date"] == BORN and keys["sex"] == "2"
    assert keys["guardian_ids"] == sorted([FATHER, MOTHER])
    assert keys["id_neighbour_keys"] == id_neighbour_keys(CHILD_ID)
    assert "li-na" in keys["name_sound_keys"]


def test_record_keys_include_guardians_id_neighbours_and_name_sound():
    keys = record_keys(pupil(1, "李娜"))
    assert "g:" + FATHER in keys and "g:" + MOTHER in keys
    assert set(id_neighbour_keys(CHILD_ID)) <= set(keys)
    assert any(key.startswith("s:") and key.endswith("li-na") for key in keys)


@settings(max_examples=200, deadline=None)
@given(
    body=st.from_regex(r"44[0-9]{4}20(0[8-9]|1[0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}", fullmatch=True),
    position=st.integers(min_value=0, max_value=17),
    digit=st.sampled_from("0123456789X"),
    swap=st.booleans(),
)
def test_ids_one_edit_apart_always_share_a_neighbour_key(body, position, digit, swap):
    number = valid_id(body)
    if swap:
        position = min(position, 16)
        typo = number[:position] + number[position + 1] + number[position] + number[position + 2:]
    else:
        if position < 17 and digit == "X":  # X is only ever the check char
            digit = "0"
        typo = number[:position] + digit + number[position + 1:]
    assert set(id_neighbour_keys(number)) & set(id_neighbour_keys(typo))


@pytest.mark.parametrize("typo", [
    CHILD_ID[:3] + "9" + CHILD_ID[4:],
    CHILD_ID[:12] + CHILD_ID[13] + CHILD_ID[12] + CHILD_ID[14:],
])
def test_the_entry_check_scores_an_id_one_edit_apart_as_the_sweep_does(typo):
    """The entry check prepares its candidates with their identity keys only: the ``x:``
    keys two IDs one edit apart share are among them, so the kind is the sweep's."""
    from kernel.matching.entry import matches_for

    new = pupil(2, "李娜", id_number=typo, guardians=())
    [match] = matches_for(new, [pupil(1, "李娜")], prepared={})
    [swept] = find_matches([pupil(1, "李娜"), new])
    assert (match.kind, match.score) == (swept.kind, swept.score) == ("id_typo", swept.score)
