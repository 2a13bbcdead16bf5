"""Duplicate check at entry (查重): is the record being entered probably a child already registered?

``likely_duplicates`` asks the database for the candidates of a new record in the whole
province of its school (``matching.candidate_query_keys``: the same or a one-edit-apart ID
number, a shared guardian ID number, the same name sound within the birth year, the same
birth date with a look-alike name shape or the same given name's reading) and scores them
with ``matching.matches_for``. This is a system check across the
province, on purpose outside the user's scope: the operator is told only who holds the
likely match (national number, name, school) so that a transfer can be started instead.

``record_entry_override`` turns the pairs the operator kept anyway into open cases
(疑似重复学籍) for the counties (``duplicates.cases.case_open_at_entry``).
"""

from __future__ import annotations

from collections import defaultdict

from django.db import connection
from django.utils.translation import gettext as _

from accounts.permissions import membership_of
from accounts.scope import scope_of
from duplicates.cases import case_open_at_entry, likely_pk, likely_ref
from duplicates.keys import case_threshold, data_key, former_names, year_keys
from duplicates.models import CleanPair
from duplicates.models import PupilMatchKey as MatchKey
from kernel import matching
from registry import disclosure
from registry.models import FINISHED_STATUSES, SAME_CHILD_STATUSES, Guardian, Pupil, PupilStatus
from registry.records import PupilData
from schools.models import School

#: Records checked together: one candidate query per batch instead of one per row.
BATCH = 500


def likely_duplicates(data: PupilData, *, exclude_pk: int | None = None) -> list[dict]:
    """Existing pupils that are probably the same child as ``data``, best first.

    ``exclude_pk`` is the pupil being changed (a key change re-runs the check); pairs a
    county ruled 佐证 (both real) are never reported again.
    """
    return likely_duplicates_many([data], exclude_pk=exclude_pk)[0]


def likely_duplicates_many(records: list[PupilData], *, exclude_pk: int | None = None) -> list[list[dict]]:
    """``likely_duplicates`` for many records at once (a roster's rows), in their order.

    Candidates come from one query per batch over the indexed keys of every record in it,
    read as plain tuples; each record is then scored only against the candidates sharing
    one of *its* keys, so the result is the same as checking the records one by one.
    """
    results: list[list[dict]] = [[] for _ in records]
    usable = [(i, d) for i, d in enumerate(records) if d.name and d.birth_date and d.sex in ("1", "2")]
    counties = dict(
        School.objects.filter(code__in={d.school_code for _, d in usable}).values_list("code", "county_id")
    )
    by_province: dict[str, list] = defaultdict(list)
    for i, d in usable:
        county = counties.get(d.school_code)
        if county:
            by_province[county[:2]].append((i, data_key(d, pk=exclude_pk or 0, county=county)))
    clean = _clean_partners(exclude_pk)
    for province, items in by_province.items():
        threshold = case_threshold(province)
        # Records of the same birth day and year together: their sound and same-day keys
        # are shared, so a batch asks fewer keys and meets fewer candidates. The candidates
        # read and normalised are kept for the later batches of the call (``seen``).
        items.sort(key=lambda item: (item[1].birth_date, item[1].name))
        seen = _Seen()
        for start in range(0, len(items), BATCH):
            batch = items[start : start + BATCH]
            found: dict[int, list[matching.Match]] = {}
            for (i, key), matches in zip(batch, _batch_matches(province, [k for _i, k in batch], exclude_pk,
                                                               seen=seen)):
                matches = [m for m in matches if m.score >= threshold and _other(m, key.pk) not in clean]
                if matches:
                    found[i] = matches
            own = exclude_pk or 0
            pupils = _CandidatePool.pupils({_other(m, own) for ms in found.values() for m in ms})
            for i, matches in found.items():
                results[i] = [_describe(pupils[_other(m, own)], m) for m in matches]
    return results


class _Seen:
    """The candidates already read for earlier batches of one check (the registry is read
    once for the whole check): their engine records, and their normalised forms."""

    def __init__(self) -> None:
        self.keys: dict[int, matching.PupilKey] = {}
        self.prepared: dict[int, object] = {}


