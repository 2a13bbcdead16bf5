"""Matching keys (查重索引): the indexed keys of each pupil for the at-entry candidate query,
kept current on every save of a pupil (``duplicates.apps``) and, for rows written in bulk, by
every sweep; and the province's records as the engine reads them."""

from __future__ import annotations

import logging

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from duplicates.models import (
    PupilMatchKey,
)
from kernel import matching
from kernel.bulk import insert_rows
from kernel.matching import former_names
from provinces.models import ProvincePolicy
from registry.models import SAME_CHILD_STATUSES, Guardian, Pupil
from registry.records import PupilData

log = logging.getLogger(__name__)


def year_keys(year: int, keys) -> list[str]:
    """The name sound keys as stored and probed: qualified by the birth year
    (``2016:wang-zi-xuan``), so that a probe of a key meets only the children of that year
    (a common sound holds hundreds of children in every year of a province)."""
    head = f"{year}:"
    return [head + key for key in keys]


def match_keys_refresh(pupil_ids, *, new: bool = False) -> int:
    """Recompute the indexed matching keys (``PupilMatchKey``) of some pupils: the at-entry
    check's keys and the buckets of the sweep's keys.

    ``new``: the pupils were just inserted (a roster import) and have no keys yet, so a
    plain insert does instead of an upsert (one statement, ``kernel.bulk``); their sweep
    buckets are left to the next sweep (``match_keys_fill_missing``, which every sweep runs
    before it reads a partition): only a sweep reads them, and the import does not wait for
    them.
    """
    rows = []
    now = timezone.now()
    pupil_ids = list(pupil_ids)
    guardians: dict[int, set[str]] = {}
    phones: dict[int, set[str]] = {}
    for pupil_id, number, phone in Guardian.objects.filter(pupil_id__in=pupil_ids).exclude(
            id_number="", phone="").values_list("pupil_id", "id_number", "phone"):
        if number:
            guardians.setdefault(pupil_id, set()).add(number)
        if phone:
            phones.setdefault(pupil_id, set()).add(phone)
    columns = ("pk", "name", "former_name", "sex", "birth_date", "id_number", "id_type", "county_code")
    for pk, name, former, sex, birth_date, id_number, id_type, county in Pupil.objects.filter(
        pk__in=pupil_ids
    ).values_list(*columns):
        # The record exactly as a sweep reads it (``_records``): its buckets are those of the
        # sweep's keys.
        key = matching.PupilKey(pk=pk, name=name, sex=sex, birth_date=birth_date, id_number=id_number or "",
                                guardian_ids=tuple(sorted(guardians.get(pk, ()))), county=county,
                                id_type=id_type, former_names=former_names(former),
                                guardian_phones=tuple(sorted(phones.get(pk, ()))))
        query = matching.candidate_query_keys(key)
        rows.append(PupilMatchKey(
            pupil_id=pk,
            province_code=county[:2],
            birth_year=birth_date.year,
            sound_keys=year_keys(birth_date.year, query["name_sound_keys"]),
            id_keys=query["stored_id_keys"],
            sweep_buckets=None if new else matching.record_buckets(key),
            changed_at=now,
        ))
    if new:
        insert_rows(PupilMatchKey, [{"pupil_id": r.pupil_id, "province_code": r.province_code,
                                     "birth_year": r.birth_year, "sound_keys": r.sound_keys, "id_keys": r.id_keys,
                                     "sweep_buckets": r.sweep_buckets, "changed_at": r.changed_at} for r in rows],
                    returning=False)
    else:
        PupilMatchKey.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["pupil"],
            update_fields=["province_code", "birth_year", "sound_keys", "id_keys", "sweep_buckets", "changed_at"],
            batch_size=2000,
        )
    return len(rows)


def match_keys_fill_missing(province_code: str) -> int:
    """Keys for the province's pupils written in bulk (roster import) that have none yet, or
    no sweep buckets yet (keys written before the buckets were kept)."""
    missing = Pupil.objects.filter(
        Q(match_key__isnull=True) | Q(match_key__sweep_buckets__isnull=True), county_code__startswith=province_code,
    ).order_by("pk").values_list("pk", flat=True)
    done = 0
    batch: list[int] = []
    for pk in missing.iterator(chunk_size=5000):
        batch.append(pk)
        if len(batch) >= 5000:
            done += match_keys_refresh(batch)
            batch = []
    return done + (match_keys_refresh(batch) if batch else 0)


