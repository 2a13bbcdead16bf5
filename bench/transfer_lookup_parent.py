"""Latency of the transfer lookup by a parent's ID number (按父母身份证号查找, issue 7).

A destination school chooses the origin school and types a parent's (or the legal
guardian's) resident ID number; the registry returns the origin school's pupils without a
resident ID whose parent or guardian has that number. This times the read the service
runs (``transfers.selectors.no_id_pupils_of_parent`` → the minimal cards), not the one-row
audit insert, so it only reads and needs no migration of the benchmark database:

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench_1m REDIS_URL=redis://127.0.0.1:6379/9
    .venv/bin/python bench/transfer_lookup_parent.py [--repeat 200] [--explain]

Cases, each ``--repeat`` times with different families; p50 / p95 / max in ms
(target: p95 < 20 ms):

* ``hit``: a parent of an active no-ID pupil, the pupil's own school;
* ``wrong_school``: the same parents, another school of the county;
* ``parent_of_id_pupil``: a parent of a pupil with an ID number, that pupil's school.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import setup_django  # noqa: E402

TARGET_MS = 20.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def sample(queryset, rng: random.Random, count: int) -> list:
    """``count`` rows picked by random id ranges (no ORDER BY random())."""
    low = queryset.order_by("id").values_list("id", flat=True).first()
    high = queryset.order_by("-id").values_list("id", flat=True).first()
    if low is None:
        return []
    return [
        queryset.filter(id__gte=rng.randint(low, high)).order_by("id").first() or queryset.first()
        for _ in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--explain", action="store_true", help="print the plan of the lookup once per case")
    args = parser.parse_args()
    setup_django()

    from django.db import connection
    from django.db.models import Q

    from registry.models import ACTIVE_STATUSES, Guardian, Pupil
    from schools.models import School
    from transfers import selectors

    rng = random.Random(args.seed)
    active = Pupil.objects.filter(status__in=ACTIVE_STATUSES).select_related("school")
    no_id = active.filter(Q(id_number="") | ~Q(id_type="1"), hmt="00")
    with_id = active.filter(id_type="1").exclude(id_number="")
    print(f"pupils: {Pupil.objects.count():,}  guardians: {Guardian.objects.count():,}  "
          f"active no-ID pupils: {no_id.count():,}")

    def parent_id(pupil) -> str | None:
        return pupil.guardians.exclude(id_number="").values_list("id_number", flat=True).first()

    def other_school(school) -> School:
        return School.objects.filter(county_id=school.county_id).exclude(pk=school.pk).first() or school

    cases: dict[str, list] = {"hit": [], "wrong_school": [], "parent_of_id_pupil": []}
    for pupil in sample(no_id, rng, args.repeat):
        number = parent_id(pupil)
        if number:
            cases["hit"].append((pupil.school, number))
            cases["wrong_school"].append((other_school(pupil.school), number))
    for pupil in sample(with_id, rng, args.repeat):
        number = parent_id(pupil)
        if number:
            cases["parent_of_id_pupil"].append((pupil.school, number))

    print(f"{'case':<20}{'n':>6}{'found':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    worst = 0.0
    for name, lookups in cases.items():
        timings, found = [], 0
        for school, number in lookups:
            start = time.perf_counter()
            pupils = list(selectors.no_id_pupils_of_parent(school, number).order_by("id")[:20])
            cards = [(p.name, p.sex, p.birth_date, p.grade, p.school_class.number if p.school_class_id else None)
                     for p in pupils]
            timings.append((time.perf_counter() - start) * 1000)
            found += bool(cards)
        if not timings:
            print(f"{name:<20}{0:>6}  (no sample: the database has no such records)")
            continue
        p95 = percentile(timings, 0.95)
        worst = max(worst, p95)
        print(f"{name:<20}{len(timings):>6}{found:>7}{statistics.median(timings):>9.2f}{p95:>9.2f}"
              f"{max(timings):>9.2f}")
        if args.explain:
            school, number = lookups[0]
            query = selectors.no_id_pupils_of_parent(school, number).order_by("id")[:20]
            with connection.cursor() as cursor:
                sql, params = query.query.sql_with_params()
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                print("\n".join("    " + row[0] for row in cursor.fetchall()))
    print(f"target p95 < {TARGET_MS:.0f} ms: {'met' if worst < TARGET_MS else 'NOT met'} (worst p95 {worst:.2f} ms)")


if __name__ == "__main__":
    main()
