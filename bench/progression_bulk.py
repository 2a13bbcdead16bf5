"""Receiving a whole grade by 升学: an allocation list of 2,000 graduates checked and offered,
accepted by the receiving school, approved by its approver and by the county, on a province
of 1,000,000 pupils (target: ≤ 60 s for check + approval).

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench_1m REDIS_URL=redis://127.0.0.1:6379/9
    .venv/bin/python bench/_db.py --fresh                       # only when building it
    .venv/bin/python manage.py load_demo --pupils 1000000 --seed 1
    .venv/bin/python bench/progression_bulk.py [--graduates 2000]

What it does, in one run:

1. makes a primary school of its own (school code with the mark ``8``) in a demo county,
   ``--graduates`` sixth-graders there who graduated (status, history entry), a junior
   school to receive them, and the four users (county operator and approver, school
   operator and approver);
2. baseline: one graduate received through the search path (lookup, start, two approvals),
   timed, to give the per-graduate cost of doing it one by one;
3. the bulk path: the county uploads an xlsx of every graduate (``allocation_import``:
   read, per-row checks against the province, one offered progression), the school accepts
   (the checks again), its approver and the county approve (the county's approval moves
   all records in bulk: school, grade, class, status, history at both schools);
4. prints each step, the total and the ratio to the baseline × graduates, then deletes what
   it made, so runs can repeat on the same database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import setup_django  # noqa: E402

TARGET_S = 60.0
MARK = "8"


def _school(county, number: int, stage: str, name: str):
    from schools.models import School

    code = f"{county.code}{MARK}{number:03d}"
    return School.objects.get_or_create(code=code, defaults={"name": name, "county": county, "stage": stage})[0]


def _user(username: str, *, role: str, school=None, division=None):
    from django.contrib.auth import get_user_model

    from accounts.models import Membership

    user, _created = get_user_model().objects.get_or_create(username=username)
    Membership.objects.update_or_create(user=user, defaults={"role": role, "school": school, "division": division})
    return user


def _graduates(school, count: int, start: int):
    """``count`` graduated sixth-graders at ``school`` (bulk; valid IDs, L numbers)."""
    from django.utils import timezone

    from kernel import identity
    from registry import numbers
    from registry.models import HistoryEntry, Pupil
    from schools.models import SchoolClass

    klass, _created = SchoolClass.objects.get_or_create(school=school, grade=6, number=1)
    births = [dt.date(2014, 1, 1) + dt.timedelta(days=n % 365) for n in range(start, start + count)]
    allocated = numbers.l_numbers([(school.county_id, born) for born in births])
    taken = set(Pupil.objects.filter(id_number__startswith=school.county_id, birth_date__year=2014)
                .values_list("id_number", flat=True))
    pupils = []
    for n in range(start, start + count):
        born = births[n - start]
        for attempt in range(1000):  # a resident ID no demo pupil has
            seq = f"{(n + attempt * 7) % 1000:03d}"
            body = f"{school.county_id}{born:%Y%m%d}{seq}"
            resident = body + identity.id_check_char(body)
            if resident not in taken:
                break
        taken.add(resident)
        pupils.append(Pupil(
            national_number=allocated[n - start],
            name=f"升学{n:05d}", sex="1" if int(seq) % 2 else "2", birth_date=born, id_type="1",
            id_number=resident, school=school, school_class=klass, grade=6, county_code=school.county_id,
            enrolled_on=dt.date(2020, 9, 1), status="graduated", basic_data_locked=True,
        ))
    Pupil.objects.bulk_create(pupils, batch_size=1000)
    HistoryEntry.objects.bulk_create(
        [HistoryEntry(pupil=p, kind="graduated", summary="毕业", school=school, at=timezone.now()) for p in pupils],
        batch_size=2000,
    )
    return pupils


def _xlsx(pupils, school) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["全国学籍号或身份证件号", "姓名", "接收学校标识码", "班号"])
    for index, pupil in enumerate(pupils):
        sheet.append([pupil.national_number, pupil.name, school.code, index % 40 + 1])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cleanup(schools) -> None:
    from enrolment.models import Allocation, GraduateLookup, Progression, ProgressionEntry
    from registry.models import Pupil
    from schools.models import SchoolClass
    from workflow.models import ChainEvent, OpenBusiness, WorkItem

    progressions = Progression.objects.filter(school__in=schools)
    ids = list(progressions.values_list("pk", flat=True))
    ChainEvent.objects.filter(content_type__model="progression", object_id__in=ids).delete()
    WorkItem.objects.filter(kind="progression", object_id__in=ids).delete()
    OpenBusiness.objects.filter(kind="progression", object_id__in=ids).delete()
    ProgressionEntry.objects.filter(progression__in=progressions).delete()
    allocations = list(progressions.exclude(allocation=None).values_list("allocation_id", flat=True))
    progressions.delete()
    Allocation.objects.filter(pk__in=allocations).delete()
    GraduateLookup.objects.filter(school__in=schools).delete()
    Pupil.objects.filter(school__in=schools).delete()
    SchoolClass.objects.filter(school__in=schools).delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graduates", type=int, default=2000)
    args = parser.parse_args()
    setup_django()

    from django.db import connection

    from accounts.audit import acting_as
    from enrolment import allocation, receiving
    from provinces.models import Division
    from registry.models import Pupil

    county = (Division.objects.filter(level="county", code__startswith="44", schools__isnull=False)
              .order_by("code").first())
    if county is None:
        sys.exit("Load the demo province first: manage.py load_demo --pupils 1000000 --seed 1")
    primary = _school(county, 1, "primary", "升学基准小学")
    junior = _school(county, 2, "junior", "升学基准中学")
    _cleanup([primary, junior])
    province_pupils = Pupil.objects.filter(county_code__startswith="44").count()
    county_operator = _user(f"bench.{county.code}.operator", role="operator", division=county)
    county_approver = _user(f"bench.{county.code}.approver", role="approver", division=county)
    school_operator = _user(f"bench.{junior.code}.operator", role="operator", school=junior)
    school_approver = _user(f"bench.{junior.code}.approver", role="approver", school=junior)
    with acting_as(None, command="bench"):
        graduates = _graduates(primary, args.graduates + 2, start=10000)
    warm, one, many = graduates[0], graduates[1], graduates[2:]
    content = _xlsx(many, junior)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE registry_pupil; ANALYZE registry_historyentry")
    print(f"province 44: {province_pupils:,} pupils; county {county.code}; {len(many):,} graduates to receive")

    from django.urls import reverse

    def one_by_search(pupil) -> float:
        begun = time.perf_counter()
        [card] = receiving.graduate_find(user=school_operator, number=pupil.national_number, name=pupil.name)
        single = receiving.progression_start(user=school_operator, refs=[card.ref])
        receiving.progression_approve(user=school_approver, progression_id=single.pk)
        receiving.progression_approve(user=county_approver, progression_id=single.pk)
        return time.perf_counter() - begun

    reverse("progression_find")
    one_by_search(warm)  # warm-up (URL resolver, lazy imports, caches): not timed
    baseline = one_by_search(one)
    print(f"baseline, one graduate by search (lookup, start, 2 approvals): {baseline * 1000:.0f} ms "
          f"→ {baseline * len(many):.0f} s for {len(many):,} one by one")

    steps = []
    started = time.perf_counter()
    row = allocation.allocation_import(user=county_operator, content=content, original_name="bench.xlsx")
    steps.append(("allocation list: read, check every row, offer", time.perf_counter() - started))
    assert row.offered == len(many), row.report[:3]
    offer = row.progressions.get()
    for label, call in (
        ("school accepts (checks again)", lambda: receiving.progression_accept(user=school_operator,
                                                                                progression_id=offer.pk)),
        ("school approver approves (checks again)", lambda: receiving.progression_approve(
            user=school_approver, progression_id=offer.pk)),
        ("county approves: every record moves", lambda: receiving.progression_approve(
            user=county_approver, progression_id=offer.pk)),
    ):
        begun = time.perf_counter()
        call()
        steps.append((label, time.perf_counter() - begun))
    total = sum(seconds for _label, seconds in steps)
    moved = Pupil.objects.filter(school=junior, grade=7, status="enrolled").count()
    for label, seconds in steps:
        print(f"  {label:<48} {seconds:6.1f} s")
    verdict = "within" if total <= TARGET_S else "OVER"
    print(f"bulk total for {len(many):,} graduates: {total:.1f} s ({verdict} the {TARGET_S:.0f} s target), "
          f"{baseline * len(many) / total:.0f}× faster than one by one; {moved:,} now in grade 7")
    _cleanup([primary, junior])


if __name__ == "__main__":
    main()
