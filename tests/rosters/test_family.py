"""Family members in a roster (家庭成员1–4): every member's 状况, police reference and date,
phone and 户籍所在地, so a pupil without hukou (无户籍) can come by roster; a refusal names a
column the template has; a file of the older two-member template is still read."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from registry.fields import MAX_MEMBERS, MEMBER_FIELDS
from registry.models import Guardian, Pupil
from rosters import columns, exporting, jobs, reports
from rosters.models import RosterImport
from tests.factories import resident_id
from tests.rosters.test_support import (  # noqa: F401
    FILE_COLUMNS,
    codes_of,
    fast_passwords,
    roster_media,
    roster_row,
    rows_of,
    with_mother,
    xlsx_bytes,
)

pytestmark = pytest.mark.usefixtures("fast_passwords", "roster_media")


def _check(user, content: bytes) -> RosterImport:
    job = jobs.roster_check(job_id=jobs.roster_upload(user=user, content=content, file_name="r.xlsx").pk)
    assert job.status == RosterImport.Status.CHECKED, job.error
    return job


def _import(user, job) -> RosterImport:
    jobs.roster_confirm(user=user, job_id=job.pk, mode=RosterImport.Mode.ALL_OR_NOTHING)
    return jobs.roster_import_rows(job_id=job.pk)


def _no_hukou_family(school, **overrides) -> dict:
    """A pupil without hukou (no ID) whose father is missing as confirmed by the police: the
    mother is first guardian with her 户籍所在地, the grandparents are members 3 and 4."""
    row = roster_row(school, name="周小安", seq=41, id_type="其他", id_number="", hukou_division="")
    row.update(
        g1_name="周父", g1_relation="父亲", g1_id_type="其他", g1_id_number="", g1_is_guardian="否",
        g1_vital="失踪", g1_police_reference="穗公失证〔2023〕017号", g1_police_date="2023-05-06",
        g2_name="林母", g2_relation="母亲", g2_id_type="居民身份证",
        g2_id_number=resident_id(dt.date(1987, 3, 3), "2", seq=641), g2_is_guardian="是",
        g2_phone="13800138000", g2_hukou_division_code="440106",
        g3_name="周祖父", g3_relation="祖父", g3_id_type="居民身份证",
        g3_id_number=resident_id(dt.date(1958, 6, 6), "1", seq=642), g3_is_guardian="否",
        g3_phone="020-87654321", g3_hukou_division_code="广东省广州市天河区",
        g4_name="周祖母", g4_relation="祖母", g4_id_type="其他", g4_id_number="", g4_is_guardian="否",
        g4_vital="死亡",
    )
    row.update(overrides)
    return row


@pytest.mark.django_db
def test_the_template_has_four_members_with_every_member_field():
    headers = columns.HEADERS
    for n in range(1, MAX_MEMBERS + 1):
        for label in ("姓名", "联系电话", "状况", "公安机关证明编号", "公安机关证明日期", "户籍所在地", "职务"):
            assert f"家庭成员{n}{label}" in headers
    assert not any(h.startswith("家庭成员5") for h in headers)
    member_keys = [c.key for c in columns.COLUMNS if c.key.startswith("g3_")]
    assert member_keys == [f"g3_{name}" for name in MEMBER_FIELDS]  # one list: registry.fields
    sheet = openpyxl.load_workbook(io.BytesIO(reports.roster_template())).active
    assert [c.value for c in next(sheet.iter_rows(max_row=1))] == headers


def test_a_four_member_no_hukou_row_imports_with_the_police_reference(world):
    user = world["a1"].operator
    job = _check(user, xlsx_bytes([_no_hukou_family(world.school_a1)]))
    assert job.new_rows == 1, rows_of(job)[2]["problems"]
    job = _import(user, job)
    assert job.imported_rows == 1, job.refused
    pupil = Pupil.objects.get(name="周小安")
    members = {g.order: g for g in pupil.guardians.all()}
    assert sorted(members) == [1, 2, 3, 4]
    father, mother, grandfather, grandmother = (members[n] for n in (1, 2, 3, 4))
    assert (father.vital, father.police_reference, father.police_date) == (
        Guardian.Vital.MISSING, "穗公失证〔2023〕017号", dt.date(2023, 5, 6))
    assert mother.is_first_guardian and mother.hukou_division_id == "440106" and mother.phone == "13800138000"
    assert (grandfather.phone, grandfather.hukou_division_id) == ("020-87654321", "440106")
    assert grandmother.vital == Guardian.Vital.DECEASED
    assert pupil.hukou_division_id == "440106"  # follows the first guardian

    content, _name, count = exporting.roster_export(user=user, filters=exporting.RosterFilter(school=world.school_a1.code))
    again = _check(user, content)
    assert (again.unchanged_rows, again.new_rows, again.refused_rows) == (count, 0, 0), again.refused


def test_both_parents_gone_and_a_grandparent_as_legal_guardian_comes_by_roster(world):
    """Father missing (police-confirmed), mother deceased: member 3, the grandfather, is the
    legal guardian and first guardian."""
    row = _no_hukou_family(
        world.school_a1, g2_vital="已故", g2_is_guardian="否", g2_phone="", g2_hukou_division_code="",
        g3_is_guardian="是", g4_name="", g4_relation="", g4_id_type="", g4_is_guardian="", g4_vital="")
    job = _check(world["a1"].operator, xlsx_bytes([row]))
    assert job.new_rows == 1, rows_of(job)[2]["problems"]
    _import(world["a1"].operator, job)
    grandfather = Pupil.objects.get(name="周小安").guardians.get(order=3)
    assert grandfather.is_first_guardian and grandfather.hukou_division_id == "440106"
    assert Pupil.objects.get(name="周小安").guardians.get(order=2).vital == Guardian.Vital.DECEASED


def test_a_missing_parent_without_the_police_reference_is_refused_at_its_column(world):
    row = rows_of(_check(world["a1"].operator, xlsx_bytes([_no_hukou_family(world.school_a1, g1_police_reference="")])))[2]
    assert ("guardian_missing_police_reference", "家庭成员1公安机关证明编号") in {
        (p["code"], p["column"]) for p in row["problems"]}


@pytest.mark.parametrize(
    ("overrides", "code", "column"),
    [
        ({"g3_phone": "电话找村委"}, "invalid_phone", "家庭成员3联系电话"),
        ({"g3_vital": "失踪"}, "guardian_missing_police_reference", "家庭成员3公安机关证明编号"),
        ({"g3_vital": "失踪", "g3_police_reference": "X1", "g3_police_date": "去年"}, "bad_date", "家庭成员3公安机关证明日期"),
        ({"g3_vital": "出国"}, "guardian_vital_unknown", "家庭成员3状况"),
        ({"g3_hukou_division_code": "火星"}, "unknown_division", "家庭成员3户籍所在地"),
        ({"g3_relation": "邻居"}, "unknown_code", "家庭成员3关系"),
        ({"g3_id_number": "4.40106195806061e+17"}, "id_number_as_number", "家庭成员3身份证件号"),
        ({"g3_name": ""}, "required", "家庭成员3姓名"),
    ],
)
def test_a_refusal_on_member_3_names_member_3s_column(world, overrides, code, column):
    row = rows_of(_check(world["a1"].operator, xlsx_bytes([_no_hukou_family(world.school_a1, **overrides)])))[2]
    assert (code, column) in {(p["code"], p["column"]) for p in row["problems"]}, row["problems"]
    assert {p["column"] for p in row["problems"]} <= set(columns.HEADERS)


def test_a_member_after_an_empty_one_is_refused_at_its_own_column(world):
    """Members 1, 2 and 4 filled, 3 left empty: member 4's bad phone is at 家庭成员4's column."""
    row = _no_hukou_family(world.school_a1, g3_name="", g3_relation="", g3_id_type="", g3_id_number="",
                           g3_is_guardian="", g3_phone="", g3_hukou_division_code="", g4_phone="无")
    checked = rows_of(_check(world["a1"].operator, xlsx_bytes([row])))[2]
    assert ("invalid_phone", "家庭成员4联系电话") in {(p["code"], p["column"]) for p in checked["problems"]}


def test_a_family_rule_names_a_column_the_template_has(world):
    """No mother at all: a rule of the family as a whole points at the members' columns."""
    row = rows_of(_check(world["a1"].operator, xlsx_bytes([_no_hukou_family(
        world.school_a1, g2_name="", g2_relation="", g2_id_type="", g2_id_number="", g2_is_guardian="",
        g2_phone="", g2_hukou_division_code="")])))[2]
    assert "nohukou_mother_required" in codes_of(row)
    assert {p["column"] for p in row["problems"]} <= set(columns.HEADERS), row["problems"]