def _batch_matches(province: str, keys: list[matching.PupilKey], exclude_pk: int | None = None,
                   counter: list[int] | None = None, seen: _Seen | None = None) -> list[list[matching.Match]]:
    """For each record, its matches among the province's records sharing an indexed key
    with it (one candidate query for the batch); ``counter[0]`` counts the pairs scored."""
    wanted = [matching.candidate_query_keys(key) for key in keys]
    pool = _CandidatePool(province, wanted, exclude_pk=exclude_pk, seen=seen)
    results = []
    for key, query in zip(keys, wanted):
        candidates = pool.candidates_for(query)
        if counter is not None:
            counter[0] += len(candidates)
        results.append(matching.matches_for(key, candidates, prepared=pool.prepared))
    return results


def matches_in_province(province: str, records: list[matching.PupilKey], *,
                        stats: matching.SweepStats | None = None) -> list[matching.Match]:
    """Every match of the given stored records with any record of the province, through the
    same indexed keys as the entry check (an incremental sweep): each pair once, by
    ``(a_pk, b_pk)``. The candidate keys cover every blocking key of a full sweep, so a
    changed record meets every record a full sweep would compare it with."""
    found: dict[tuple[int, int], matching.Match] = {}
    counter = [0]
    seen = _Seen()
    for start in range(0, len(records), BATCH):
        batch = records[start : start + BATCH]
        for matches in _batch_matches(province, batch, counter=counter, seen=seen):
            for m in matches:
                found[(m.a_pk, m.b_pk)] = m
    if stats is not None:
        stats.records += len(records)
        stats.blocks += (len(records) + BATCH - 1) // BATCH
        stats.pairs_scored += counter[0]
        stats.matches += len(found)
    return [found[pair] for pair in sorted(found)]


def _other(match: matching.Match, own_pk: int) -> int:
    return match.b_pk if match.a_pk == own_pk else match.a_pk


def _clean_partners(pk: int | None) -> set[int]:
    """Pupils a county ruled 佐证 (both real) together with ``pk``."""
    if not pk:
        return set()
    partners = set(CleanPair.objects.filter(pupil_low=pk).values_list("pupil_high", flat=True))
    return partners | set(CleanPair.objects.filter(pupil_high=pk).values_list("pupil_low", flat=True))


