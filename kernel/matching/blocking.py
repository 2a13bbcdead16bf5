"""Blocking keys (分块): every record gets a handful of keys, and only records sharing a key
are compared (the table of key families is in the package docstring).

``Prepared`` is a record with its normalised fields and keys; ``record_keys`` /
``record_partitions`` / ``partition_of`` / ``blocks`` are the public views of it.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator

from kernel.matching.ids import ID_SHAPE, check_passes, id_keys, normal_id, normalize_id
from kernel.matching.names import NAME_FORMS, NameForm, name_form
from kernel.matching.records import ID_TYPE_RESIDENT, PupilKey


def guardians_of(raw: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...]]:
    if not raw:
        return _NO_GUARDIANS, ()
    return _GUARDIANS.get(raw) or _guardian_facts(raw)


def identity_keys(record: PupilKey) -> list[str]:
    """The ``g:``, ``p:`` and ``x:`` keys of a record: its family's (guardian ID numbers and
    phones) and its ID number's blocks."""
    phone_keys = phones_of(record.guardian_phones)[1] if record.guardian_phones else ()
    return _identity_keys(record, normal_id(record.id_number), guardians_of(record.guardian_ids)[1], phone_keys)


def _identity_keys(record: PupilKey, number: str, guardian_keys: tuple[str, ...], phone_keys: tuple[str, ...]):
    keys = list(guardian_keys)
    if phone_keys:
        keys += phone_keys
    if number:
        keys += id_keys(number) if record.id_type in _RESIDENT_ID_TYPES else ["x:" + number]
    return keys


def id_variant_key(number: str, name: NameForm) -> str:
    """``v:`` region + sequence (the ID without its birth date) + the surname's reading: an
    ID fabricated to agree with a mistyped birth date meets the number it was made from."""
    if len(number) != 18 or not name.firsts or not number[:17].isdigit():
        return ""
    return f"v:{number[:6]}{number[14:17]}:{name.firsts[0]}"


def former_name_forms(record: PupilKey) -> tuple[NameForm, ...]:
    """The 曾用名 of a record that differ from its name, normalised."""
    if not record.former_names:
        return ()
    forms = []
    for raw in record.former_names:
        if raw and raw != record.name:
            form = NAME_FORMS.get(raw) or name_form(raw)
            if form.clean:
                forms.append(form)
    return tuple(forms)


def sound_head(record: PupilKey) -> str:
    birth = record.birth_date
    return f"s:{birth.year}-{birth.month}{record.sex}:"


def name_keys(record: PupilKey, name: NameForm | None = None) -> list[str]:
    """The ``s:``, ``d:``, ``e:`` and ``v:`` keys of a record: its name's blocks (its 曾用名
    get ``s:`` keys too, so a renamed child meets a record under the old name)."""
    name = name or NAME_FORMS.get(record.name) or name_form(record.name)
    return _name_keys(record, name, normal_id(record.id_number) if record.id_number else "")


def _name_keys(record: PupilKey, name: NameForm, number: str) -> list[str]:
    birth, sex = record.birth_date, record.sex
    keys: list[str] = []
    if name.sound_keys:
        head = sound_head(record)
        keys += [head + sound for sound in name.sound_keys]
    if record.former_names:
        head = sound_head(record)
        for former in former_name_forms(record):
            keys += [head + sound for sound in former.sound_keys if head + sound not in keys]
    if number and record.id_type in _RESIDENT_ID_TYPES:
        variant = id_variant_key(number, name)
        if variant:
            keys.append(variant)
    if name.has_lookalike or name.given_sound:
        born = birth.isoformat()
        if name.has_lookalike:
            keys.append(f"d:{born}:{name.shape}")
        if name.given_sound:
            keys.append(f"e:{born}{sex}:{name.given_sound}")
    return keys