#: The columns of the two-member template (before members' phone, 状况, police reference and
#: date and 户籍所在地), as schools still hold it.
_OLD_MEMBER_FIELDS = ("name", "relation", "id_type", "id_number", "is_guardian", "relation_note", "ethnicity",
                      "employer", "address", "job_title")
OLD_COLUMNS = [c for c in FILE_COLUMNS
               if c.key not in columns.MEMBER_KEYS or c.key[:3] in ("g1_", "g2_") and c.key[3:] in _OLD_MEMBER_FIELDS]


def test_a_file_of_the_two_member_template_still_reads(world):
    user = world["a1"].operator
    assert not any(c.key.startswith(("g3_", "g4_")) for c in OLD_COLUMNS)
    rows = [roster_row(world.school_a1, seq=51),
            with_mother(roster_row(world.school_a1, name="周无证", seq=52, id_type="其他", id_number=""))]
    job = _check(user, xlsx_bytes(rows, headers=[c.header for c in OLD_COLUMNS], columns=OLD_COLUMNS))
    assert job.new_rows == 2, job.refused
    job = _import(user, job)
    assert job.imported_rows == 2, job.refused
    pupil = Pupil.objects.get(name="周无证")
    father, mother = pupil.guardians.order_by("order")
    assert (father.vital, father.phone, father.police_reference) == (Guardian.Vital.ALIVE, "", "")
    assert father.hukou_division_id == "440106"  # a no-hukou pupil's first guardian: the pupil's column


def test_an_old_file_of_pupils_with_more_members_is_unchanged(world):
    """A pupil with four members and phones, re-imported from a file of the two-member
    template: the absent columns say nothing of the record, the row is 无变化."""
    user = world["a1"].operator
    family = _no_hukou_family(world.school_a1)
    row = with_mother(roster_row(world.school_a1, name="周小安", seq=53), seq=53)
    row.update({k: v for k, v in family.items() if k.startswith(("g3_", "g4_"))}, g1_phone="13900139000")
    _import(user, _check(user, xlsx_bytes([row])))
    assert Pupil.objects.get(name="周小安").guardians.count() == 4
    content, _name, count = exporting.roster_export(user=user, filters=exporting.RosterFilter(school=world.school_a1.code))
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    lines = [[cell.value for cell in line] for line in sheet.iter_rows()]
    keep = [i for i, header in enumerate(lines[0]) if header in {c.header for c in OLD_COLUMNS}]
    workbook = openpyxl.Workbook()
    for line in lines:
        workbook.active.append([line[i] for i in keep])
    buffer = io.BytesIO()
    workbook.save(buffer)
    again = _check(user, buffer.getvalue())
    assert (again.unchanged_rows, again.refused_rows) == (count, 0), again.refused
