"""National identity rules: the resident ID and the national student number.

Two numbers identify a pupil:

* the resident ID (居民身份证号码, GB 11643-1999): 6-digit region + 8-digit birth date +
  3-digit sequence (odd = male, even = female) + a check char;
* the national student number (全国学籍号), 19 chars, lifelong: ``G`` + resident ID
  (permanent), ``L`` + county + birth date + 4 random digits (temporary, no check char) or
  ``J`` + county + birth date + 3-digit sequence + check char (pupils without a usable ID).

Pure functions, no database. Every refusal is a ``ValidationFailed`` with a stable code;
see docs/design.md (identity).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from kernel.errors import ValidationFailed

ID_LENGTH = 18
LEGACY_ID_LENGTH = 15
NATIONAL_NUMBER_LENGTH = 19
EARLIEST_BIRTH_YEAR = 1900

# First two digits of GB/T 2260 region codes that are real provinces. Only these are
# checked: historic county codes stay valid in IDs issued under them.
PROVINCE_CODES = frozenset(
    [str(n) for n in range(11, 16)]
    + [str(n) for n in range(21, 24)]
    + [str(n) for n in range(31, 38)]
    + [str(n) for n in range(41, 47)]
    + [str(n) for n in range(50, 55)]
    + [str(n) for n in range(61, 66)]
    + ["71", "81", "82", "83"]
)

#: GB 11643-1999 check character (ISO 7064 MOD 11-2): weights of the 17 digits, and the
#: check char for each value of the weighted sum mod 11. The one copy of the rule: resident
#: IDs, J numbers and the matching engine's typo keys all use it.
CHECK_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"

_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
# Unicode whitespace (U+3000 included) plus the zero-width chars spreadsheets leave behind.
_WHITESPACE = re.compile(r"[\s\u200b\ufeff]+")

# Full-width ASCII forms (U+FF01..U+FF5E) sit at a fixed offset from their ASCII twins.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}

ID_FIELD = "id_number"
NUMBER_FIELD = "national_number"

NumberKind = Literal["G", "L", "J"]


@dataclass(frozen=True)
class ResidentId:
    """A resident ID number that passed every GB 11643 rule."""

    number: str
    region_code: str
    birth_date: date
    sex: Literal["1", "2"]  # GB/T 2261.1: 1 male, 2 female


@dataclass(frozen=True)
class NationalNumber:
    """A national student number (全国学籍号) that passed the format rules of its kind."""

    kind: NumberKind
    number: str


def _clean(raw: str | None) -> str:
    """Drop every whitespace char and fold full-width letters and digits to ASCII."""
    return _WHITESPACE.sub("", (raw or "").translate(_FULL_WIDTH))


def normalize_id_number(raw: str) -> str:
    """The ID number as stored: no spaces, half-width chars, an upper-case check char X."""
    return _clean(raw).replace("x", "X")


def id_check_char(first17: str) -> str:
    """The GB 11643 check char of 17 digits (also used for J numbers)."""
    if len(first17) != 17 or not _DIGITS.fullmatch(first17):
        raise ValueError(f"expected 17 ASCII digits, got {first17!r}")
    total = sum(int(digit) * weight for digit, weight in zip(first17, CHECK_WEIGHTS))
    return CHECK_CHARS[total % 11]


def _parse_date(yyyymmdd: str) -> date | None:
    try:
        return date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return None


def _id_failure(message, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, field=ID_FIELD)


def _check_birth_date(yyyymmdd: str, today: date) -> date:
    born = _parse_date(yyyymmdd)
    if born is None:
        raise _id_failure(
            format_lazy(_("身份证号中的出生日期 {value} 不是有效日期。"), value=yyyymmdd),
            "id_birth_date",
        )
    if born.year < EARLIEST_BIRTH_YEAR:
        raise _id_failure(
            format_lazy(_("身份证号中的出生日期 {value} 早于 1900 年。"), value=born.isoformat()),
            "id_birth_date",
        )
    if born > today:
        raise _id_failure(
            format_lazy(_("身份证号中的出生日期 {value} 晚于今天。"), value=born.isoformat()),
            "id_birth_date",
        )
    return born


def validate_resident_id(raw: str, *, today: date | None = None) -> ResidentId:
    """Parse a resident ID number, refusing it with the first rule it breaks.

    ``today`` bounds the birth date; callers inside a request should pass the local date
    of the deployment (``django.utils.timezone.localdate()``).
    """
    number = normalize_id_number(raw)
    if not number:
        raise _id_failure(_("请填写身份证号。"), "id_empty")
    if len(number) == LEGACY_ID_LENGTH and _DIGITS.fullmatch(number):
        raise _id_failure(
            _("这是 15 位的旧身份证号，已停止使用；请填写换发后的 18 位身份证号。"),
            "id_legacy_15",
        )
    if len(number) != ID_LENGTH:
        raise _id_failure(
            format_lazy(_("身份证号应为 18 位，现为 {length} 位。"), length=len(number)),
            "id_length",
        )
    if not _ID_SHAPE.fullmatch(number):
        raise _id_failure(
            _("身份证号只能由数字组成，最后一位可以是 X。"),
            "id_chars",
        )
    if number[:2] not in PROVINCE_CODES:
        raise _id_failure(
            format_lazy(_("身份证号前两位 {code} 不是有效的省级行政区划代码。"), code=number[:2]),
            "id_province",
        )
    born = _check_birth_date(number[6:14], today or date.today())
    if id_check_char(number[:17]) != number[17]:
        raise _id_failure(
            _("身份证号校验位不正确，请核对号码是否抄错。"),
            "id_check_char",
        )
    sex: Literal["1", "2"] = "1" if int(number[16]) % 2 else "2"
    return ResidentId(number=number, region_code=number[:6], birth_date=born, sex=sex)


_SEX_NAMES = {"1": _("男"), "2": _("女")}


def check_id_agrees(
    id_number: str, *, birth_date: date, sex: str, parsed: ResidentId | None = None
) -> None:
    """Refuse a record whose birth date or sex differs from what its ID number says.

    ``parsed``: the ``validate_resident_id`` result the caller already has.
    """
    resident_id = parsed if parsed is not None and parsed.number == id_number else validate_resident_id(id_number)
    if birth_date != resident_id.birth_date:
        raise ValidationFailed(
            format_lazy(
                _("出生日期与身份证号不一致：按身份证号应为 {value}。"),
                value=resident_id.birth_date.isoformat(),
            ),
            code="id_birth_mismatch",
            field="birth_date",
        )
    if str(sex) != resident_id.sex:
        raise ValidationFailed(
            format_lazy(
                _("性别与身份证号不一致：按身份证号应为{value}。"),
                value=_SEX_NAMES[resident_id.sex],
            ),
            code="id_sex_mismatch",
            field="sex",
        )


# National student numbers (全国学籍号) ----------------------------------------------------


def _require_county_code(county_code: str) -> None:
    valid = len(county_code) == 6 and _DIGITS.fullmatch(county_code) and county_code[:2] in PROVINCE_CODES
    if not valid:
        raise ValidationFailed(
            format_lazy(_("区县代码 {value} 无效，应为 6 位行政区划代码。"), value=county_code),
            code="county_code",
            field="county_code",
        )


def _require_birth_date(birth_date: date) -> None:
    if birth_date.year < EARLIEST_BIRTH_YEAR:
        raise ValidationFailed(
            format_lazy(_("出生日期 {value} 早于 1900 年。"), value=birth_date.isoformat()),
            code="birth_date",
            field="birth_date",
        )


def make_l_number(county_code: str, birth_date: date, rng: random.Random | None = None) -> str:
    """A temporary number: ``L`` + county + birth date + 4 random digits (no check char)."""
    _require_county_code(county_code)
    _require_birth_date(birth_date)
    rng = rng or random.SystemRandom()
    return f"L{county_code}{birth_date:%Y%m%d}{rng.randrange(10_000):04d}"


def make_j_number(county_code: str, birth_date: date, sequence: int) -> str:
    """A number for a pupil without a usable ID: ``J`` + county + birth date + sequence + check."""
    _require_county_code(county_code)
    _require_birth_date(birth_date)
    if not 1 <= sequence <= 999:
        raise ValidationFailed(
            format_lazy(_("顺序号 {value} 无效，应在 1 到 999 之间。"), value=sequence),
            code="number_sequence",
            field="sequence",
        )
    body = f"{county_code}{birth_date:%Y%m%d}{sequence:03d}"
    return f"J{body}{id_check_char(body)}"


def make_g_number(id_number: str) -> str:
    """The permanent number: ``G`` + the validated resident ID number."""
    return "G" + validate_resident_id(id_number).number


def _number_failure(message, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, field=NUMBER_FIELD)


_FORMAT_MESSAGES = {
    "L": _("L 开头的全国学籍号应为：L + 6 位区县代码 + 8 位出生日期 + 4 位数字。"),
    "J": _("J 开头的全国学籍号应为：J + 6 位区县代码 + 8 位出生日期 + 3 位顺序号 + 校验位。"),
    "G": _("G 开头的全国学籍号应为：G + 有效的 18 位身份证号。"),
}

_NUMBER_CHECK_MESSAGE = _("全国学籍号校验位不正确，请核对号码是否抄错。")


def _has_county_and_birth_date(body: str) -> bool:
    """True when ``body`` starts with a 6-digit county code and a real YYYYMMDD date."""
    head = body[:14]
    if not (_DIGITS.fullmatch(head) and head[:2] in PROVINCE_CODES):
        return False
    born = _parse_date(head[6:14])
    return born is not None and born.year >= EARLIEST_BIRTH_YEAR


def validate_national_number(raw: str) -> NationalNumber:
    """Parse a national student number, refusing it with the first rule it breaks."""
    number = _clean(raw).upper()
    if not number:
        raise _number_failure(_("请填写全国学籍号。"), "number_empty")
    if len(number) != NATIONAL_NUMBER_LENGTH:
        raise _number_failure(
            format_lazy(_("全国学籍号应为 19 位，现为 {length} 位。"), length=len(number)),
            "number_length",
        )
    kind, body = number[0], number[1:]
    if kind == "G":
        try:
            validate_resident_id(body)
        except ValidationFailed as refusal:
            if refusal.code == "id_check_char":
                raise _number_failure(_NUMBER_CHECK_MESSAGE, "number_check_char") from None
            raise _number_failure(_FORMAT_MESSAGES["G"], "number_format") from None
        return NationalNumber(kind="G", number=number)
    if kind == "L":
        if not (_DIGITS.fullmatch(body) and _has_county_and_birth_date(body)):
            raise _number_failure(_FORMAT_MESSAGES["L"], "number_format")
        return NationalNumber(kind="L", number=number)
    if kind == "J":
        if not (_ID_SHAPE.fullmatch(body) and _has_county_and_birth_date(body) and body[14:17] != "000"):
            raise _number_failure(_FORMAT_MESSAGES["J"], "number_format")
        if id_check_char(body[:17]) != body[17]:
            raise _number_failure(_NUMBER_CHECK_MESSAGE, "number_check_char")
        return NationalNumber(kind="J", number=number)
    raise _number_failure(
        format_lazy(_("全国学籍号应以 G、L 或 J 开头，现为“{kind}”。"), kind=kind),
        "number_kind",
    )
