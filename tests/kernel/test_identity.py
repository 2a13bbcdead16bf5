"""The national identity rules (docs/design.md, identity; pure, no database).

The tests assert on ``code`` and ``field``, never on message wording.
"""

from __future__ import annotations

import os
import random
import re
from datetime import date

import pytest
from django.conf import settings
from hypothesis import assume, given
from hypothesis import strategies as st

from kernel.errors import ValidationFailed
from kernel.identity import (
    PROVINCE_CODES,
    NationalNumber,
    ResidentId,
    check_id_agrees,
    id_check_char,
    make_g_number,
    make_j_number,
    make_l_number,
    normalize_id_number,
    validate_national_number,
    validate_resident_id,
)

# RegistryError renders its message when raised. Under pytest-django the project settings
# are loaded; a bare run (-p no:django) gets minimal settings without translations.
if not settings.configured and "DJANGO_SETTINGS_MODULE" not in os.environ:
    settings.configure(USE_I18N=False)

TODAY = date(2026, 3, 1)
# The worked example of GB 11643-1999.
SAMPLE_ID = "11010519491231002X"


def refusal(call, *args, **kwargs) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        call(*args, **kwargs)
    return caught.value


def with_check_char(first17: str) -> str:
    return first17 + id_check_char(first17)


def full_width(text: str) -> str:
    return "".join(chr(ord(char) + 0xFEE0) for char in text)


@st.composite
def resident_ids(draw) -> str:
    province = draw(st.sampled_from(sorted(PROVINCE_CODES)))
    county = draw(st.text(alphabet="0123456789", min_size=4, max_size=4))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    sequence = draw(st.integers(min_value=0, max_value=999))
    return with_check_char(f"{province}{county}{born:%Y%m%d}{sequence:03d}")


county_codes = st.builds(
    lambda province, rest: province + rest,
    st.sampled_from(sorted(PROVINCE_CODES)),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
)
birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)


# Resident ID -------------------------------------------------------------------------


def test_sample_id_parses_into_region_birth_date_and_sex():
    assert validate_resident_id(SAMPLE_ID, today=TODAY) == ResidentId(
        number=SAMPLE_ID, region_code="110105", birth_date=date(1949, 12, 31), sex="2"
    )


def test_odd_sequence_is_male():
    number = with_check_char("44010620150307013")
    assert validate_resident_id(number, today=TODAY).sex == "1"


def test_lower_case_x_full_width_and_spaces_are_normalised():
    raw = "\u3000 110105 19491231 002x\t"
    assert normalize_id_number(raw) == SAMPLE_ID
    assert normalize_id_number(full_width("11010519491231002x")) == SAMPLE_ID
    assert validate_resident_id(raw, today=TODAY).number == SAMPLE_ID


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "id_empty"),
        (" \u3000 ", "id_empty"),
        ("110105491231002", "id_legacy_15"),
        ("1101051949123100", "id_length"),
        ("11010519491231002X1", "id_length"),
        ("1101051949123100XX", "id_chars"),
        ("11010519491231002A", "id_chars"),
        ("11010519491231\u0660\u0660\u0662X", "id_chars"),  # Arabic-Indic digits are not digits here
        (with_check_char("99010519491231002"), "id_province"),
        (with_check_char("10010519491231002"), "id_province"),
        (with_check_char("11010519490229002"), "id_birth_date"),  # 1949 is not a leap year
        (with_check_char("11010519491331002"), "id_birth_date"),
        (with_check_char("11010518991231002"), "id_birth_date"),  # before 1900
        (with_check_char("11010520260302002"), "id_birth_date"),  # after TODAY
        ("110105194912310021", "id_check_char"),
    ],
)
def test_each_broken_rule_has_its_own_code(raw, code):
    error = refusal(validate_resident_id, raw, today=TODAY)
    assert (error.code, error.field) == (code, "id_number")


def test_born_today_is_accepted():
    number = with_check_char(f"440106{TODAY:%Y%m%d}001")
    assert validate_resident_id(number, today=TODAY).birth_date == TODAY


@pytest.mark.parametrize("province", ["71", "81", "82", "83", "46", "65"])
def test_every_listed_province_is_accepted(province):
    validate_resident_id(with_check_char(f"{province}010519491231002"), today=TODAY)


def test_check_char_table():
    assert id_check_char("11010519491231002") == "X"
    # Sums 0..10 mod 11 map onto "10X98765432"; "00000000000000000" sums to 0.
    assert id_check_char("0" * 17) == "1"


@given(resident_ids())
def test_any_well_formed_id_passes(number):
    parsed = validate_resident_id(number, today=TODAY)
    assert parsed.number == number
    assert parsed.sex == ("1" if int(number[16]) % 2 else "2")


@given(resident_ids(), st.sampled_from([2, 3, 4, 5, 14, 15, 16]), st.integers(min_value=1, max_value=9))
def test_changing_one_digit_breaks_the_check_char(number, position, shift):
    changed = str((int(number[position]) + shift) % 10)
    altered = number[:position] + changed + number[position + 1 :]
    assert refusal(validate_resident_id, altered, today=TODAY).code == "id_check_char"


@given(resident_ids(), st.integers(min_value=0, max_value=16), st.integers(min_value=1, max_value=9))
def test_changing_any_digit_is_refused(number, position, shift):
    changed = str((int(number[position]) + shift) % 10)
    altered = number[:position] + changed + number[position + 1 :]
    refusal(validate_resident_id, altered, today=TODAY)


