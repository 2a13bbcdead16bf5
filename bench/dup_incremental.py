"""Incremental duplicate sweep (增量查重) against a full one, through the real services.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench_dupscale REDIS_URL=redis://127.0.0.1:6379/13
    .venv/bin/python bench/_db.py --fresh && .venv/bin/python manage.py load_demo --pupils 100000 --seed 1
    .venv/bin/python bench/dup_incremental.py [--changed 1000,10000] [--partitions 2]

In one run, on the demo province (44): the matching keys filled, a full sweep in this
process (``sweep_run_inline``: read, block, score, write), then for each ``--changed`` K:
K pupils written (their 曾用名 cleared and keys refreshed, as a save does), one in a
hundred of them turned into a re-entry of another pupil (name, sex, birth date and father's
ID copied), and an incremental sweep (``incremental=True``) that must find every one of
those re-entries. Prints the time of each, the records read and pairs scored. Cases opened
by earlier runs are deleted first (bench database only).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import setup_django  # noqa: E402

PROVINCE = "44"


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
    args = parser.parse_args(argv)
    setup_django()
    import os

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
    t = time.perf_counter()
    full = sweeps.sweep_run_inline(user=admin.user, province_code=PROVINCE, partitions=args.partitions)
    print(f"  full sweep: {time.perf_counter() - t:.1f} s, {full.pairs_scored:,} pairs scored, "
          f"{full.cases_found} cases")

    for k in (int(x) for x in args.changed.split(",")):
        pairs = touch(k, rng)
        t = time.perf_counter()
        sweep = sweeps.sweep_run_inline(user=admin.user, province_code=PROVINCE, partitions=args.partitions,
                                        incremental=True)
        wall = time.perf_counter() - t
        found = {frozenset((c.pupil_low_id, c.pupil_high_id)) for c in DuplicateCase.objects.filter(sweep=sweep)}
        records = sum(sweep.parts.values_list("records", flat=True))
        print(f"  incremental, {k:,} changed: {wall:.1f} s, {records:,} records read as input, "
              f"{sweep.pairs_scored:,} pairs scored, {sweep.cases_found} cases; "
              f"re-entries found {len(pairs & found)}/{len(pairs)}; load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
