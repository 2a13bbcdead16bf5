"""ID numbers as the engine compares them: normalised, checked (GB 11643) and the
neighbour keys that let a typo meet the number it mistypes.

GB 11643's check char (ISO 7064 MOD 11-2) catches every single substitution and every
transposition of adjacent chars. So of two IDs one such edit apart, at most one passes
the check, and the other is one edit away from it. A passing ID is its own key; a failing
one also names every passing ID one edit away (at most one per position and one per
adjacent pair: ~20). Records share a key exactly when the IDs are equal or one of them
corrects the other, and the common case (a valid ID) costs one key.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from datetime import date
from functools import lru_cache

from kernel.identity import CHECK_CHARS, CHECK_WEIGHTS, PROVINCE_CODES, id_check_char

ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
_CHECK_VALUE = {char: value for value, char in enumerate(CHECK_CHARS)}
_INVERSE = {w: pow(w, -1, 11) for w in set(CHECK_WEIGHTS)}


def normalize_id(raw: str) -> str:
    """Upper case, no spaces, half-width: the form IDs are compared in."""
    raw = raw or ""
    if raw.isascii() and raw.isalnum():
        return raw.upper()
    return "".join(unicodedata.normalize("NFKC", raw or "").split()).upper()


@lru_cache(maxsize=65536)
def id_is_valid(number: str) -> bool:
    """GB 11643 shape, a real province, a real birth date and the right check char."""
    if not ID_SHAPE.fullmatch(number) or number[:2] not in PROVINCE_CODES:
        return False
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return id_check_char(number[:17]) == number[17]


def _weighted_sum(number: str) -> int:
    """Σ digit × weight over the first 17 chars, modulo 11 (all that the check uses).

    The weights are 2^(17-i) mod 11, and 13 ≡ 2 (mod 11), so the sum is congruent to
    2 × (the 17 digits read in base 13): one C-level int() instead of 17 multiplications.
    """
    return 2 * int(number[:17], 13) % 11


def check_passes(number: str) -> bool:
    """The check char agrees (the rule of ``kernel.identity.id_check_char``)."""
    return CHECK_CHARS[_weighted_sum(number)] == number[17]


def _corrections(number: str) -> list[str]:
    """Every ID passing the check that is one substitution or adjacent swap from ``number``."""
    total = _weighted_sum(number)
    target = _CHECK_VALUE[number[17]]
    found = {number[:17] + CHECK_CHARS[total]}  # the check char itself mistyped
    for i, weight in enumerate(CHECK_WEIGHTS):  # one digit mistyped: at most one fix per position
        digit = int(number[i])
        fixed = (digit + (target - total) * _INVERSE[weight]) % 11
        if fixed != digit and fixed < 10:
            found.add(f"{number[:i]}{fixed}{number[i + 1:]}")
    for i in range(16):  # two adjacent digits swapped
        x, y = number[i], number[i + 1]
        if x != y:
            swapped = number[:i] + y + x + number[i + 2:]
            if check_passes(swapped):
                found.add(swapped)
    if number[17] != "X" and number[16] != number[17]:  # the last digit swapped with the check
        swapped = number[:16] + number[17] + number[16]
        if check_passes(swapped):
            found.add(swapped)
    found.discard(number)
    return sorted(found)


def id_keys(number: str) -> list[str]:
    if len(number) != 18:
        return ["x:" + number]
    if not ID_SHAPE.fullmatch(number):
        # The one swap that leaves the shape: a check char X swapped with the digit before.
        if number[16] == "X" and number[:16].isdigit() and number[17].isdigit():
            swapped = number[:16] + number[17] + "X"
            if check_passes(swapped):
                return ["x:" + number, "x:" + swapped]
        return ["x:" + number]
    if check_passes(number):
        return ["x:" + number]
    return ["x:" + number] + ["x:" + fixed for fixed in _corrections(number)]


def id_neighbour_keys(id_number: str) -> list[str]:
    """Blocking keys shared by the same ID and by IDs one substitution or adjacent swap away.

    A valid ID has one key (itself); an ID failing the check char also has the valid IDs
    one edit away. Two IDs one edit apart, one of them valid, always share a key, so the
    database can store these in an indexed array column and find typo neighbours by overlap.
    """
    return id_keys(normalize_id(id_number))


def one_edit(a: str, b: str) -> str | None:
    """'sub' / 'swap' when two equal-length IDs are one substitution / transposition apart."""
    if len(a) != len(b) or a == b or sum(map(operator.ne, a, b)) > 2:
        return None
    diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    if len(diff) == 1:
        return "sub"
    if len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]:
        return "swap"
    return None


def mask(number: str) -> str:
    return number[:6] + "*" * (len(number) - 10) + number[-4:] if len(number) > 10 else number


def normal_id(raw: str) -> str:
    if raw and not (raw.isascii() and (raw.isdigit() or raw.isalnum() and raw.isupper())):
        return normalize_id(raw)
    return raw or ""
