"""Latency of the no-hukou "existing record" check (``nohukou.registration_problems``).

When a school registers a pupil without a resident ID, the registry looks for an active
no-ID record in the province whose guardians share a parent's ID number (and the name or
the birth date). The check is one query on the indexed ``Guardian.id_number``. This script
only reads; run it against a database loaded with ``load_demo`` (1,000,000 pupils for the
figures in docs/nohukou.md):

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench_1m REDIS_URL=redis://127.0.0.1:6379/9
    .venv/bin/python bench/_db.py --fresh                       # only when building it
    .venv/bin/python manage.py load_demo --pupils 1000000 --seed 1
    .venv/bin/python bench/nohukou_existing_record.py [--repeat 200] [--explain]

It times three cases, each ``--repeat`` times with different families, and prints
p50 / p95 / max in milliseconds (target: p95 < 20 ms):

* ``hit``: a new record of a child that has an active no-ID record (same parents, same name);
* ``miss_parent_known``: the parents' IDs exist (on a pupil with an ID), no match;
* ``miss_new_family``: parent IDs unknown to the registry.
"""

from __future__ import annotations

import argparse
import datetime as dt
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
    """``count`` rows of ``queryset`` picked by random id ranges (no ORDER BY random())."""
    ids = queryset.order_by("id").values_list("id", flat=True)
    low, high = ids.first(), queryset.order_by("-id").values_list("id", flat=True).first()
    rows = []
    for _ in range(count):
        row = queryset.filter(id__gte=rng.randint(low, high)).order_by("id").first() or queryset.first()
        rows.append(row)
    return rows


def record_for(pupil, *, name: str, birth_date: dt.date, guardian_ids: list[str]):
    from registry.records import GuardianData, PupilData

    guardians = [
        GuardianData(name="家长" + "甲乙丙丁戊己庚辛壬癸"[i % 10], relation=("51", "52")[i % 2], id_number=number, is_first_guardian=i == 0)
        for i, number in enumerate(guardian_ids)
    ]
    return PupilData(
        school_code=pupil.school.code, name=name, sex=pupil.sex, birth_date=birth_date, grade=pupil.grade,
        class_number=1, enrolled_on=pupil.enrolled_on, id_type="Z", id_number="", guardians=guardians,
    )


def fresh_id(rng: random.Random) -> str:
    from kernel.identity import id_check_char

    body = f"440106{rng.randint(1970, 1995)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(900, 999)}"
    return body + id_check_char(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--explain", action="store_true", help="print the plan of the lookup once per case")
    args = parser.parse_args()
    setup_django()

    from django.db import connection
    from django.db.models import Q

    from registry import nohukou
    from registry.models import ACTIVE_STATUSES, Guardian, Pupil

    rng = random.Random(args.seed)
    active = Pupil.objects.filter(status__in=ACTIVE_STATUSES).select_related("school")
    no_id = active.filter(Q(id_number="") | ~Q(id_type="1"))
    with_id = active.exclude(id_number="")
    print(f"pupils: {Pupil.objects.count():,}  guardians: {Guardian.objects.count():,}  "
          f"active no-ID pupils: {no_id.count():,}")

    def guardian_ids(pupil) -> list[str]:
        return [g for g in pupil.guardians.exclude(id_number="").values_list("id_number", flat=True)]

    cases: dict[str, list] = {"hit": [], "miss_parent_known": [], "miss_new_family": []}
    for pupil in sample(no_id, rng, args.repeat):
        ids = guardian_ids(pupil)
        if ids:
            cases["hit"].append(record_for(pupil, name=pupil.name, birth_date=pupil.birth_date, guardian_ids=ids))
    for pupil in sample(with_id, rng, args.repeat):
        ids = guardian_ids(pupil) or [fresh_id(rng)]
        cases["miss_parent_known"].append(
            record_for(pupil, name=pupil.name + "新", birth_date=pupil.birth_date, guardian_ids=ids)
        )
        cases["miss_new_family"].append(
            record_for(pupil, name=pupil.name, birth_date=pupil.birth_date, guardian_ids=[fresh_id(rng), fresh_id(rng)])
        )

    print(f"{'case':<20}{'n':>6}{'refused':>9}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    worst = 0.0
    for name, records in cases.items():
        timings, refused = [], 0
        for data in records:
            start = time.perf_counter()
            problems = nohukou.registration_problems(data)
            timings.append((time.perf_counter() - start) * 1000)
            refused += bool(problems)
        if not timings:
            print(f"{name:<20}{0:>6}  (no sample: the database has no such records)")
            continue
        p95 = percentile(timings, 0.95)
        worst = max(worst, p95)
        print(f"{name:<20}{len(timings):>6}{refused:>9}{statistics.median(timings):>9.2f}{p95:>9.2f}"
              f"{max(timings):>9.2f}")
        if args.explain:
            data = records[0]
            ids = sorted({g.id_number for g in data.guardians})
            query = (
                Guardian.objects.filter(id_number__in=ids, pupil__status__in=ACTIVE_STATUSES,
                                        pupil__county_code__startswith=data.school_code[:2])
                .filter(Q(pupil__id_number="") | ~Q(pupil__id_type="1"))
                .filter(Q(pupil__name=data.name) | Q(pupil__birth_date=data.birth_date))
                .order_by("pupil_id")[:1]
            )
            with connection.cursor() as cursor:
                sql, params = query.query.sql_with_params()
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                print("\n".join("    " + row[0] for row in cursor.fetchall()))
    print(f"target p95 < {TARGET_MS:.0f} ms: {'met' if worst < TARGET_MS else 'NOT met'} (worst p95 {worst:.2f} ms)")


if __name__ == "__main__":
    main()