@given(resident_ids(), st.sampled_from("0123456789X"))
def test_a_wrong_check_char_is_refused(number, last):
    altered = number[:17] + last
    if last == number[17]:
        assert validate_resident_id(altered, today=TODAY).number == number
    else:
        assert refusal(validate_resident_id, altered, today=TODAY).code == "id_check_char"


@given(resident_ids())
def test_normalisation_round_trip(number):
    messy = " " + full_width(number[:9]) + "\u3000" + number[9:].lower() + "\n"
    assert validate_resident_id(messy, today=TODAY).number == number
    assert normalize_id_number(number) == number


# Birth date and sex against the ID ------------------------------------------------------


def test_matching_birth_date_and_sex_pass():
    check_id_agrees(SAMPLE_ID, birth_date=date(1949, 12, 31), sex="2")


def test_birth_date_mismatch_names_the_birth_date_field():
    error = refusal(check_id_agrees, SAMPLE_ID, birth_date=date(1949, 12, 30), sex="2")
    assert (error.code, error.field) == ("id_birth_mismatch", "birth_date")


def test_sex_mismatch_names_the_sex_field():
    error = refusal(check_id_agrees, SAMPLE_ID, birth_date=date(1949, 12, 31), sex="1")
    assert (error.code, error.field) == ("id_sex_mismatch", "sex")


def test_agreement_check_refuses_an_invalid_id_first():
    error = refusal(check_id_agrees, "110105194912310021", birth_date=date(1949, 12, 31), sex="2")
    assert error.code == "id_check_char"


# National student numbers -------------------------------------------------------------


@given(county_codes, birth_dates, st.integers(min_value=0, max_value=2**32))
def test_l_number_format_and_round_trip(county, born, seed):
    number = make_l_number(county, born, random.Random(seed))
    assert re.fullmatch(rf"L{county}{born:%Y%m%d}[0-9]{{4}}", number)
    assert validate_national_number(number) == NationalNumber(kind="L", number=number)


def test_l_number_uses_the_given_rng():
    born = date(2015, 3, 7)
    assert make_l_number("440106", born, random.Random(7)) == make_l_number("440106", born, random.Random(7))


@given(county_codes, birth_dates, st.integers(min_value=1, max_value=999))
def test_j_number_format_check_char_and_round_trip(county, born, sequence):
    number = make_j_number(county, born, sequence)
    assert len(number) == 19
    assert number[:18] == f"J{county}{born:%Y%m%d}{sequence:03d}"
    assert number[18] == id_check_char(number[1:18])
    assert validate_national_number(number) == NationalNumber(kind="J", number=number)


@given(county_codes, birth_dates, st.integers(min_value=1, max_value=999), st.integers(min_value=1, max_value=9))
def test_j_number_with_a_changed_sequence_digit_fails_the_check_char(county, born, sequence, shift):
    number = make_j_number(county, born, sequence)
    position = 17  # last sequence digit: the number keeps its shape
    changed = str((int(number[position]) + shift) % 10)
    altered = number[:position] + changed + number[position + 1 :]
    assume(altered[15:18] != "000")
    assert refusal(validate_national_number, altered).code == "number_check_char"


@given(resident_ids())
def test_g_number_is_g_plus_the_id_and_round_trips(number):
    g_number = make_g_number(number.lower())
    assert g_number == "G" + number
    assert validate_national_number(g_number) == NationalNumber(kind="G", number=g_number)


def test_g_number_refuses_an_invalid_id():
    assert refusal(make_g_number, "110105194912310021").code == "id_check_char"


def test_national_number_is_normalised():
    number = make_j_number("440106", date(2015, 3, 7), 12)
    messy = " " + full_width(number.lower()) + "\u3000"
    assert validate_national_number(messy).number == number


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "number_empty"),
        ("L44010620150307123", "number_length"),
        ("L4401062015030712345", "number_length"),
        ("X440106201503071234", "number_kind"),
        ("4401062015030712345", "number_kind"),
        ("L44010620150307123A", "number_format"),
        ("L440106201502301234", "number_format"),  # Feb 30
        ("L990106201503071234", "number_format"),  # no province 99
        ("L440106189912311234", "number_format"),  # before 1900
        ("J440106201503070000", "number_format"),  # sequence 000
        ("J44010620150307012Y", "number_format"),
        ("G110105194912310A2X", "number_format"),
        ("J440106201503070121", "number_check_char"),
        ("G110105194912310021", "number_check_char"),
    ],
)
def test_each_broken_number_rule_has_its_own_code(raw, code):
    error = refusal(validate_national_number, raw)
    assert (error.code, error.field) == (code, "national_number")


def test_l_numbers_have_no_check_char():
    for last in "0123456789":
        validate_national_number(f"L44010620150307123{last}")


@pytest.mark.parametrize("county", ["44010", "4401067", "44010a", "990106"])
def test_numbers_need_a_six_digit_county_code(county):
    assert refusal(make_l_number, county, date(2015, 3, 7)).code == "county_code"
    assert refusal(make_j_number, county, date(2015, 3, 7), 1).code == "county_code"


@pytest.mark.parametrize("sequence", [0, 1000, -1])
def test_j_sequence_is_1_to_999(sequence):
    error = refusal(make_j_number, "440106", date(2015, 3, 7), sequence)
    assert (error.code, error.field) == ("number_sequence", "sequence")