class _CandidatePool:
    """Active pupils of a province sharing any indexed key with a batch of new records,
    indexed by those keys (plain tuples: the engine needs a few columns)."""

    def __init__(self, province: str, wanted: list[dict], *, exclude_pk: int | None,
                 seen: _Seen | None = None) -> None:
        ids = {k["id_number"] for k in wanted if k["id_number"]}
        ids |= {n[2:] for k in wanted for n in k["id_neighbour_keys"] if n.startswith("x:")}
        id_keys = sorted({n for k in wanted for n in k["stored_id_keys"]})
        guardian_ids = sorted({g for k in wanted for g in k["guardian_ids"]})
        # A sound key counts within the record's own birth year only: stored and probed
        # qualified by it (``year_keys``), a common sound is not read for every year.
        sound_keys = sorted({s for k in wanted for s in year_keys(k["birth_year"], k["name_sound_keys"])})
        # One indexed lookup per kind of key, united by id: a single query OR-ing them all
        # cannot use the indexes and compares every row with every key (seconds per batch).
        pupils = Pupil.objects.filter(county_code__startswith=province)
        found: set[int] = set()
        if ids:
            found.update(pupils.filter(id_number__in=ids).values_list("pk", flat=True))
        if guardian_ids:
            found.update(Guardian.objects.filter(id_number__in=guardian_ids).values_list("pupil_id", flat=True))
        held = _holding_any(id_keys, sound_keys)
        found.update(pupil_id for _column, _key, pupil_id in held)
        if exclude_pk is not None:
            found.discard(exclude_pk)
        seen = seen or _Seen()
        known = seen.keys
        rows, family = _pool_rows(province, sorted(pk for pk in found if pk not in known))
        guardians: dict[int, set[str]] = defaultdict(set)
        phones: dict[int, set[str]] = defaultdict(set)
        for pupil_id, number, phone in family:
            if number:
                guardians[pupil_id].add(number)
            if phone:
                phones[pupil_id].add(phone)
        for pk, name, former, sex, birth, id_number, id_type, county in rows:
            known[pk] = matching.PupilKey(
                pk=pk, name=name, sex=sex, birth_date=birth, id_number=id_number or "",
                guardian_ids=tuple(sorted(guardians[pk])), county=county, id_type=id_type,
                former_names=former_names(former), guardian_phones=tuple(sorted(phones[pk])),
            )
        self.prepared = seen.prepared  # the engine's normalised form of a candidate, made once
        self.keys: dict[int, matching.PupilKey] = {pk: known[pk] for pk in found if pk in known}
        self.index: dict[tuple, set[int]] = defaultdict(set)
        for pk, record in self.keys.items():
            if record.id_number:
                self.index[("id", record.id_number)].add(pk)
            for number in record.guardian_ids:
                self.index[("guardian", number)].add(pk)
        # The stored keys a probe met, as (column, key, pupil) pairs: a candidate outside the
        # province or no longer the same child (``_pool_rows``) is left out.
        for column, key, pk in held:
            if pk in self.keys:
                self.index[(column, key)].add(pk)

    def candidates_for(self, keys: dict) -> list[matching.PupilKey]:
        """The pool's pupils sharing one of ``keys`` (as ``candidate_query_keys`` gives them)."""
        lookups = []
        if keys["id_number"]:
            lookups.append(("id", keys["id_number"]))
        for key in keys["stored_id_keys"]:
            lookups.append(("idkey", key))
            if key.startswith("x:"):
                lookups.append(("id", key[2:]))
        lookups += [("guardian", number) for number in keys["guardian_ids"]]
        lookups += [("sound", key) for key in year_keys(keys["birth_year"], keys["name_sound_keys"])]
        pks: set[int] = set()
        index = self.index
        for lookup in lookups:
            found = index.get(lookup)
            if found:
                pks |= found
        return [self.keys[pk] for pk in pks]

    @staticmethod
    def pupils(pks: set[int]) -> dict[int, Pupil]:
        return Pupil.objects.select_related("school__county").in_bulk(list(pks))


def _pool_rows(province: str, pks: list[int]) -> tuple[list[tuple], list[tuple]]:
    """The candidates' fields, and their family members' ID numbers and phones (plain SQL
    with ``= ANY``: an ``IN`` of thousands of ids costs more to build than to run)."""
    if not pks:
        return [], []
    pupil = connection.ops.quote_name(Pupil._meta.db_table)
    guardian = connection.ops.quote_name(Guardian._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id, p.name, p.former_name, p.sex, p.birth_date, p.id_number, p.id_type, p.county_code "
            f"FROM {pupil} p WHERE p.id = ANY(%s) AND p.county_code LIKE %s AND p.status = ANY(%s)",
            [pks, province + "%", sorted(str(status) for status in SAME_CHILD_STATUSES)],
        )
        rows = cursor.fetchall()
        cursor.execute(
            f"SELECT pupil_id, id_number, phone FROM {guardian} WHERE pupil_id = ANY(%s) "
            "AND (id_number <> '' OR phone <> '')",
            [[row[0] for row in rows]],
        )
        return rows, cursor.fetchall()


def _holding_any(id_keys: list[str], sound_keys: list[str]) -> list[tuple[str, str, int]]:
    """The pupils whose stored ``id_keys`` or (year-qualified) ``sound_keys`` of
    ``PupilMatchKey`` hold any of these keys, as ``("idkey" | "sound", key, pupil)`` pairs;
    one query. One GIN probe per key: for an overlap with hundreds of keys the planner
    estimates most of the table and scans it, testing every row against every key (seconds
    per batch)."""
    if not id_keys and not sound_keys:
        return []
    table = connection.ops.quote_name(MatchKey._meta.db_table)
    sql = (f"SELECT 'idkey', k.key, m.pupil_id FROM unnest(%s::varchar[]) AS k(key) "
           f"JOIN {table} m ON m.id_keys @> ARRAY[k.key] "
           f"UNION ALL SELECT 'sound', k.key, m.pupil_id FROM unnest(%s::text[]) AS k(key) "
           f"JOIN {table} m ON m.sound_keys @> ARRAY[k.key]")
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(id_keys), list(sound_keys)])
        return cursor.fetchall()