class Prepared:
    """A record with its normalised fields (and, unless asked not to, its blocking keys)."""

    __slots__ = ("pk", "name", "formers", "sex", "birth", "id", "guardians", "phones", "keys")

    def __init__(self, record: PupilKey, with_keys: bool = True) -> None:
        self.pk = record.pk
        self.name = name = NAME_FORMS.get(record.name) or name_form(record.name)
        self.formers = former_name_forms(record) if record.former_names else ()
        self.sex = record.sex
        self.birth = record.birth_date
        self.id = number = normal_id(record.id_number)
        self.guardians, guardian_keys = guardians_of(record.guardian_ids)
        if record.guardian_phones:
            self.phones, phone_keys = phones_of(record.guardian_phones)
        else:
            self.phones, phone_keys = _NO_GUARDIANS, ()
        if with_keys:
            self.keys = tuple(_identity_keys(record, number, guardian_keys, phone_keys)
                              + _name_keys(record, name, number))
        else:
            self.keys = ()


_NO_GUARDIANS: frozenset[str] = frozenset()
# Siblings carry the same guardians: their facts are worked out once per tuple.
_GUARDIANS: dict[tuple[str, ...], tuple[frozenset[str], tuple[str, ...]]] = {}
_GUARDIANS_LIMIT = 2_000_000


def _guardian_facts(raw: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...]]:
    """(the guardians' 18-char ID numbers, their ``g:`` keys)."""
    numbers = [g if g.isascii() and g.isdigit() else normalize_id(g) for g in raw if g]
    guardians = frozenset(g for g in numbers if len(g) == 18)
    # Only IDs passing the check char become keys: junk and typos must not bind families
    # (a mistyped guardian ID still counts as "one edit apart" when scoring).
    keys = tuple("g:" + g for g in sorted(guardians) if ID_SHAPE.fullmatch(g) and check_passes(g))
    if len(_GUARDIANS) > _GUARDIANS_LIMIT:
        _GUARDIANS.clear()
    _GUARDIANS[raw] = facts = (guardians, keys)
    return facts
_RESIDENT_ID_TYPES = frozenset((ID_TYPE_RESIDENT, ""))

_PHONES: dict[tuple[str, ...], tuple[frozenset[str], tuple[str, ...]]] = {}


def normal_phone(raw: str) -> str:
    """The digits of a phone number without a leading +86 / 0086: '+86 138-0013-8000' →
    '13800138000'; '' when fewer than 7 digits remain or all digits are one (placeholders)."""
    digits = "".join(c for c in raw if c.isdigit()) if not raw.isdigit() else raw
    if len(digits) > 11 and digits.startswith(("0086", "86")):
        digits = digits[4:] if digits.startswith("0086") else digits[2:]
    if len(digits) < 7 or len(set(digits)) == 1:
        return ""
    return digits


def phones_of(raw: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...]]:
    """(the family members' phone numbers, their ``p:`` keys)."""
    facts = _PHONES.get(raw)
    if facts is None:
        phones = frozenset(p for p in map(normal_phone, raw) if p)
        if len(_PHONES) > _GUARDIANS_LIMIT:
            _PHONES.clear()
        _PHONES[raw] = facts = (phones, tuple("p:" + p for p in sorted(phones)))
    return facts


def record_keys(record: PupilKey) -> tuple[str, ...]:
    """The blocking keys of one record (see the table in the module docstring)."""
    return Prepared(record).keys


def partition_of(key: str, partitions: int) -> int:
    """The partition a blocking key belongs to: stable across processes and machines."""
    return zlib.crc32(key.encode("utf-8")) % partitions if partitions > 1 else 0


def record_partitions(record: PupilKey, partitions: int) -> set[int]:
    """Every partition that needs this record (one per distinct key hash)."""
    return {partition_of(key, partitions) for key in record_keys(record)}


def blocks(records: Iterable[PupilKey]) -> Iterator[tuple[str, list[PupilKey]]]:
    """Blocks with at least two records, as ``(key, records)``, in key order."""
    grouped: dict[str, list[PupilKey]] = defaultdict(list)
    for record in records:
        for key in record_keys(record):
            grouped[key].append(record)
    for key in sorted(grouped):
        if len(grouped[key]) > 1:
            yield key, grouped[key]
