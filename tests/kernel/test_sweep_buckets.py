"""Sweep partitions that read only their own records (查重分区): the buckets of the sweep keys."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

from bench.dupgen import generate
from kernel.matching import (
    SWEEP_BUCKETS,
    PupilKey,
    SweepStats,
    bucket_of,
    find_matches,
    partition_buckets,
    partition_of,
    record_buckets,
    record_keys,
    sweep_partition,
)
from kernel.matching.blocking import phones_of


def holders_in(records):
    def holders(phone_keys):
        return [r for r in records if phone_keys.intersection(phones_of(r.guardian_phones)[1])]
    return holders


def partitioned(records, partitions, *, holders=True):
    """Each partition given only the records whose buckets meet its own, as the database reads them."""
    buckets = {r.pk: set(record_buckets(r)) for r in records}
    found, stats = [], SweepStats()
    for partition in range(partitions):
        mine = set(partition_buckets(partition, partitions))
        subset = [r for r in records if buckets[r.pk] & mine]
        part_stats = SweepStats()
        found += sweep_partition(subset, partition, partitions, stats=part_stats,
                                 phone_holders=holders_in(records) if holders else None)
        part_stats.records = 0
        stats.add(part_stats)
    return found, stats


def test_buckets_are_stable_across_processes_and_make_the_partitions():
    key = "s:2012-3 2:li na"
    code = f"from kernel.matching import bucket_of; print(bucket_of({key!r}))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "123", "PATH": ""}, cwd=".")
    assert int(other.stdout) == bucket_of(key)
    assert 0 <= bucket_of(key) < SWEEP_BUCKETS
    for partitions in (1, 3, 4, 16, 200):
        assert partition_of(key, partitions) == (bucket_of(key) % partitions if partitions > 1 else 0)
        assert bucket_of(key) in partition_buckets(partition_of(key, partitions), partitions)
        every = sorted(b for p in range(partitions) for b in partition_buckets(p, partitions))
        assert every == list(range(SWEEP_BUCKETS))


def test_partitions_reading_only_their_buckets_find_the_whole_sweep_once():
    records, _, _ = generate(4000, seed=21)
    whole_stats = SweepStats()
    whole = find_matches(records, processes=1, stats=whole_stats)
    for partitions in (4, 16):
        found, stats = partitioned(records, partitions)
        assert sorted((m.a_pk, m.b_pk) for m in found) == [(m.a_pk, m.b_pk) for m in whole]
        assert stats.pairs_scored == whole_stats.pairs_scored
    assert {bucket_of(k) for k in record_keys(records[0])} == set(record_buckets(records[0]))


SHARED_PHONE_NOT_A_KEY = "44010619800101123X"  # 18 characters, wrong check char: no g: key


def _phone_pair(phone: str) -> list[PupilKey]:
    """Two records of one child with guardian IDs, sharing a phone and a sound key; a third
    record without a guardian ID has the phone too, so the phone is a key of the pair."""
    guardians = (SHARED_PHONE_NOT_A_KEY,)
    return [
        PupilKey(1, "张伟", "2", date(2012, 3, 5), guardian_ids=guardians, id_type="Z", guardian_phones=(phone,)),
        PupilKey(2, "张伟", "2", date(2012, 3, 20), guardian_ids=guardians, id_type="Z", guardian_phones=(phone,)),
        PupilKey(3, "陈明", "1", date(2015, 8, 1), id_type="Z", guardian_phones=(phone,)),
    ]


def test_a_phone_counted_through_a_record_of_another_partition_keeps_the_pair_in_one():
    partitions = 8
    for n in range(1000):
        records = _phone_pair(f"139{n:08d}")
        phone_key = "p:" + records[0].guardian_phones[0]
        sound = min(set(record_keys(records[0])).intersection(record_keys(records[1])) - {phone_key})
        assert sound.startswith("s:")
        elsewhere = partition_of(phone_key, partitions) != partition_of(sound, partitions)
        third = {partition_of(k, partitions) for k in record_keys(records[2])}
        if elsewhere and partition_of(sound, partitions) not in third:
            break
    assert [m.pair for m in find_matches(records)] == [frozenset({1, 2})]
    found, _ = partitioned(records, partitions)
    assert [m.pair for m in found] == [frozenset({1, 2})]
    # Without a look at the third record, the partition of the sound key scores it again.
    twice, _ = partitioned(records, partitions, holders=False)
    assert [m.pair for m in twice] == [frozenset({1, 2})] * 2
