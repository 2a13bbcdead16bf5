"""Incremental duplicate sweep (增量查重) against a full one, through the real services.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench_dupscale REDIS_URL=redis://127.0.0.1:6379/13
    .venv/bin/python bench/_db.py --fresh && .venv/bin/python manage.py load_demo --pupils 100000 --seed 1
    .venv/bin/python bench/dup_incremental.py [--changed 1000,10000] [--partitions 2] [--baseline full|mark]
        [--profile FILE]

In one run, on the demo province (44): the matching keys filled, a full sweep in this
process (``sweep_run_inline``: read, block, score, write; ``--baseline mark`` records a
finished sweep at this moment instead, the starting point of the incremental ones without
its minutes on a large province), then for each ``--changed`` K:
K pupils written (their 曾用名 cleared and keys refreshed, as a save does), one in a
hundred of them turned into a re-entry of another pupil (name, sex, birth date and father's
ID copied), and an incremental sweep (``incremental=True``) that must find every one of
those re-entries. Prints for each the wall and CPU seconds (this process; PostgreSQL's
work shows in the wall time only), the peak memory of this process during that step
(``VmHWM``, reset before each step), the records read and pairs scored. ``--profile FILE``
writes a cProfile of the last incremental sweep. Cases opened by earlier runs are deleted
first (bench database only).
"""

from __future__ import annotations

import argparse
import cProfile
import ctypes
import gc
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import setup_django  # noqa: E402

PROVINCE = "44"


def peak_reset() -> None:
    """Start a new peak-memory window for this process (Linux: ``clear_refs`` 5 resets VmHWM
    to the current size, so the memory a previous step freed is handed back first)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_mib() -> int:
    """This process's peak resident memory since ``peak_reset`` (MiB)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


class Step:
    """Wall and CPU seconds and peak memory of one step."""

    def __enter__(self):
        peak_reset()
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        self.peak = peak_mib()

    def __str__(self) -> str:
        return f"{self.wall:.1f} s wall, {self.cpu:.1f} s CPU, peak {self.peak:,} MiB"


def touch(k: int, rng: random.Random) -> set[frozenset[int]]:
    """Write ``k`` pupils; every hundredth becomes a re-entry of another. Returns those pairs."""
    from duplicates.keys import match_keys_refresh
    from registry.models import SAME_CHILD_STATUSES, Guardian, Pupil

    pks = list(Pupil.objects.filter(county_code__startswith=PROVINCE, status__in=SAME_CHILD_STATUSES)
               .values_list("pk", flat=True))
    chosen = rng.sample(pks, k)
    Pupil.objects.filter(pk__in=chosen).update(former_name="")
    pairs = set()
    for copy_pk in chosen[: max(1, k // 100)]:
        original = Pupil.objects.get(pk=rng.choice(pks))
        father = Guardian.objects.filter(pupil=original).exclude(id_number="").order_by("order").first()
        if original.pk == copy_pk or father is None:
            continue
        Pupil.objects.filter(pk=copy_pk).update(name=original.name, sex=original.sex, birth_date=original.birth_date)
        Guardian.objects.filter(pupil_id=copy_pk).update(id_number=father.id_number)
        pairs.add(frozenset((original.pk, copy_pk)))
    match_keys_refresh(chosen)
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--changed", default="1000,10000")
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--baseline", choices=("full", "mark"), default="full",
                        help="full: a full sweep first; mark: a finished sweep recorded now, none run")
    parser.add_argument("--profile", help="write a cProfile of the last incremental sweep to this file")
    args = parser.parse_args(argv)
    setup_django()
    from django.utils import timezone

    from accounts.models import Membership
    from duplicates import sweeps
    from duplicates.keys import match_keys_fill_missing
    from duplicates.models import DuplicateCase, DuplicateSweep
    from registry.models import Pupil

    admin = Membership.objects.select_related("user").filter(role=Membership.Role.ADMIN, division_id=PROVINCE).first()
    DuplicateCase.objects.filter(province_id=PROVINCE).delete()
    DuplicateSweep.objects.filter(province_id=PROVINCE, status=DuplicateSweep.Status.RUNNING).update(
        status=DuplicateSweep.Status.FINISHED)
    total = Pupil.objects.filter(county_code__startswith=PROVINCE).count()
    rng = random.Random(args.seed)
    print(f"province {PROVINCE}: {total:,} pupils; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    t = time.perf_counter()
    filled = match_keys_fill_missing(PROVINCE)
    print(f"  matching keys filled for {filled:,} pupils: {time.perf_counter() - t:.1f} s")
    if args.baseline == "full":
        with Step() as step:
            full = sweeps.sweep_run_inline(user=admin.user, province_code=PROVINCE, partitions=args.partitions)
        print(f"  full sweep: {step}, {full.pairs_scored:,} pairs scored, {full.cases_found} cases; "
              f"load {os.getloadavg()[0]:.1f}")
    else:
        # The starting point an incremental sweep needs, as a finished full sweep would leave it.
        now = timezone.now()
        DuplicateSweep.objects.create(province_id=PROVINCE, partitions_total=args.partitions,
                                      partitions_done=args.partitions, started_by=admin.user, started_at=now,
                                      finished_at=now, status=DuplicateSweep.Status.FINISHED,
                                      mode=DuplicateSweep.Mode.FULL)
        print("  full sweep not run: a finished sweep recorded now as the starting point")

    sizes = [int(x) for x in args.changed.split(",")]
    for n, k in enumerate(sizes):
        pairs = touch(k, rng)
        profiler = cProfile.Profile() if args.profile and n == len(sizes) - 1 else None
        with Step() as step:
            if profiler:
                profiler.enable()
            sweep = sweeps.sweep_run_inline(user=admin.user, province_code=PROVINCE, partitions=args.partitions,
                                            incremental=True)
            if profiler:
                profiler.disable()
        if profiler:
            profiler.dump_stats(args.profile)
        found = {frozenset((c.pupil_low_id, c.pupil_high_id)) for c in DuplicateCase.objects.filter(sweep=sweep)}
        records = sum(sweep.parts.values_list("records", flat=True))
        print(f"  incremental, {k:,} changed: {step}, {records:,} records read as input, "
              f"{sweep.pairs_scored:,} pairs scored, {sweep.cases_found} cases; "
              f"re-entries found {len(pairs & found)}/{len(pairs)}; load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
