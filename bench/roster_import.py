"""Roster import speed (花名册导入): 50,000 rows end to end, against the per-row baseline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench_roster \\
    REDIS_URL=redis://127.0.0.1:6379/9 .venv/bin/python bench/roster_import.py [--rows 50000] [--baseline 2000]

Creates and migrates the database if needed, loads the code tables and divisions, makes
ten primary schools in two counties of Guangzhou and a city operator, and generates an
xlsx of ``--rows`` pupils (realistic names, valid resident IDs agreeing with birth date
and sex, two guardians with valid IDs, about 3 % bad rows: wrong check char, unknown
ethnicity code, missing name, the same ID twice). The file is cached under bench/out/.

Then, in one run:

1. baseline: django-import-export's own per-row import of the first ``--baseline`` rows
   through ``schools.roster_resources.RosterResource`` (its dry run, then the import — the
   admin's two passes), extrapolated linearly to ``--rows``; those pupils are deleted again;
2. the bulk path of the 花名册 page / ``import_roster``: upload + dry run
   (``roster_check``) and confirm + import (``roster_import_rows``, good rows).

Prints every figure. The pupil tables of this dedicated database are emptied (TRUNCATE) at
the start of each run and after the baseline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/registry_bench_roster")

from bench._db import ensure_database, migrate, setup_django  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = {
    "1": "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林欢阳建国子轩浩然宇航俊杰梓豪博文一鸣天佑",
    "2": "芳娜敏静丽艳娟霞秀玲桂英红梅琳雪婷慧莹倩颖洁佳琪欣怡梓涵诗涵雨桐可馨思彤语嫣紫萱若曦雅静",
}
ETHNICITY = ["汉族"] * 95 + ["壮族", "回族", "满族", "苗族", "瑶族"]
SCHOOLS = [(f"44010691{n:02d}", "440106") for n in range(5)] + [(f"44010591{n:02d}", "440105") for n in range(5)]


def resident_id(region: str, birth: dt.date, sex: str, seq: int) -> str:
    from kernel.identity import id_check_char

    third = (seq * 2 + (1 if sex == "1" else 0)) % 1000
    body = f"{region}{birth:%Y%m%d}{third:03d}"
    return body + id_check_char(body)


def generate_rows(n: int, seed: int = 2026) -> list[list]:
    from rosters.columns import COLUMNS, REGISTRATION_COLUMNS

    columns = [*COLUMNS, *REGISTRATION_COLUMNS]
    rng = random.Random(seed)
    used: set[str] = set()
    lines = []
    for i in range(n):
        sex = rng.choice("12")
        grade = rng.randint(1, 6)
        birth = dt.date(2025 - grade - 6, 9, 1) + dt.timedelta(days=rng.randrange(365))
        region = rng.choice(["440106", "440105", "440111", "445122", "360502"])
        while True:
            number = resident_id(region, birth, sex, rng.randrange(500))
            if number not in used:
                used.add(number)
                break
        school, _county = SCHOOLS[i % len(SCHOOLS)]
        surname = rng.choice(SURNAMES)
        given = GIVEN[sex]
        name = surname + "".join(rng.choice(given) for _ in range(rng.choice((1, 2))))
        father_birth = dt.date(birth.year - rng.randint(26, 40), rng.randint(1, 12), rng.randint(1, 28))
        mother_birth = dt.date(birth.year - rng.randint(24, 38), rng.randint(1, 12), rng.randint(1, 28))
        row = {
            "school_code": school, "name": name, "former_name": "", "sex": "男" if sex == "1" else "女",
            "birth_date": birth, "id_type": "居民身份证", "id_number": number, "ethnicity": rng.choice(ETHNICITY),
            "nationality": "中国", "hmt": "否", "hukou_division": region, "hukou_nature": rng.choice(["农业户口", "非农业户口"]),
            "grade": grade, "class_number": rng.randint(1, 8), "enrolled_on": dt.date(2025 - grade + 1, 9, 1),
            "boarding": "走读", "health": "健康或良好", "left_behind": "非留守儿童", "migrant": rng.choice(["否", "是"]),
            "g1_name": surname + rng.choice(GIVEN["1"]) + rng.choice(GIVEN["1"]), "g1_relation": "父亲",
            "g1_id_type": "居民身份证", "g1_id_number": resident_id(region, father_birth, "1", rng.randrange(500)),
            "g1_is_guardian": "是",
            "g2_name": rng.choice(SURNAMES) + rng.choice(GIVEN["2"]) + rng.choice(GIVEN["2"]), "g2_relation": "母亲",
            "g2_id_type": "居民身份证", "g2_id_number": resident_id(region, mother_birth, "2", rng.randrange(500)),
            "g2_is_guardian": "是",
            # new pupils outside the entry grades state their 学生来源 and reason
            "source": "其他", "source_reason": "学籍补录",
        }
        bad = rng.random()
        if bad < 0.01:
            row["id_number"] = number[:17] + ("0" if number[17] != "0" else "1")
        elif bad < 0.018:
            row["ethnicity"] = "火星族"
        elif bad < 0.024:
            row["name"] = ""
        elif bad < 0.03 and lines:
            row["id_number"] = lines[-1][6]
        lines.append([row.get(c.key, "") for c in columns])  # further fields left empty
    return lines


def write_xlsx(lines: list[list], path: Path) -> None:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    from rosters.columns import HEADERS, REGISTRATION_COLUMNS

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("花名册")
    sheet.append([*HEADERS, *(c.header for c in REGISTRATION_COLUMNS)])
    for line in lines:
        cells = []
        for value in line:
            if isinstance(value, dt.date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "yyyy-mm-dd"
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)


def prepare() -> object:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from accounts.models import Membership
    from provinces import divisions
    from provinces.models import Division
    from registry import codes
    from registry.models import CodeItem
    from schools.models import School

    if not CodeItem.objects.exists():
        call_command("loaddata", "fixtures/divisions.json", "fixtures/codes.json", verbosity=0)
    codes.clear_cache()
    divisions.clear_cache()
    for n, (code, county) in enumerate(SCHOOLS):
        School.objects.get_or_create(code=code, defaults={"name": f"基准测试第{n + 1}小学", "county_id": county,
                                                          "stage": "primary"})
    user, created = get_user_model().objects.get_or_create(username="bench.roster.city")
    if created:
        user.set_unusable_password()
        user.save()
        Membership.objects.create(user=user, role="operator", division=Division.objects.get(code="4401"))
    _cleanup()
    return get_user_model().objects.select_related("membership").get(pk=user.pk)


def _cleanup() -> None:
    """Empty the pupil tables of this dedicated benchmark database (TRUNCATE: no per-row triggers)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE registry_historyentry, registry_guardian, registry_openbusiness, registry_pupil CASCADE")


