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


def identity_parts(record: PupilKey) -> tuple[list[str], tuple[str, ...], bool]:
    """(the ``g:`` and ``x:`` keys, the ``p:`` keys, whether the record has no guardian ID)."""
    guardians, guardian_keys = guardians_of(record.guardian_ids)
    phone_keys = phones_of(record.guardian_phones)[1] if record.guardian_phones else ()
    return _identity_keys(record, normal_id(record.id_number), guardian_keys, ()), phone_keys, not guardians


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
    return "v:" + number[:6] + number[14:17] + ":" + name.firsts[0]


def id_variant_sweep_keys(number: str, name: NameForm) -> tuple[str, ...]:
    """The ``v:`` key in a sweep, as two narrower keys: with the ID's birth year, and with
    its month and day. A birth date one digit off keeps one of the two intact (a month/day
    swap keeps the year), so every pair the birth-variant rule accepts shares a key, while
    a block no longer holds every child of a county with that sequence and surname (its
    pairs grew with the square of the county's size)."""
    key = id_variant_key(number, name)
    if not key:
        return ()
    return key + ":y" + number[6:10], key + ":m" + number[10:14]


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


# The key heads of a (birth date, sex), worked out once: ``s:`` (``sound_head``), ``d:``, ``e:``.
_HEADS: dict[tuple, tuple[str, str, str]] = {}


def _heads(birth, sex: str) -> tuple[str, str, str]:
    born = birth.isoformat()
    _HEADS[(birth, sex)] = heads = (f"s:{birth.year}-{birth.month}{sex}:", f"d:{born}:", f"e:{born}{sex}:")
    return heads


def _name_keys(record: PupilKey, name: NameForm, number: str) -> list[str]:
    birth, sex = record.birth_date, record.sex
    s_head, d_head, e_head = _HEADS.get((birth, sex)) or _heads(birth, sex)
    keys = [s_head + sound for sound in name.sound_keys]
    if record.former_names:
        for former in former_name_forms(record):
            keys += [s_head + sound for sound in former.sound_keys if s_head + sound not in keys]
    if number and record.id_type in _RESIDENT_ID_TYPES:
        keys += id_variant_sweep_keys(number, name)
    keys += _date_name_keys(name, d_head, e_head)
    return keys


def date_name_keys(record: PupilKey, name: NameForm | None = None) -> list[str]:
    """The ``d:`` and ``e:`` keys of a record: the birth date with the name's look-alike shape,
    and the birth date and sex with the given name's reading. The at-entry check stores and
    looks them up like the sound keys (``matching.candidate_query_keys``), so that it meets
    exactly the same-day records a sweep compares, not every child born that day."""
    name = name or NAME_FORMS.get(record.name) or name_form(record.name)
    _s_head, d_head, e_head = _HEADS.get((record.birth_date, record.sex)) or _heads(record.birth_date, record.sex)
    return _date_name_keys(name, d_head, e_head)


def _date_name_keys(name: NameForm, d_head: str, e_head: str) -> list[str]:
    keys = []
    if name.has_lookalike:
        keys.append(d_head + name.shape)
    if name.given_sound:
        keys.append(e_head + name.given_sound)
    return keys


#: ``Prepared(record, with_keys=IDENTITY_KEYS)``: only the guardian and ID keys, all that
#: scoring a pair reads of its keys (an ``x:`` key shared: IDs one edit apart), for records
#: that are scored but never blocked (the candidates of the entry check).
IDENTITY_KEYS = "identity"


class Prepared:
    """A record with its normalised fields (and, unless asked not to, its blocking keys).

    ``keys`` leaves out the ``p:`` keys (``phone_keys``): a shared phone counts only when
    one record has no guardian ID (``score_prepared``), so a sweep adds a record's phone
    keys only where they can meet such a record (``add_phone_keys``)."""

    __slots__ = ("pk", "name", "formers", "sex", "birth", "id", "guardians", "phones", "phone_keys", "keys")

    def __init__(self, record: PupilKey, with_keys: bool | str = True) -> None:
        self.pk = record.pk
        self.name = name = NAME_FORMS.get(record.name) or name_form(record.name)
        self.formers = former_name_forms(record) if record.former_names else ()
        self.sex = record.sex
        self.birth = record.birth_date
        self.id = number = normal_id(record.id_number)
        self.guardians, guardian_keys = guardians_of(record.guardian_ids)
        if record.guardian_phones:
            self.phones, self.phone_keys = phones_of(record.guardian_phones)
        else:
            self.phones, self.phone_keys = _NO_GUARDIANS, ()
        if with_keys == IDENTITY_KEYS:
            self.keys = tuple(_identity_keys(record, number, guardian_keys, ()))
        elif with_keys:
            self.keys = tuple(_identity_keys(record, number, guardian_keys, ()) + _name_keys(record, name, number))
        else:
            self.keys = ()


