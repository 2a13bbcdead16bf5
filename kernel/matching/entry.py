"""The check at entry (录入查重): what to look up for a record being entered, and its
likely matches among the candidates the database returns."""

from __future__ import annotations

from collections.abc import Iterable

from kernel.matching.blocking import IDENTITY_KEYS, Prepared, date_name_keys, id_variant_key, phones_of
from kernel.matching.ids import id_keys
from kernel.matching.records import Match, PupilKey
from kernel.matching.scoring import score_prepared


def candidate_query_keys(new: PupilKey) -> dict:
    """What the database should look up to find the candidates of a new record.

    Any existing record matching one of these (OR) is a candidate; ``matches_for`` then
    scores them. All are indexable lookups: ``id_number`` equal, any of ``guardian_ids``
    among the guardians' ID numbers, ``id_neighbour_keys`` overlapping the
    ``id_neighbour_keys`` stored with each record (an indexed array), ``name_sound_keys``
    overlapping the stored ``name_sound_keys`` within ``birth_year`` (the sounds of the
    name and of every 曾用名, and the same-day ``d:``/``e:`` keys of ``date_name_keys``), and
    ``stored_id_keys`` (the ID-neighbour keys, the ``v:`` key of an ID without its birth date
    and the ``p:`` keys of the guardians' phones) overlapping the same keys stored with each
    record. The stored keys of a record are the same lists: ``name_sound_keys`` and
    ``stored_id_keys``.

    A child born the same day is a candidate only through a key a sweep blocks on too
    (look-alike shape, given name's reading, or the sounds, IDs and family above), not for
    the day alone: in a province of a million pupils a day holds about 150 children of
    each sex, and scoring them all made the entry check of a 50,000-row roster take half
    an hour for the same matches.
    """
    p = Prepared(new, with_keys=False)
    neighbours = id_keys(p.id) if p.id else []
    variant = id_variant_key(p.id, p.name) if p.id and new.id_type in ("1", "") else ""
    sounds = list(p.name.sound_keys)
    for former in p.formers:
        sounds += [sound for sound in former.sound_keys if sound not in sounds]
    sounds += date_name_keys(new, p.name)
    return {
        "birth_date": new.birth_date,
        "sex": new.sex,
        "id_number": p.id,
        "guardian_ids": sorted(p.guardians),
        "id_neighbour_keys": neighbours,  # overlap with stored keys
        "birth_year": new.birth_date.year,
        "name_sound_keys": sounds,
        "stored_id_keys": neighbours + ([variant] if variant else []) + list(phones_of(new.guardian_phones)[1]),
    }


def matches_for(new: PupilKey, candidates: Iterable[PupilKey], *, prepared: dict | None = None) -> list[Match]:
    """Likely matches of a record being entered, best first (the at-entry check).

    ``prepared`` (pk → normalised candidate) is kept by a caller that scores many records
    against one candidate pool, so that each candidate is normalised once."""
    p = Prepared(new)
    found = []
    for candidate in candidates:
        if candidate.pk == new.pk:
            continue
        if prepared is None:
            other = Prepared(candidate, with_keys=IDENTITY_KEYS)
        else:
            other = prepared.get(candidate.pk)
            if other is None:
                other = prepared[candidate.pk] = Prepared(candidate, with_keys=IDENTITY_KEYS)
        match = score_prepared(p, other)
        if match is not None:
            found.append(match)
    found.sort(key=lambda m: (-m.score, m.a_pk, m.b_pk))
    return found