def province_records(province_code: str) -> list[matching.PupilKey]:
    """Every record of the province a sweep compares (``SAME_CHILD_STATUSES``: the active, the
    finished stages and the dead; never a deleted one), as the engine sees it (two queries,
    no ORM objects)."""
    return _records(Pupil.objects.filter(county_code__startswith=province_code, status__in=SAME_CHILD_STATUSES),
                    Guardian.objects.filter(pupil__county_code__startswith=province_code,
                                            pupil__status__in=SAME_CHILD_STATUSES))


READ_CHUNK = 20000


def partition_pupil_ids(province_code: str, partition: int, partitions: int) -> list[int]:
    """The pupils having a sweep key in one partition: those whose stored buckets meet the
    partition's, in id order.

    From 8 partitions on, one probe of the buckets' GIN index (``&&``); with fewer, most
    pupils are read anyway and a plain scan testing each stored bucket modulo the
    partitions is faster (an ``&&`` with 512 or more buckets evaluated on every row took
    18 s on a million pupils, the modulo test 3.5 s; BENCHMARKS.md).
    """
    table = PupilMatchKey._meta.db_table
    with connection.cursor() as cursor:
        if partitions >= 8:
            cursor.execute(f"SELECT pupil_id FROM {table} WHERE province_code = %s AND sweep_buckets && %s::smallint[]",
                           [province_code[:2], matching.partition_buckets(partition, partitions)])
        else:
            cursor.execute(f"SELECT pupil_id FROM {table} WHERE province_code = %s"
                           " AND EXISTS (SELECT 1 FROM unnest(sweep_buckets) AS b WHERE b %% %s = %s)",
                           [province_code[:2], partitions, partition])
        return sorted(row[0] for row in cursor.fetchall())


def partition_records(province_code: str, partition: int, partitions: int) -> list[matching.PupilKey]:
    """The records one sweep partition needs (every record with a key in it): the ids from the
    stored buckets, then the pupils and their family members by id (``= ANY`` of an array,
    in chunks; an ORM ``IN`` of 20,000 parameters was ten times slower). The whole province
    for a single partition."""
    if partitions <= 1:
        return province_records(province_code)
    ids = partition_pupil_ids(province_code, partition, partitions)
    records: list[matching.PupilKey] = []
    for start in range(0, len(ids), READ_CHUNK):
        records += _records_by_id(province_code, ids[start:start + READ_CHUNK])
    return records


def _records_by_id(province_code: str, ids: list[int]) -> list[matching.PupilKey]:
    """``_records`` of some pupils by id (those of the province in ``SAME_CHILD_STATUSES``)."""
    guardians: dict[int, list[str]] = {}
    phones: dict[int, list[str]] = {}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pupil_id, id_number, phone FROM {Guardian._meta.db_table}"
                       " WHERE pupil_id = ANY(%s) AND (id_number <> '' OR phone <> '')", [ids])
        for pupil_id, number, phone in cursor.fetchall():
            if number:
                guardians.setdefault(pupil_id, []).append(number)
            if phone:
                phones.setdefault(pupil_id, []).append(phone)
        cursor.execute(f"SELECT id, name, former_name, sex, birth_date, id_number, county_code, id_type"
                       f" FROM {Pupil._meta.db_table} WHERE id = ANY(%s) AND status = ANY(%s)"
                       " AND county_code LIKE %s ORDER BY id",
                       [ids, [str(status) for status in SAME_CHILD_STATUSES], province_code + "%"])
        rows = cursor.fetchall()
    return [matching.PupilKey(pk, name, sex, birth, number or "", tuple(sorted(set(guardians.get(pk, ())))), county,
                              id_type, former_names(former), tuple(sorted(set(phones.get(pk, ())))))
            for pk, name, former, sex, birth, number, county, id_type in rows]


def phone_holders(province_code: str):
    """``matching.sweep_partition``'s ``phone_holders`` for a province: the records holding
    any of some ``p:`` keys (the stored keys' GIN index)."""
    def holders(phone_keys: set[str]) -> list[matching.PupilKey]:
        keys = sorted(phone_keys)
        records: list[matching.PupilKey] = []
        for start in range(0, len(keys), READ_CHUNK):
            ids = PupilMatchKey.objects.filter(province_code=province_code[:2],
                                               id_keys__overlap=keys[start:start + READ_CHUNK])
            pupils = Pupil.objects.filter(pk__in=ids.values("pupil_id"), county_code__startswith=province_code,
                                          status__in=SAME_CHILD_STATUSES)
            records += _records(pupils, Guardian.objects.filter(pupil_id__in=ids.values("pupil_id")))
        return records
    return holders