def baseline(user, path: Path, rows: int, total: int) -> float:
    """django-import-export per-row: dry run + import of the first ``rows`` rows."""
    import tablib

    from rosters import reading
    from rosters.resources import RosterResource

    _format, lines = reading.read_table(path.read_bytes())
    dataset = tablib.Dataset(headers=lines[0])
    for line in lines[1 : rows + 1]:
        dataset.append(line)
    started = time.monotonic()
    dry = RosterResource().import_data(dataset, dry_run=True, user=user)
    dry_seconds = time.monotonic() - started
    started = time.monotonic()
    result = RosterResource().import_data(dataset, dry_run=False, user=user)
    import_seconds = time.monotonic() - started
    elapsed = dry_seconds + import_seconds
    print(f"baseline django-import-export per-row, first {rows} rows: dry run {dry_seconds:.1f} s + import "
          f"{import_seconds:.1f} s = {elapsed:.1f} s ({rows / elapsed:.0f} rows/s); new={result.totals['new']} "
          f"invalid={result.totals['invalid']} (dry run new={dry.totals['new']})")
    print(f"baseline extrapolated to {total} rows: {elapsed * total / rows:.0f} s")
    _cleanup()
    return elapsed * total / rows


def bulk(user, path: Path) -> float:
    from rosters import jobs

    content = path.read_bytes()
    started = time.monotonic()
    job = jobs.roster_upload(user=user, content=content, file_name=path.name)
    job = jobs.roster_check(job_id=job.pk)
    checked = time.monotonic()
    print(f"bulk dry run: {job.total_rows} rows in {checked - started:.1f} s — new={job.new_rows} "
          f"unchanged={job.unchanged_rows} refused={job.refused_rows}")
    jobs.roster_confirm(user=user, job_id=job.pk, mode="good_rows")
    job = jobs.roster_import_rows(job_id=job.pk)
    done = time.monotonic()
    print(f"bulk import (re-check + write): {job.imported_rows} pupils in {done - checked:.1f} s")
    total = done - started
    print(f"bulk end to end (upload + dry run + confirm + import): {total:.1f} s "
          f"({job.total_rows / total:.0f} rows/s)")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--baseline", type=int, default=2_000)
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    migrate()
    setup_django()
    user = prepare()
    path = ROOT / "bench" / "out" / f"roster_{args.rows}.xlsx"
    if not path.exists():
        started = time.monotonic()
        write_xlsx(generate_rows(args.rows), path)
        print(f"generated {path.name} ({path.stat().st_size / 1e6:.1f} MB) in {time.monotonic() - started:.1f} s")
    try:
        import python_calamine  # noqa: F401

        reader = "python-calamine"
    except ImportError:
        reader = "openpyxl (install python-calamine for the fast reader)"
    print(f"machine: {os.cpu_count()} cores; xlsx reader: {reader}; rows: {args.rows}")
    extrapolated = None if args.skip_baseline else baseline(user, path, args.baseline, args.rows)
    total = bulk(user, path)
    if extrapolated:
        print(f"speed-up over the per-row baseline: {extrapolated / total:.0f}x (target ≤ 60 s end to end)")


if __name__ == "__main__":
    main()
