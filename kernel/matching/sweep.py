"""Sweeps (全省查重): every pair of records that is probably one child, found block by block.

``sweep_partition(records, partition, partitions)`` scores the blocks whose key hashes to
one partition; the union over all partitions equals ``find_matches``, so a Celery task per
partition needs only the records with a key in it (``record_partitions``, stored as
``record_buckets``) and, through ``phone_holders``, a look at a few records elsewhere.
``find_matches`` runs in this process below ``PARALLEL_MIN_RECORDS`` records and otherwise
forks two workers that split the work by key family (see ``_fork_worker``).
"""

from __future__ import annotations

import gc
import multiprocessing
import operator
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from kernel.matching.blocking import (
    Prepared,
    add_phone_keys,
    guardians_of,
    identity_keys,
    identity_parts,
    lone_phone_keys,
    name_keys,
    partition_of,
    phones_of,
)
from kernel.matching.records import Match, PupilKey
from kernel.matching.scoring import score_prepared

MAX_BLOCK = 300  # larger blocks (a placeholder ID typed for many guardians) split by date
PARALLEL_MIN_RECORDS = 200_000  # find_matches forks two workers from this size on


@dataclass
class SweepStats:
    """What one sweep did, for progress pages and benchmarks."""

    records: int = 0
    blocks: int = 0
    pairs_considered: int = 0
    pairs_scored: int = 0
    oversized_blocks: int = 0
    matches: int = 0

    def add(self, other: SweepStats) -> None:
        for name in ("records", "blocks", "pairs_considered", "pairs_scored", "oversized_blocks", "matches"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _group(prepared: list[Prepared], keep=None) -> dict[str, list[Prepared]]:
    """Blocks of two or more records by key (``keep(key)`` selects a partition's keys).

    A first-seen map holds the (mostly single) records and only shared keys get a list:
    far cheaper than a list per key when most of a record's keys are unique.
    """
    first: dict[str, Prepared] = {}
    shared: dict[str, list[Prepared]] = {}
    setdefault = first.setdefault
    for p in prepared:
        for key in p.keys:
            if keep is not None and not keep(key):
                continue
            q = setdefault(key, p)
            if q is not p:
                members = shared.get(key)
                if members is None:
                    shared[key] = [q, p]
                elif members[-1] is not p:
                    members.append(p)
    return shared


def _usable_blocks(members: list, birth_of=operator.attrgetter("birth")) -> Iterator[list]:
    """The block itself, or when it is too large its parts with one birth date each."""
    if len(members) <= MAX_BLOCK:
        yield members
        return
    by_birth: dict[date, list] = defaultdict(list)
    for member in members:
        by_birth[birth_of(member)].append(member)
    for sub in by_birth.values():
        if 1 < len(sub) <= MAX_BLOCK:
            yield sub


def _score_blocks(grouped: dict[str, list[Prepared]], stats: SweepStats) -> dict[tuple[int, int], Match]:
    """Score every pair in its owner block: the smallest key the two records share."""
    found: dict[tuple[int, int], Match] = {}
    considered = scored = 0
    for key, members in grouped.items():
        stats.blocks += 1
        if len(members) > MAX_BLOCK:
            stats.oversized_blocks += 1
        for block in _usable_blocks(members):
            for i, a in enumerate(block):
                a_keys = set(a.keys)
                for b in block[i + 1:]:
                    considered += 1
                    if a.pk == b.pk:
                        continue
                    common = a_keys.intersection(b.keys)
                    if min(common) != key:
                        continue
                    scored += 1
                    match = score_prepared(a, b, common)
                    if match is not None:
                        found[(match.a_pk, match.b_pk)] = match
    stats.pairs_considered += considered
    stats.pairs_scored += scored
    return found


def _finish(found: dict[tuple[int, int], Match], exclude_pairs, stats: SweepStats) -> list[Match]:
    excluded = exclude_pairs if isinstance(exclude_pairs, (set, frozenset)) else set(exclude_pairs)
    result = [m for pair, m in sorted(found.items()) if not (excluded and frozenset(pair) in excluded)]
    stats.matches = len(result)
    return result


def sweep_partition(
    records: Iterable[PupilKey],
    partition: int = 0,
    partitions: int = 1,
    *,
    exclude_pairs: Iterable[frozenset[int]] = frozenset(),
    stats: SweepStats | None = None,
    phone_holders: Callable[[set[str]], Iterable[PupilKey]] | None = None,
) -> list[Match]:
    """Matches found in the blocks whose key falls in ``partition`` (of ``partitions``).

    ``records`` must hold every record with a key in this partition (more do no harm:
    ``record_partitions`` tells which). Each pair is scored in exactly one partition, the
    one of the smallest key the two records share, so the union over
    ``range(partitions)`` is the whole sweep, without duplicates.

    When ``records`` are only this partition's, ``phone_holders(keys)`` must return the
    records of the whole sweep holding any of these ``p:`` keys: whether two records with
    guardian IDs share a phone key depends on a third record without one (``add_phone_keys``),
    which may live in another partition only; the smallest shared key, hence the owner
    partition, depends on it. Only the phones two of this partition's records share are asked.
    """
    stats = stats if stats is not None else SweepStats()
    prepared = [Prepared(record) for record in records]
    lone = lone_phone_keys(prepared)
    if partitions > 1 and phone_holders is not None:
        lone |= _lone_elsewhere(prepared, lone, partition, partitions, phone_holders)
    add_phone_keys(prepared, lone)
    stats.records = len(prepared)
    mine = (lambda key: partition_of(key, partitions) == partition) if partitions > 1 else None
    return _finish(_score_blocks(_group(prepared, mine), stats), exclude_pairs, stats)


def _lone_elsewhere(prepared: list[Prepared], lone: set[str], partition: int, partitions: int,
                    phone_holders: Callable[[set[str]], Iterable[PupilKey]]) -> set[str]:
    """The phone keys of other partitions that two records with guardian IDs share here and
    a record without a guardian ID (read through ``phone_holders``) holds too."""
    seen: set[str] = set()
    asked: set[str] = set()
    for p in prepared:
        if p.guardians and p.phone_keys:
            for key in p.phone_keys:
                if key in lone or partition_of(key, partitions) == partition:
                    continue
                if key in seen:
                    asked.add(key)
                else:
                    seen.add(key)
    if not asked:
        return set()
    found = set()
    for record in phone_holders(asked):
        if record.guardian_phones and not guardians_of(record.guardian_ids)[0]:
            found.update(key for key in phones_of(record.guardian_phones)[1] if key in asked)
    return found


# find_matches with several processes forks workers that inherit the input records
# (copy-on-write) and split the work by key family: one kind of worker blocks by the
# identity keys (g:, p:, x:), the other by the name keys (s:, d:, e:, v:). Each computes only its
# own family's keys, so the costly normalisation is split too, not repeated. A pair sharing
# an identity key belongs to an identity worker; a name worker skips it. With more than two
# processes each family is sharded by ``hash(key)``: forked children share the parent's
# string-hash secret, so they agree on it.
_FORK_INPUT: list[PupilKey] = []
_FAMILIES = ("identity", "name")


def _fork_worker(args: tuple[str, int, int]) -> tuple[dict[tuple[int, int], Match], SweepStats]:
    family, shard, shards = args
    records = _FORK_INPUT
    keys_of: list[list[str]] = []
    first: dict[str, int] = {}
    shared: dict[str, list[int]] = {}

    def add(index: int, keys) -> None:
        for key in keys:
            if shards > 1 and hash(key) % shards != shard:
                continue
            seen = first.setdefault(key, index)
            if seen != index:
                members = shared.get(key)
                if members is None:
                    shared[key] = [seen, index]
                elif members[-1] != index:
                    members.append(index)

    if family == "identity":
        # Phone keys as ``add_phone_keys`` gives them: a record's own when it has no
        # guardian ID, else only those a record without one shares.
        lone: set[str] = set()
        pending: list[tuple[int, tuple[str, ...]]] = []
        for index, record in enumerate(records):
            keys, phone_keys, no_guardian = identity_parts(record)
            if phone_keys:
                if no_guardian:
                    keys += phone_keys
                    lone.update(phone_keys)
                else:
                    pending.append((index, phone_keys))
            keys_of.append(keys)
            add(index, keys)
        for index, phone_keys in pending:
            kept = [key for key in phone_keys if key in lone]
            if kept:
                keys_of[index] += kept
                add(index, kept)
    else:
        for index, record in enumerate(records):
            keys = name_keys(record)
            keys_of.append(keys)
            add(index, keys)

    prepared: dict[int, Prepared] = {}
    identity: dict[int, frozenset[str]] = {}

    def prepare(index: int) -> Prepared:
        p = prepared.get(index)
        if p is None:
            p = prepared[index] = Prepared(records[index], with_keys=False)
        return p

    def identity_keys_of(index: int) -> frozenset[str]:
        keys = identity.get(index)
        if keys is None:
            keys = identity[index] = frozenset(identity_keys(records[index]))
        return keys

    stats = SweepStats()
    found: dict[tuple[int, int], Match] = {}
    for key, members in shared.items():
        stats.blocks += 1
        if len(members) > MAX_BLOCK:
            stats.oversized_blocks += 1
        for block in _usable_blocks(members, lambda index: records[index].birth_date):
            for position, i in enumerate(block):
                i_keys = set(keys_of[i])
                for j in block[position + 1:]:
                    stats.pairs_considered += 1
                    common = i_keys.intersection(keys_of[j])
                    if min(common) != key:
                        continue
                    if family == "name":
                        both = identity_keys_of(i) & identity_keys_of(j)
                        # an identity worker scores a pair sharing an ID or guardian key, or a
                        # phone when one of the two has no guardian ID
                        if both and (any(k[0] != "p" for k in both)
                                     or not (prepare(i).guardians and prepare(j).guardians)):
                            continue
                        common = set()
                    a, b = prepare(i), prepare(j)
                    if a.pk == b.pk:
                        continue
                    stats.pairs_scored += 1
                    match = score_prepared(a, b, common)
                    if match is not None:
                        found[(match.a_pk, match.b_pk)] = match
    return found, stats


def find_matches(
    records: Iterable[PupilKey],
    *,
    exclude_pairs: Iterable[frozenset[int]] = frozenset(),
    processes: int | None = None,
    stats: SweepStats | None = None,
) -> list[Match]:
    """Every pair of records that is probably one child, sorted by ``(a_pk, b_pk)``.

    ``exclude_pairs`` are pairs a county ruled "both real" (佐证): never reported again.
    ``processes`` defaults to 2 forked workers from ``PARALLEL_MIN_RECORDS`` records on,
    else 1 (in this process). The result is the same either way.
    """
    global _FORK_INPUT
    stats = stats if stats is not None else SweepStats()
    records = list(records)
    stats.records = len(records)
    if processes is None:
        processes = min(os.cpu_count() or 1, 2) if len(records) >= PARALLEL_MIN_RECORDS else 1
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small objects and no cycles: the collector only costs time
    try:
        if processes <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            prepared = [Prepared(record) for record in records]
            add_phone_keys(prepared)
            return _finish(_score_blocks(_group(prepared), stats), exclude_pairs, stats)
        shards = max(1, processes // len(_FAMILIES))
        jobs = [(family, shard, shards) for family in _FAMILIES for shard in range(shards)]
        _FORK_INPUT = records
        try:
            with multiprocessing.get_context("fork").Pool(len(jobs)) as pool:
                parts = pool.map(_fork_worker, jobs, chunksize=1)
        finally:
            _FORK_INPUT = []
        found: dict[tuple[int, int], Match] = {}
        for part, part_stats in parts:
            stats.add(part_stats)
            found.update(part)
        return _finish(found, exclude_pairs, stats)
    finally:
        if gc_was_enabled:
            gc.enable()