def _describe(pupil: Pupil, match: matching.Match) -> dict:
    """One likely match as the operator reads it; a finished or dead record says so (the
    same child continues by 升学; a dead child's record is never reused)."""
    county = pupil.school.county
    summary = _("%(county)s%(school)s的%(name)s（全国学籍号 %(number)s）可能是同一学生，相似度 %(score).2f：%(reasons)s") % {
        "county": county.full_name(),
        "school": pupil.school.name,
        "name": pupil.name,
        "number": pupil.national_number,
        "score": match.score,
        "reasons": "；".join(match.reasons),
    }
    note = ""
    if pupil.status in FINISHED_STATUSES:
        note = _("该学生已%(status)s，如为同一学生请通过“升学接收”接收，不要新建学籍") % {
            "status": pupil.get_status_display()}
    elif pupil.status == PupilStatus.DECEASED:
        note = _("该学籍已登记死亡，请核实")
    if note:
        summary = f"{summary}。{note}"
    return {
        "ref": likely_ref(pupil.pk),
        "national_number": pupil.national_number,
        "name": pupil.name,
        "sex": pupil.sex,
        "birth_date": pupil.birth_date.isoformat(),
        "grade": pupil.grade,
        "status": pupil.status,
        "school_code": pupil.school.code,
        "school_name": pupil.school.name,
        "county_code": pupil.county_code,
        "county": county.full_name(),
        "score": match.score,
        "reasons": list(match.reasons),
        "kind": match.kind,
        "summary": summary,
        "note": note,
    }


#: The fields of a likely match a unit outside the match's scope is shown: the minimal card of
#: the transfer lookup, the school and county that hold it (to start a transfer) and why.
MINIMAL_CARD = ("ref", "name", "sex", "birth_date", "grade", "status", "school_code", "school_name", "county",
                "score", "reasons", "kind", "note")


def likely_shown_to(user, likely: list[dict]) -> list[dict]:
    """The likely matches as ``user`` may read them: a match outside the user's scope is the
    minimal card (no national number), counted and recorded like a transfer lookup
    (``registry.disclosure``); past the hourly allowance its school is withheld too."""
    scope = scope_of(user) if user is not None else None
    school = getattr(membership_of(user), "school", None) if user is not None else None
    shown = []
    for item in likely:
        own = scope is not None and (
            (school is not None and item.get("school_code") == school.code)
            or (school is None and scope.covers_code(item.get("county_code", "")))
        )
        if own:
            shown.append(item)
            continue
        card = {k: item[k] for k in MINIMAL_CARD if k in item}
        if user is not None and disclosure.throttled(user):
            card = {k: card[k] for k in ("ref", "score", "reasons", "kind") if k in card}
            card["summary"] = _("疑似与外单位的一名学生重复，相似度 %(score).2f（查询次数已达每小时上限，暂不显示其所在学校）") % {
                "score": item["score"]}
        else:
            card["summary"] = _("%(county)s%(school)s的%(name)s可能是同一学生，相似度 %(score).2f：%(reasons)s") % {
                "county": item.get("county", ""), "school": item.get("school_name", ""), "name": item.get("name", ""),
                "score": item["score"], "reasons": "；".join(item.get("reasons", []))}
            if item.get("note"):
                card["summary"] = f"{card['summary']}。{item['note']}"
            if user is not None:
                pupil = Pupil.objects.select_related("school").filter(pk=likely_pk(item)).first()
                if pupil is not None:
                    disclosure.record(user=user, pupil=pupil, kind="likely", name=pupil.name)
        shown.append(card)
    return shown


def record_entry_override(*, pupil, likely: list[dict], reason: str, user) -> None:
    """The operator saved despite likely matches: each pair becomes an open case for the counties."""
    case_open_at_entry(user=user, pupil=pupil, likely=likely, reason=reason)
