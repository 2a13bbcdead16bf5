"""Yearly promotion (升级) speed, and one change request through its three steps.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench_changes \\
    REDIS_URL=redis://127.0.0.1:6379/9 .venv/bin/python bench/changes_promotion.py [--schools 20] [--pupils 1500]

Creates and migrates the database if needed, loads code tables and divisions, and makes
``--schools`` schools in county 440106 (half 小学, a quarter 初中, a quarter 九年一贯制) with
``--pupils`` 在读 pupils each spread over the school's grades and 8 classes per grade
(bulk inserts). Then it times:

1. the promotion of every school, one ``promotion_school_apply`` per school — what one
   Celery task does (moves, new classes, one history entry per pupil, pghistory rows);
2. a rerun of the same school year (every school already done: the idempotent no-op);
3. ``--requests`` 休学 requests, each opened, approved by the school and by the county.

Each run uses a new school year, so it can be repeated on the same database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/registry_bench_changes")

from bench._db import database_url, ensure_database, migrate, setup_django  # noqa: E402


def _birth(n: int) -> dt.date:
    return dt.date(2013, 1, 1) + dt.timedelta(days=n // 10000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schools", type=int, default=20)
    parser.add_argument("--pupils", type=int, default=1500)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()

    ensure_database(database_url())
    migrate()
    setup_django()

    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from accounts.models import Membership
    from changes import promotions, requests
    from changes.models import PromotionRun
    from provinces.models import Division
    from registry.models import Pupil
    from schools.models import School, SchoolClass

    if not Division.objects.filter(code="44").exists():
        call_command("loaddata", "fixtures/divisions.json", "fixtures/codes.json", verbosity=0)
    county = Division.objects.get(code="440106")
    users = get_user_model().objects

    def user(name, role, **unit):
        found = users.filter(username=name).first()
        if found is None:
            found = users.create_user(username=name, password="bench-pass-123")
            Membership.objects.create(user=found, role=role, **unit)
        return found

    admin = user("bench.province.admin", "admin", division=Division.objects.get(code="44"))
    county_approver = user("bench.county.approver", "approver", division=county)

    stages = ["primary", "primary", "junior", "nine_year"]
    schools = []
    t0 = time.perf_counter()
    for i in range(args.schools):
        code = f"44010690{i:02d}"
        school, created = School.objects.get_or_create(
            code=code, defaults={"name": f"基准学校{i}", "county": county, "stage": stages[i % 4]}
        )
        schools.append(school)
        if Pupil.objects.filter(school=school).exists():
            continue
        classes = {
            (g, n): SchoolClass.objects.get_or_create(school=school, grade=g, number=n)[0]
            for g in school.grades for n in range(1, 9)
        }
        grades = list(school.grades)
        Pupil.objects.bulk_create(
            [
                Pupil(
                    national_number=f"L440106{_birth(i * args.pupils + k):%Y%m%d}{(i * args.pupils + k) % 10000:04d}",
                    name=f"学生{i}-{k}", sex="1" if k % 2 else "2", birth_date=_birth(i * args.pupils + k),
                    id_type="Z", id_number="", school=school, school_class=classes[(grades[k % len(grades)], k % 8 + 1)],
                    grade=grades[k % len(grades)], county_code=county.code, enrolled_on=dt.date(2020, 9, 1),
                )
                for k in range(args.pupils)
            ],
            batch_size=2000,
        )
    print(f"setup: {args.schools} schools x {args.pupils} pupils ready in {time.perf_counter() - t0:.1f} s")

    year = (PromotionRun.objects.order_by("-school_year").values_list("school_year", flat=True).first() or 2025) + 1
    from unittest import mock

    with mock.patch("changes.tasks.promote_school.delay"):  # run each school's task body here instead
        run = promotions.promotion_start(user=admin, school_year=year)
    parts = list(run.schools.filter(school__in=schools))
    times = []
    moved = 0
    for part in parts:
        t = time.perf_counter()
        done = promotions.promotion_school_apply(part_id=part.pk)
        times.append(time.perf_counter() - t)
        moved += done.moved
    total = sum(times)
    print(f"promotion {year}: {len(parts)} schools, {moved} pupils moved in {total:.2f} s "
          f"({moved / total:,.0f} pupils/s; per school median {statistics.median(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms)")

    t = time.perf_counter()
    for part in parts:
        promotions.promotion_school_apply(part_id=part.pk)
    print(f"rerun of {year} (idempotent no-op): {len(parts)} schools in {(time.perf_counter() - t) * 1000:.0f} ms")

    school = schools[0]
    operator = user(f"bench.{school.code}.operator", "operator", school=school)
    approver = user(f"bench.{school.code}.approver", "approver", school=school)
    pupils = list(Pupil.objects.filter(school=school, status="enrolled", open_business__isnull=True,
                                       grade__in=[1, 2, 3, 4])[: args.requests])
    today = dt.date.today()
    durations = []
    for pupil in pupils:
        t = time.perf_counter()
        request = requests.change_request_open(
            user=operator, pupil=pupil, kind="suspend",
            payload={"start": today.isoformat(), "until": (today + dt.timedelta(days=100)).isoformat()},
            today=today,
        )
        requests.change_request_approve(user=approver, request_id=request.pk)
        requests.change_request_approve(user=county_approver, request_id=request.pk)
        durations.append(time.perf_counter() - t)
    if durations:
        print(f"休学 request open + 2 approvals: {len(durations)} requests, median "
              f"{statistics.median(durations) * 1000:.0f} ms, p95 "
              f"{sorted(durations)[int(len(durations) * 0.95) - 1] * 1000:.0f} ms")
    Pupil.objects.filter(pk__in=[p.pk for p in pupils]).update(status="enrolled", status_until=None)


if __name__ == "__main__":
    main()
