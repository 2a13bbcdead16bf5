"""The whole national record: the cost of its further fields, synonyms and name rule per
roster row, how fast and small bad files are refused, 信息维护 of family members, and the
yearly 留守/随迁 campaign over a county.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench_record \\
    REDIS_URL=redis://127.0.0.1:6379/9 .venv/bin/python bench/record_maintenance.py [--rows 5000] [--pupils 20000]

Creates and migrates the database if needed (its pupils are emptied first), then prints:

1. rows/s of ``pupil_problems`` for ``--rows`` records with only the core fields, and with
   every further field filled, half of the codes given as everyday names (synonyms);
2. time and peak Python memory (tracemalloc) to refuse: an xlsx whose sheet declares
   5,000,000 rows, a CSV with a 10 MB cell, a CSV of 300,000 lines;
3. 信息维护: mean ms to open and approve a record update adding a family member (50 runs);
4. 留守/随迁: a county of ``--pupils`` pupils in 10 schools: open the campaign, one school
   confirming all its pupils in one call, the county's progress and its unconfirmed list.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import io
import os
import re
import statistics
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/registry_bench_record")

from bench._db import ensure_database, migrate, setup_django  # noqa: E402

COUNTY = "440106"
SCHOOLS = [f"44010692{n:02d}" for n in range(10)]


def _resident_id(birth: dt.date, seq: int, sex: str) -> str:
    from kernel.identity import id_check_char

    body = f"{COUNTY}{birth:%Y%m%d}{(seq * 2 + (1 if sex == '1' else 0)) % 1000:03d}"
    return body + id_check_char(body)


def _records(n: int, *, further: bool):
    from registry.records import GuardianData, PupilData

    birth = dt.date(2016, 4, 4)
    base = PupilData(school_code=SCHOOLS[0], name="黄小梅", sex="2", birth_date=birth, grade=3,
                     class_number=1, enrolled_on=dt.date(2022, 9, 1), id_type="1",
                     guardians=[GuardianData(name="黄大强", relation="父亲", is_first_guardian=True,
                                             id_number=_resident_id(dt.date(1985, 1, 1), 7, "1")),
                                GuardianData(name="李秀英", relation="母亲",
                                             id_number=_resident_id(dt.date(1987, 2, 2), 8, "2"))])
    extra = {"birthplace": "440106", "native_place": "4401", "political_status": "群众", "specialty": "书法",
             "class_seat": "07", "enrolment_mode": "就近入学", "current_address": "天河路1号",
             "home_address": "天河路1号", "phone": "020-12345678", "postcode": "510000", "only_child": "是",
             "preschool": "Y", "orphan": "否", "needs_aid": "N", "disability": "无残疾", "commute_distance": "2.5",
             "commute_mode": "步行", "school_bus": "0", "hukou_nature": "非农业", "ethnicity": "汉",
             "left_behind": "否"}
    out = []
    for i in range(n):
        data = dataclasses.replace(base, guardians=[dataclasses.replace(g) for g in base.guardians])
        if further:
            data = dataclasses.replace(data, **extra)
            data.guardians[0].employer = "广州某厂"
        data.name = "黄" + "小大中明华"[i % 5] + "梅兰竹菊"[i % 4]
        data.id_number = _resident_id(birth, i % 499, "2")
        out.append(data)
    return out


def bench_validation(rows: int) -> None:
    from registry import codes
    from registry.validation import pupil_problems

    for further in (False, True):
        records = _records(rows, further=further)
        start = time.perf_counter()
        with codes.synonyms_used() as used:
            bad = sum(1 for data in records if pupil_problems(data, today=dt.date(2026, 11, 1)))
        seconds = time.perf_counter() - start
        label = "every further field, synonyms" if further else "core fields only"
        print(f"validation, {label}: {rows:,} rows in {seconds:.2f} s = {rows / seconds:,.0f} rows/s "
              f"(refused {bad}, synonyms read {len(used):,})")


def _measure(label: str, call) -> None:
    from kernel.errors import ValidationFailed

    tracemalloc.start()
    start = time.perf_counter()
    try:
        call()
        outcome = "read"
    except ValidationFailed as exc:
        outcome = exc.code
    seconds = time.perf_counter() - start
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"refuse {label}: {outcome} in {seconds * 1000:.0f} ms, peak {peak / 2**20:.1f} MiB")


def bench_bad_files() -> None:
    import openpyxl

    from rosters import reading
    from rosters.columns import HEADERS

    workbook = openpyxl.Workbook()
    workbook.active.append(HEADERS)
    workbook.active.append(["x"] * len(HEADERS))
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:BH5000000"', data)
            target.writestr(info, data)
    declared = out.getvalue()
    header = ",".join(HEADERS).encode()
    huge_cell = header + b"\n" + b"4401060001," + b"x" * (10 * 2**20) + b"\n"
    many_lines = header + b"\n" + b"4401060001,a\n" * 300_000
    _measure("xlsx declaring 5,000,000 rows", lambda: reading.read_table(declared))
    _measure("CSV with a 10 MB cell", lambda: reading.read_table(huge_cell))
    _measure("CSV of 300,000 lines", lambda: reading.read_table(many_lines))


def _world(pupils: int):
    from django.contrib.auth import get_user_model
    from django.db import connection

    from accounts.models import Membership
    from registry.models import Guardian, Pupil
    from schools.models import School

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE registry_pupil, changes_leftbehindcampaign CASCADE")
    User = get_user_model()
    schools = []
    for code in SCHOOLS:
        school, _ = School.objects.get_or_create(code=code, defaults={"name": f"基准{code[-2:]}小学",
                                                                      "county_id": COUNTY, "stage": "primary"})
        schools.append(school)
    users = {}
    for key, school, division, role in (("op", schools[0], None, "operator"), ("ap", schools[0], None, "approver"),
                                        ("county", None, COUNTY, "operator")):
        user, _ = User.objects.get_or_create(username=f"bench.record.{key}")
        Membership.objects.update_or_create(user=user, defaults={"school": school, "division_id": division,
                                                                 "role": role})
        users[key] = user
    from schools.classes import class_for

    start = time.perf_counter()
    classes = {school.pk: class_for(school, 3, 1) for school in schools}
    rows = []
    for i in range(pupils):
        school = schools[i % len(schools)]
        born = dt.date(2015, 1, 1) + dt.timedelta(days=i % 2000)
        rows.append(Pupil(national_number=f"L{COUNTY}{born:%Y%m%d}{i // 2000:04d}", name="黄小梅",
                          sex="1" if i % 2 else "2", birth_date=born, enrolled_on=dt.date(2022, 9, 1), grade=3,
                          school=school, school_class=classes[school.pk], county_code=COUNTY, id_type="A",
                          id_number=f"E{i:08d}", nationality="USA", hmt="42"))
    Pupil.objects.bulk_create(rows, batch_size=2000)
    first = Pupil.objects.filter(school=schools[0]).order_by("id")[:60]
    Guardian.objects.bulk_create([Guardian(pupil=p, order=1, name="黄大强", relation="51", is_first_guardian=True,
                                           id_type="Z") for p in first])
    print(f"setup: {pupils:,} pupils in {len(schools)} schools in {time.perf_counter() - start:.1f} s")
    return schools, users


def bench_members(users, school) -> None:
    from changes import requests
    from registry.models import Pupil

    times = []
    for pupil in Pupil.objects.filter(school=school).order_by("id")[:50]:
        start = time.perf_counter()
        request = requests.change_request_open(user=users["op"], pupil=pupil, kind="record_update", payload={
            "guardian2_name": "李秀英", "guardian2_relation": "母亲", "guardian2_id_type": "Z",
            "guardian2_employer": "某公司"})
        requests.change_request_approve(user=users["ap"], request_id=request.pk)
        times.append((time.perf_counter() - start) * 1000)
    print(f"信息维护 adding a family member, open + approve: mean {statistics.mean(times):.0f} ms, "
          f"p95 {sorted(times)[int(len(times) * 0.95) - 1]:.0f} ms ({len(times)} runs)")


def bench_campaign(users, school) -> None:
    from changes import left_behind
    from registry.models import Pupil

    start = time.perf_counter()
    campaign = left_behind.left_behind_campaign_open(user=users["county"], school_year=2026,
                                                     closes_on=dt.date(2099, 10, 31))
    print(f"留守/随迁 open (10 schools, 10 待办): {(time.perf_counter() - start) * 1000:.0f} ms")
    numbers = list(Pupil.objects.filter(school=school).values_list("national_number", flat=True))
    start = time.perf_counter()
    count = left_behind.left_behind_confirm(user=users["op"], campaign_id=campaign.pk, national_numbers=numbers)
    print(f"留守/随迁 confirm a whole school in one call: {count:,} pupils in {time.perf_counter() - start:.2f} s")
    start = time.perf_counter()
    progress = left_behind.left_behind_progress(users["county"], campaign)
    print(f"留守/随迁 county progress ({len(progress)} schools): {(time.perf_counter() - start) * 1000:.0f} ms")
    start = time.perf_counter()
    first_page = list(left_behind.left_behind_unconfirmed(users["county"], campaign)[:500])
    print(f"留守/随迁 county unconfirmed list, first 500 of "
          f"{sum(p.left for p in progress):,}: {(time.perf_counter() - start) * 1000:.0f} ms ({len(first_page)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--pupils", type=int, default=20_000)
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])
    migrate()
    setup_django()
    from django.core.management import call_command

    call_command("load_reference_data", verbosity=0)
    print(f"load average {os.getloadavg()[0]:.1f}")
    bench_validation(args.rows)
    bench_bad_files()
    schools, users = _world(args.pupils)
    bench_members(users, schools[0])
    bench_campaign(users, schools[0])
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
