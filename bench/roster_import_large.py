"""Roster import into a large province (花名册导入): ``--rows`` rows into a registry that already
holds a province of pupils, end to end, beside the same file into an empty registry.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench_roster1m \\
    REDIS_URL=redis://127.0.0.1:6379/9 .venv/bin/python bench/roster_import_large.py \\
        [--rows 50000] [--province-pupils 1000000] [--profile 20]

The database must hold the province first (``manage.py load_demo --pupils 1000000 --seed 1``
into it, about 3 minutes; the script refuses to run on fewer than ``--province-pupils``
pupils). The file is ``bench/roster_import.py``'s (same generator, same seed, cached under
bench/out/), for ten primary schools of Guangzhou (440105, 440106) made by that script;
its pupils are born in the same years as the demo's, so every row meets the province's
same-day candidates in the duplicate check at entry.

One run: upload + dry run (``roster_check``), confirm + import (``roster_import_rows``),
each timed; the imported pupils are removed again afterwards so that the province stays as
loaded. ``--profile N`` prints the N most expensive functions of the dry run and of the
import (cProfile; the time of printing the first is not counted).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/registry_bench_roster1m")

from bench._db import ensure_database, migrate, setup_django  # noqa: E402


def _remove_bench_pupils() -> int:
    """Delete the pupils of the bench's schools and what protects them (their registrations)."""
    from django.db.models import ProtectedError

    from bench.roster_import import SCHOOLS
    from registry.models import Pupil

    pupils = Pupil.objects.filter(school__code__in=[code for code, _county in SCHOOLS])
    count = pupils.count()
    for _attempt in range(5):
        try:
            pupils.delete()
            break
        except ProtectedError as exc:
            by_model: dict = {}
            for obj in exc.protected_objects:
                by_model.setdefault(type(obj), []).append(obj.pk)
            for model, pks in by_model.items():
                model.objects.filter(pk__in=pks).delete()
    return count


def _fill_match_keys(province: str) -> None:
    """The indexed matching keys of the province, as every save and every sweep keep them
    (``load_demo`` writes pupils in bulk without them)."""
    from duplicates.keys import match_keys_fill_missing

    started = time.monotonic()
    filled = match_keys_fill_missing(province)
    if filled:
        print(f"matching keys filled for {filled} pupils of the province in {time.monotonic() - started:.1f} s "
              "(what the nightly sweep does; not part of the import)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--province-pupils", type=int, default=1_000_000)
    parser.add_argument("--profile", type=int, default=0, help="print the N most expensive functions of the dry run and of the import")
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    migrate()
    setup_django()
    from bench import roster_import
    from registry.models import Pupil
    from rosters import jobs

    held = Pupil.objects.exclude(school__code__in=[code for code, _c in roster_import.SCHOOLS]).count()
    if held < args.province_pupils:
        sys.exit(f"the database holds {held} pupils, fewer than --province-pupils {args.province_pupils}: "
                 f"run `manage.py load_demo --pupils {args.province_pupils} --seed 1` into it first")
    removed = _remove_bench_pupils()
    _fill_match_keys("44")
    user = _prepare_keeping_the_province(roster_import)
    path = ROOT / "bench" / "out" / f"roster_{args.rows}.xlsx"
    if not path.exists():
        roster_import.write_xlsx(roster_import.generate_rows(args.rows), path)
    print(f"machine: {os.cpu_count()} cores; province: {held} pupils; rows: {args.rows}; "
          f"left from an earlier run and removed: {removed}")

    content = path.read_bytes()
    profiler = cProfile.Profile() if args.profile else None
    started = time.monotonic()
    job = jobs.roster_upload(user=user, content=content, file_name=path.name)
    if profiler:
        profiler.enable()
    job = jobs.roster_check(job_id=job.pk)
    if profiler:
        profiler.disable()
    dry = time.monotonic() - started
    print(f"dry run: {job.total_rows} rows in {dry:.1f} s — new={job.new_rows} "
          f"unchanged={job.unchanged_rows} refused={job.refused_rows}")
    if profiler:
        print("cProfile of the dry run:")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)
        profiler = cProfile.Profile()
    resumed = time.monotonic()
    jobs.roster_confirm(user=user, job_id=job.pk, mode="good_rows")
    if profiler:
        profiler.enable()
    job = jobs.roster_import_rows(job_id=job.pk)
    if profiler:
        profiler.disable()
    imported = time.monotonic() - resumed
    print(f"confirm + import: {job.imported_rows} pupils in {imported:.1f} s")
    total = dry + imported
    print(f"end to end into a province of {held} pupils: {total:.1f} s ({job.total_rows / total:.0f} rows/s; "
          f"target ≤ 60 s for 50,000 rows into 1,000,000)")
    if profiler:
        print("cProfile of confirm + import:")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)
    print(f"removed the imported pupils again: {_remove_bench_pupils()}")


def _prepare_keeping_the_province(roster_import):
    """``roster_import.prepare`` without its TRUNCATE: the schools and the city operator."""
    original = roster_import._cleanup
    roster_import._cleanup = lambda: None
    try:
        return roster_import.prepare()
    finally:
        roster_import._cleanup = original


if __name__ == "__main__":
    main()