def lone_phone_keys(prepared: Iterable[Prepared]) -> set[str]:
    """The ``p:`` keys of the records without a guardian ID: the only phones that can count."""
    return {key for p in prepared if p.phone_keys and not p.guardians for key in p.phone_keys}


def add_phone_keys(prepared: list[Prepared], lone: set[str] | None = None) -> None:
    """Give each record the phone keys that can meet a record without a guardian ID: all of
    its own when it has none, else those such a record shares (``lone``, by default those
    of ``prepared``). The pairs left out (both with guardian IDs, none shared) get nothing
    from a shared phone; most records have guardian IDs, so this spares about two keys a
    record."""
    lone = lone_phone_keys(prepared) if lone is None else lone
    if not lone:
        return
    for p in prepared:
        if p.phone_keys:
            if not p.guardians:
                p.keys += p.phone_keys
            else:
                kept = [key for key in p.phone_keys if key in lone]
                if kept:
                    p.keys += tuple(kept)


_NO_GUARDIANS: frozenset[str] = frozenset()
# Siblings carry the same guardians: their facts are worked out once per tuple.
_GUARDIANS: dict[tuple[str, ...], tuple[frozenset[str], tuple[str, ...]]] = {}
_GUARDIANS_LIMIT = 2_000_000


def _guardian_facts(raw: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...]]:
    """(the guardians' 18-char ID numbers, their ``g:`` keys)."""
    numbers = [g if g.isascii() and (g.isdigit() or g[-1] == "X" and g[:-1].isdigit()) else normalize_id(g)
               for g in raw if g]
    guardians = frozenset(g for g in numbers if len(g) == 18)
    # Only IDs passing the check char become keys: junk and typos must not bind families
    # (a mistyped guardian ID still counts as "one edit apart" when scoring).
    keys = tuple("g:" + g for g in sorted(guardians)
                 if (g.isdigit() or ID_SHAPE.fullmatch(g)) and check_passes(g))
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
    if len(digits) < 7 or digits.count(digits[0]) == len(digits):
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
    """The blocking keys of one record (see the table in the module docstring), its phone
    keys included."""
    p = Prepared(record)
    return p.keys + p.phone_keys


# A blocking key falls in one of SWEEP_BUCKETS buckets (CRC-32: stable across processes and
# machines, unlike ``hash``), and bucket b in partition b % partitions. The database stores
# each record's buckets (``record_buckets``), so that a partition reads only its records;
# 4096 buckets share out evenly (within 1/16) among any number of partitions up to 256.
SWEEP_BUCKETS = 4096


def bucket_of(key: str) -> int:
    """The bucket of a blocking key, 0 ≤ bucket < ``SWEEP_BUCKETS``."""
    return zlib.crc32(key.encode("utf-8")) % SWEEP_BUCKETS


def partition_of(key: str, partitions: int) -> int:
    """The partition a blocking key belongs to: stable across processes and machines."""
    return bucket_of(key) % partitions if partitions > 1 else 0


def partition_buckets(partition: int, partitions: int) -> list[int]:
    """The buckets of one partition (of ``partitions``)."""
    return list(range(partition, SWEEP_BUCKETS, partitions)) if partitions > 1 else list(range(SWEEP_BUCKETS))


def record_buckets(record: PupilKey) -> list[int]:
    """The buckets of every sweep key of a record, its phone keys included (whether or not
    another record lets them count): a partition must read every record having one of its
    buckets."""
    return sorted({bucket_of(key) for key in record_keys(record)})


def record_partitions(record: PupilKey, partitions: int) -> set[int]:
    """Every partition that needs this record (one per distinct key hash)."""
    return {partition_of(key, partitions) for key in record_keys(record)}


def blocks(records: Iterable[PupilKey]) -> Iterator[tuple[str, list[PupilKey]]]:
    """Blocks with at least two records, as ``(key, records)``, in key order."""
    grouped: dict[str, list[PupilKey]] = defaultdict(list)
    records = list(records)
    prepared = [Prepared(record) for record in records]
    add_phone_keys(prepared)
    for record, p in zip(records, prepared):
        for key in p.keys:
            grouped[key].append(record)
    for key in sorted(grouped):
        if len(grouped[key]) > 1:
            yield key, grouped[key]