def changed_records(province_code: str, since) -> list[matching.PupilKey]:
    """The records of the province whose matching keys were written at or after ``since``
    (an incremental sweep's input: saved, moved, re-imported or with a family member saved)."""
    changed = Pupil.objects.filter(
        match_key__province_code=province_code[:2], match_key__changed_at__gte=since,
        county_code__startswith=province_code, status__in=SAME_CHILD_STATUSES,
    )
    return _records(changed, Guardian.objects.filter(pupil__in=changed.values("pk")))


def _records(pupils, guardian_rows) -> list[matching.PupilKey]:
    guardians: dict[int, list[str]] = {}
    phones: dict[int, list[str]] = {}
    for pupil_id, number, phone in (
        guardian_rows.exclude(id_number="", phone="").values_list("pupil_id", "id_number", "phone")
        .iterator(chunk_size=20000)
    ):
        if number:
            guardians.setdefault(pupil_id, []).append(number)
        if phone:
            phones.setdefault(pupil_id, []).append(phone)
    records = []
    for pk, name, former, sex, birth, number, county, id_type in (
        pupils.values_list("pk", "name", "former_name", "sex", "birth_date", "id_number", "county_code", "id_type")
        .iterator(chunk_size=20000)
    ):
        records.append(matching.PupilKey(pk, name, sex, birth, number or "", tuple(sorted(set(guardians.get(pk, ())))),
                                          county, id_type, former_names(former), tuple(sorted(set(phones.get(pk, ()))))))
    return records


def pupil_saved(sender, instance, created=False, raw=False, **kwargs) -> None:
    """post_save of a pupil: its matching keys follow every save (bulk writers refresh theirs).

    A new record's family is often written right after it in the same transaction, in bulk
    and so without signals (a registration): its keys are written again on commit, or the
    guardians' keys would be missing from its sweep buckets and the partitions of those
    keys would not read it."""
    if not raw:
        match_keys_refresh([instance.pk])
        if created and connection.in_atomic_block:
            pk = instance.pk
            transaction.on_commit(lambda: match_keys_refresh([pk]))


def guardian_changed(sender, instance, raw=False, **kwargs) -> None:
    """post_save of a family member: the guardians' phones are matching keys (a removed
    phone leaves a stale key until the next save: one candidate more, never one less)."""
    if not raw and instance.pupil_id and Pupil.objects.filter(pk=instance.pupil_id).exists():
        match_keys_refresh([instance.pupil_id])


def pupil_key(pupil: Pupil, guardian_ids=None) -> matching.PupilKey:
    """The engine's view of a stored pupil (guardian IDs from the prefetched guardians)."""
    guardians = list(pupil.guardians.all())
    if guardian_ids is None:
        guardian_ids = [g.id_number for g in guardians]
    return matching.PupilKey(
        pk=pupil.pk,
        name=pupil.name,
        sex=pupil.sex,
        birth_date=pupil.birth_date,
        id_number=pupil.id_number or "",
        guardian_ids=tuple(sorted({g for g in guardian_ids if g})),
        county=pupil.county_code,
        id_type=pupil.id_type,
        former_names=former_names(pupil.former_name),
        guardian_phones=tuple(sorted({g.phone for g in guardians if g.phone})),
    )


def data_key(data: PupilData, *, pk: int = 0, county: str = "") -> matching.PupilKey:
    return matching.PupilKey(
        pk=pk,
        name=data.name or "",
        sex=data.sex or "",
        birth_date=data.birth_date,
        id_number=data.id_number or "",
        guardian_ids=tuple(sorted({g.id_number for g in data.guardians if g.id_number})),
        county=county,
        id_type=data.id_type or "1",
        former_names=former_names(data.former_name),
        guardian_phones=tuple(sorted({g.phone for g in data.guardians if g.phone})),
    )


def case_threshold(province_code: str) -> float:
    configured = ProvincePolicy.for_province(province_code).duplicate_case_threshold
    return max(configured, matching.CASE_THRESHOLD) if configured else matching.CASE_THRESHOLD
