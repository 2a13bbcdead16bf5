"""Sweep partitions reading only their own records (查重分区): the stored buckets of the sweep
keys, filled in bulk and kept current on every save; one partition or many, the same cases."""

from __future__ import annotations

import datetime as dt
import itertools

from django.db import transaction

from bench.dupgen import generate
from duplicates import sweeps
from duplicates.keys import match_keys_fill_missing, partition_records, province_records
from duplicates.models import DuplicateCase, PupilMatchKey
from kernel import matching
from registry.models import Guardian, Pupil, PupilStatus, SchoolClass
from tests.duplicates.helpers import open_cases, pair_of
from tests.factories import make_pupil, resident_id


def run_all(sweep):
    for index in range(sweep.partitions_total):
        sweeps.sweep_run_partition(sweep_id=sweep.pk, index=index)
    sweep.refresh_from_db()
    return sweep


def write_generated(world, n: int, seed: int) -> dict[int, int]:
    """The generated records as pupils of the world's schools, written in bulk without keys
    (as a roster import or the demo loader would); returns generated pk → pupil id."""
    records, _, _ = generate(n, seed)
    schools = [world.school_a1, world.school_a2, world.school_b1, world.school_b2]
    classes = {s.pk: SchoolClass.objects.get_or_create(school=s, grade=3, number=1)[0] for s in schools}
    held: set[str] = set()
    pupils = []
    for i, record in enumerate(records):
        school = schools[i % len(schools)]
        active = not record.id_number or record.id_number not in held
        held.add(record.id_number)
        pupils.append(Pupil(
            national_number=f"G{i:018d}", name=record.name, sex=record.sex, birth_date=record.birth_date,
            id_type=record.id_type or "1", id_number=record.id_number, former_name="、".join(record.former_names),
            school=school, school_class=classes[school.pk], grade=3, county_code=school.county_id,
            status=PupilStatus.ENROLLED if active else PupilStatus.GRADUATED,
            enrolled_on=dt.date(record.birth_date.year + 6, 9, 1),
        ))
    Pupil.objects.bulk_create(pupils, batch_size=1000)
    ids = {record.pk: pupil.pk for record, pupil in zip(records, pupils)}
    guardians = []
    for record, pupil in zip(records, pupils):
        numbers, phones = list(record.guardian_ids), list(record.guardian_phones)
        for j, (number, phone) in enumerate(itertools.zip_longest(numbers, phones, fillvalue="")):
            guardians.append(Guardian(pupil_id=pupil.pk, name="家长", relation="51", id_number=number, phone=phone,
                                      is_first_guardian=j == 0))
    Guardian.objects.bulk_create(guardians, batch_size=1000)
    return ids


def stored_buckets_are_right() -> bool:
    stored = dict(PupilMatchKey.objects.values_list("pupil_id", "sweep_buckets"))
    return all(stored.get(record.pk) == matching.record_buckets(record) for record in province_records("44"))


def test_one_partition_or_many_open_the_same_cases_reading_fewer_records(world):
    write_generated(world, 1500, seed=31)
    assert match_keys_fill_missing("44") >= 1500  # the bulk-written pupils get their buckets
    assert stored_buckets_are_right()
    admin = world["province"].admin
    expected = {m.pair for m in matching.find_matches(province_records("44"), processes=1)
                if m.score >= matching.CASE_THRESHOLD}
    assert len(expected) > 10
    total = len(province_records("44"))
    for partitions in (1, 4, 16):
        DuplicateCase.objects.all().delete()
        sweep = run_all(sweeps.sweep_start(user=admin, province_code="44", partitions=partitions, dispatch=False))
        assert {frozenset(pair_of(c)) for c in open_cases()} == expected
        assert sweep.cases_found == len(expected)
        read = list(sweep.parts.values_list("records", flat=True))
        if partitions == 16:
            assert max(read) < total * 0.8  # a partition reads only the records with a key in it
        assert sum(sweep.parts.values_list("pairs_scored", flat=True)) == sweep.pairs_scored


def test_partition_records_are_those_with_a_key_in_it(world):
    write_generated(world, 400, seed=32)
    match_keys_fill_missing("44")
    everyone = province_records("44")
    for partition in range(4):
        mine = {r.pk for r in everyone if partition in matching.record_partitions(r, 4)}
        assert {r.pk for r in partition_records("44", partition, 4)} == mine
    assert {r.pk for r in partition_records("44", 0, 1)} == {r.pk for r in everyone}


def test_buckets_follow_a_save_of_the_pupil_and_of_a_family_member(world):
    pupil = make_pupil(world.school_a1, name="李娜", sex="2", birth_date=dt.date(2014, 2, 3))
    assert stored_buckets_are_right()
    before = PupilMatchKey.objects.get(pupil=pupil).sweep_buckets
    pupil.name, pupil.former_name = "李思涵", "李娜"
    pupil.save()
    after_rename = PupilMatchKey.objects.get(pupil=pupil).sweep_buckets
    assert after_rename != before and stored_buckets_are_right()
    guardian = pupil.guardians.get()
    guardian.phone = "13800138000"
    guardian.save()
    assert PupilMatchKey.objects.get(pupil=pupil).sweep_buckets != after_rename and stored_buckets_are_right()
    Guardian.objects.create(pupil=pupil, name="李母", relation="52", id_number="", phone="13900139000")
    assert stored_buckets_are_right()


def test_a_family_written_in_bulk_after_a_new_record_is_in_its_buckets_on_commit(
        world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        pupil = make_pupil(world.school_a1, name="王芳", sex="2", birth_date=dt.date(2014, 6, 1))
        Guardian.objects.bulk_create([Guardian(pupil=pupil, name="王母", relation="52",
                                               id_number=resident_id(dt.date(1986, 2, 2), "2"), phone="13700137000")])
    assert stored_buckets_are_right()


def test_keys_written_before_the_buckets_are_filled_by_the_next_sweep(world):
    a = make_pupil(world.school_a1, name="李娜", sex="2", birth_date=dt.date(2016, 5, 1))
    PupilMatchKey.objects.filter(pupil=a).update(sweep_buckets=None)
    assert match_keys_fill_missing("44") == 1
    assert stored_buckets_are_right()


def test_keys_of_imported_pupils_leave_the_buckets_to_the_sweep_which_finds_their_pairs(world):
    """A roster import writes the entry check's keys of its new pupils (``new=True``) but not
    their sweep buckets: a partitioned sweep fills them before it reads a partition and opens
    the same cases as a single-partition sweep."""
    from duplicates.keys import match_keys_refresh

    ids = list(write_generated(world, 600, seed=33).values())
    match_keys_refresh(ids, new=True)
    keys = PupilMatchKey.objects.filter(pupil_id__in=ids)
    assert keys.count() == len(ids) and not keys.exclude(sweep_buckets=None).exists()
    assert not keys.filter(sound_keys=[]).exists()  # the entry check's keys are there
    expected = {m.pair for m in matching.find_matches(province_records("44"), processes=1)
                if m.score >= matching.CASE_THRESHOLD}
    assert expected
    sweep = run_all(sweeps.sweep_start(user=world["province"].admin, province_code="44", partitions=8,
                                       dispatch=False))
    assert {frozenset(pair_of(c)) for c in open_cases()} == expected and sweep.cases_found == len(expected)
    assert stored_buckets_are_right()
