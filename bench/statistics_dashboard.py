"""统计 dashboards over the demo province: the pupil-count snapshot, each level's page, the API,
and a class batch of 50 学籍表 PDFs.

(Not named ``statistics.py``: a file of that name in ``bench/`` would shadow the standard
library's ``statistics`` that the other benchmarks import.)

Run against a database loaded with ``load_demo`` (1,000,000 pupils for the figures in
BENCHMARKS.md):

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench_1m REDIS_URL=redis://127.0.0.1:6379/9
    .venv/bin/python bench/_db.py            # migrates (adds the reports tables)
    .venv/bin/python manage.py load_demo --pupils 1000000 --seed 1   # once
    .venv/bin/python bench/statistics_dashboard.py [--repeat 20]

It prints p50 / p95 / max in milliseconds (target: each page p95 < 300 ms) for a province, a
city, a county and a school user: the tables alone (``reports.statistics.dashboard``), the
whole page (``GET /statistics/`` through Django's test client: middleware, session, template)
and ``GET /api/v1/statistics``; then the live province count without the snapshot (why the
snapshot exists), and the batch of 学籍表 PDFs for one class (rolled back; target < 10 s).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import setup_django  # noqa: E402

TARGET_MS = 300.0
BATCH_TARGET_S = 10.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def timed(function, repeat: int) -> list[float]:
    function()  # warm
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def line(label: str, timings: list[float], target: float | None = TARGET_MS) -> str:
    p95 = percentile(timings, 0.95)
    verdict = "" if target is None else ("ok" if p95 < target else "MISSED")
    return f"  {label:<34} {statistics.median(timings):8.1f} {p95:8.1f} {max(timings):8.1f}  {verdict}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.db.models import Count
    from django.test import Client

    from devtools import demo
    from registry.models import Pupil
    from reports import documents, pdf, snapshot, units
    from reports import statistics as stats
    from reports.models import PupilCountSnapshot

    User = get_user_model()
    school = demo.demo_schools("44").order_by("code").first()
    if school is None:
        sys.exit("no demo data: run manage.py load_demo first")
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(",")[0]
    print(f"pupils in database: {Pupil.objects.count():,}; {version}; repeat {args.repeat}")

    refreshes = [snapshot.pupil_counts_refresh() for _ in range(3)]
    taken = refreshes[-1]
    print(f"\nsnapshot refresh: {', '.join(f'{s.seconds:.1f} s' for s in refreshes)} "
          f"({taken.rows:,} rows for {taken.pupils:,} pupils)")

    users = [User.objects.get(username="44.approver"), User.objects.get(username=f"{school.county_id[:4]}.approver"),
             User.objects.get(username=f"{school.county_id}.approver"), User.objects.get(username=f"{school.code}.operator")]
    missed = []
    print(f"\n{'':<36} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  target {TARGET_MS:.0f} ms")
    for user in users:
        unit = units.unit_for(user)
        print(f"{user.username} ({unit.level} {unit.name}, {'snapshot' if stats.uses_snapshot(unit) else 'live'})")
        client = Client()
        client.force_login(user)  # django-axes wants a request to authenticate; the session is what counts here
        for label, function in (
            ("tables (dashboard)", lambda user=user, unit=unit: stats.dashboard(user, unit)),
            ("GET /statistics/", lambda client=client: client.get("/statistics/")),
            ("GET /api/v1/statistics", lambda client=client: client.get("/api/v1/statistics")),
        ):
            timings = timed(function, args.repeat)
            print(line(label, timings))
            if percentile(timings, 0.95) >= TARGET_MS:
                missed.append((user.username, label))

    province = users[0]
    unit = units.unit_for(province)
    with transaction.atomic():
        PupilCountSnapshot.objects.all().delete()  # rolled back: the live count, for comparison
        print(f"\n{province.username} without the snapshot (live count of every pupil)")
        print(line("pupil tables, live", timed(lambda: stats.pupil_tables(province, unit), 3), target=None))
        transaction.set_rollback(True)

    school_class = (Pupil.objects.filter(status="enrolled", school_class__isnull=False).values("school_class_id")
                    .annotate(n=Count("id")).filter(n__lte=documents.MAX_BATCH).order_by("-n").first())
    code = (Pupil.objects.filter(school_class_id=school_class["school_class_id"]).values_list("school__code", flat=True)
            .first())
    operator = User.objects.get(username=f"{code}.operator")
    with transaction.atomic():
        started = time.perf_counter()
        issued = documents.documents_issue_for_class(user=operator, class_id=school_class["school_class_id"])
        content = pdf.documents_pdf([(documents.record_sheet(d), f"https://registry.example/documents/verify/"
                                      f"{documents.verification_code(d)}/") for d in issued])
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    verdict = "ok" if elapsed < BATCH_TARGET_S else "MISSED"
    print(f"\nclass batch: {len(issued)} 学籍表 in one PDF ({len(content) // 1024} KB): {elapsed:.2f} s  {verdict}")
    if elapsed >= BATCH_TARGET_S:
        missed.append(("batch", "pdf"))
    print("\nall cases within target" if not missed else f"\nmissed target: {missed}")


if __name__ == "__main__":
    main()
