"""Pupil list/search latency over the demo province: ``pupil_search`` + ``paginate``.

Run against a database loaded with ``load_demo`` (1,000,000 pupils for the figures in
BENCHMARKS.md):

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench_1m REDIS_URL=redis://127.0.0.1:6379/9
    .venv/bin/python bench/_db.py --fresh
    .venv/bin/python manage.py load_demo --pupils 1000000 --seed 1
    .venv/bin/python bench/pupil_search.py [--repeat 50] [--http] [--explain]

For a school, a county and a province user it times these cases, each ``--repeat`` times
with varying values, and prints p50 / p95 / max in milliseconds (target: p95 < 150 ms):
page 1 without filter, page 5, name prefix, national number exact, ID number exact,
school + grade + class. ``--http`` also times ``GET /api/v1/pupils`` through Django's test
client (the whole stack: middleware, session, ninja, JSON). ``--explain`` prints the plan of
the slowest query per case.
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

TARGET_MS = 150.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def sample_values(user, rng: random.Random, count: int) -> dict:
    """Real values from the user's scope to search for (names, numbers, classes)."""
    from accounts.scope import restrict
    from registry.models import Pupil

    visible = restrict(Pupil.objects.all(), user)
    # A random slice by id range: cheap on a million rows, unlike ORDER BY random().
    bounds = visible.order_by("id").values_list("id", flat=True)
    low, high = bounds.first(), visible.order_by("-id").values_list("id", flat=True).first()
    rows = []
    for _ in range(count):
        start = rng.randint(low, high)
        row = (visible.filter(id__gte=start).order_by("id")
               .values("name", "national_number", "id_number", "school__code", "grade", "school_class__number")
               .first())
        if row is None:
            row = visible.order_by("id").values("name", "national_number", "id_number", "school__code", "grade",
                                                "school_class__number").first()
        rows.append(row)
    return {
        "name": [r["name"][: rng.choice((1, 2, 2, 3))] for r in rows],
        "national_number": [r["national_number"] for r in rows],
        "id_number": [r["id_number"] or rows[0]["id_number"] for r in rows],
        "class": [(r["school__code"], r["grade"], r["school_class__number"]) for r in rows],
    }


def cases(values: dict, repeat: int):
    from registry.selectors import PupilFilter

    yield "page 1, no filter", [(PupilFilter(), 1)] * repeat
    yield "page 5, no filter", [(PupilFilter(), 5)] * repeat
    yield "name prefix", [(PupilFilter(q=v), 1) for v in values["name"]]
    yield "national number", [(PupilFilter(q=v), 1) for v in values["national_number"]]
    yield "ID number", [(PupilFilter(q=v), 1) for v in values["id_number"]]
    yield "school+grade+class", [
        (PupilFilter(school=s, grade=g, class_number=c), 1) for s, g, c in values["class"]
    ]


def time_selector(user, runs) -> tuple[list[float], object]:
    from registry.selectors import paginate, pupil_search

    timings, slowest = [], (0.0, None)
    for filters, page in runs:
        started = time.perf_counter()
        result = paginate(pupil_search(user, filters), page=page, page_size=20)
        [(p.school.name, p.school_class_id) for p in result.items]
        elapsed = (time.perf_counter() - started) * 1000
        timings.append(elapsed)
        if elapsed > slowest[0]:
            slowest = (elapsed, (filters, page))
    return timings, slowest[1]


def time_http(client, runs) -> list[float]:
    timings = []
    for filters, page in runs:
        params = {k: v for k, v in vars(filters).items() if v not in ("", None)}
        params.update(page=page, page_size=20)
        started = time.perf_counter()
        response = client.get("/api/v1/pupils", params)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:200]
    return timings


def explain(user, filters, page) -> str:
    from django.db import connection

    from registry.selectors import pupil_search

    offset = (page - 1) * 20
    queryset = pupil_search(user, filters)[offset: offset + 21]
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--http", action="store_true", help="also time GET /api/v1/pupils via the test client")
    parser.add_argument("--explain", action="store_true", help="print the plan of each case's slowest query")
    parser.add_argument("--users", default="", help="comma-separated usernames (default: a school, county, province)")
    args = parser.parse_args()

    setup_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.http import HttpRequest
    from django.test import Client

    from devtools import demo
    from registry.models import Pupil

    User = get_user_model()
    total = Pupil.objects.count()
    if args.users:
        users = [User.objects.get(username=name) for name in args.users.split(",")]
    else:
        school = demo.demo_schools("44").order_by("code").first()
        if school is None:
            sys.exit("no demo data: run manage.py load_demo first")
        users = [
            User.objects.get(username=f"{school.code}.operator"),
            User.objects.get(username=f"{school.county_id}.approver"),
            User.objects.get(username="44.approver"),
        ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(",")[0]
    print(f"pupils in database: {total:,}; {version}; repeat {args.repeat}; page size 20")
    header = f"{'user':<22} {'case':<22} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  target"
    rng = random.Random(args.seed)
    missed = []
    for user in users:
        from accounts.scope import restrict

        in_scope = restrict(Pupil.objects.all(), user).count()
        print(f"\n{user.username} ({user.membership.level}, {in_scope:,} pupils in scope)")
        print(header)
        values = sample_values(user, rng, args.repeat)
        client = None
        if args.http:
            client = Client()
            assert client.login(request=HttpRequest(), username=user.username, password=settings.DEMO_PASSWORD)
        for label, runs in cases(values, args.repeat):
            time_selector(user, runs[:3])  # warm the cache and connection
            timings, slowest = time_selector(user, runs)
            p95 = percentile(timings, 0.95)
            ok = "ok" if p95 < TARGET_MS else "MISSED"
            if p95 >= TARGET_MS:
                missed.append((user.username, label))
            print(f"{'  selector':<22} {label:<22} {statistics.median(timings):8.1f} {p95:8.1f} "
                  f"{max(timings):8.1f}  {ok}")
            if client is not None:
                http = time_http(client, runs)
                print(f"{'  HTTP /api/v1/pupils':<22} {label:<22} {statistics.median(http):8.1f} "
                      f"{percentile(http, 0.95):8.1f} {max(http):8.1f}")
            if args.explain and slowest is not None:
                print(explain(user, *slowest))
    print("\nall cases within target" if not missed else f"\nmissed target: {missed}")


if __name__ == "__main__":
    main()
