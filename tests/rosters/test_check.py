"""The dry run (预检): each refusal reason of a row, with its row, column, code and message."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from registry.models import Pupil
from rosters import columns, exporting, jobs
from rosters.models import RosterImport
from tests.factories import resident_id
from tests.rosters.test_support import (  # noqa: F401
    codes_of,
    csv_bytes,
    fast_passwords,
    roster_media,
    roster_row,
    rows_of,
    with_mother,
    xlsx_bytes,
)

pytestmark = pytest.mark.usefixtures("fast_passwords", "roster_media")


def _check(user, content: bytes, **kwargs) -> RosterImport:
    job = jobs.roster_upload(user=user, content=content, file_name="roster.xlsx", **kwargs)
    return jobs.roster_check(job_id=job.pk)


def _one(world, user=None, **overrides) -> dict:
    row = roster_row(world.school_a1, seq=1)
    row.update(overrides)
    job = _check(user or world["a1"].operator, xlsx_bytes([row]))
    assert job.status == RosterImport.Status.CHECKED, job.error
    return rows_of(job)[2]


def test_valid_rows_are_new_and_nothing_is_written(world):
    before = Pupil.objects.count()
    job = _check(world["a1"].operator, xlsx_bytes([roster_row(world.school_a1, seq=1),
                                                    roster_row(world.school_a1, name="钱小红", sex="女", seq=2)]))
    assert job.status == RosterImport.Status.CHECKED
    assert (job.total_rows, job.new_rows, job.refused_rows) == (2, 2, 0)
    assert Pupil.objects.count() == before
    assert {r["outcome"] for r in rows_of(job).values()} == {"new"}


def test_codes_may_be_given_as_codes_or_names(world):
    row = _one(world, sex="1", ethnicity="01", id_type="1", hmt="00", boarding="1", health="10",
               left_behind="0", migrant="0", nationality="CHN", g1_relation="51", g1_id_type="1")
    assert row["outcome"] == "new", row["problems"]


@pytest.mark.parametrize("text", ["2016-04-04", "2016/4/4", "20160404", "2016年4月4日", "2016.4.4"])
def test_date_spellings(world, text):
    row = _one(world, birth_date=text)
    assert row["outcome"] == "new", row["problems"]


def test_wrong_check_char_is_refused_naming_the_column(world):
    good = resident_id(dt.date(2016, 4, 4), "1", seq=1)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    row = _one(world, id_number=bad)
    assert row["outcome"] == "refused"
    [p] = row["problems"]
    assert (p["code"], p["column"]) == ("id_check_char", "身份证件号")


def test_birth_date_and_sex_must_agree_with_the_id(world):
    row = _one(world, birth_date="2016-04-05", sex="女")
    assert codes_of(row) == {"id_birth_mismatch"} or codes_of(row) >= {"id_birth_mismatch"}
    columns = {p["column"] for p in row["problems"]}
    assert "出生日期" in columns


def test_sex_mismatch(world):
    row = _one(world, sex="女")
    assert codes_of(row) == {"id_sex_mismatch"}
    assert row["problems"][0]["column"] == "性别"


def test_unknown_code_is_refused(world):
    row = _one(world, ethnicity="火星族")
    assert codes_of(row) == {"unknown_code"}
    assert row["problems"][0]["column"] == "民族"


def test_missing_required_field_and_every_reason_at_once(world):
    row = _one(world, name="", enrolled_on="", ethnicity="X")
    assert {("required", "姓名"), ("required", "入学年月"), ("unknown_code", "民族")} <= {
        (p["code"], p["column"]) for p in row["problems"]
    }


def test_bad_date_is_refused(world):
    row = _one(world, birth_date="2016-13-40")
    assert "bad_date" in codes_of(row)


def test_school_outside_scope_is_refused(world):
    row = _one(world, school_code=world.school_b1.code)
    assert codes_of(row) == {"school_out_of_scope"}
    assert row["problems"][0]["column"] == "学校标识码"


def test_county_user_imports_for_any_school_of_its_county_only(world):
    rows = [roster_row(world.school_a1, seq=1), roster_row(world.school_a2, seq=2, grade="7"),
            roster_row(world.school_b1, seq=3)]
    job = _check(world["county_a"].operator, xlsx_bytes(rows))
    report = rows_of(job)
    assert report[2]["outcome"] == report[3]["outcome"] == "new"
    assert codes_of(report[4]) == {"school_out_of_scope"}


def test_same_id_twice_in_file_refuses_both(world):
    first = roster_row(world.school_a1, seq=1)
    second = roster_row(world.school_a1, name="赵小明", seq=1)
    job = _check(world["a1"].operator, xlsx_bytes([first, roster_row(world.school_a1, name="孙丽", seq=5), second]))
    report = rows_of(job)
    assert codes_of(report[2]) == codes_of(report[4]) == {"duplicate_in_file"}
    assert "4" in report[2]["problems"][0]["message"]
    assert report[3]["outcome"] == "new"


@pytest.mark.parametrize("status", ["graduated", "completed"])
def test_a_graduate_s_id_is_refused_on_its_row_as_for_registration(world, status):
    from registry.models import Pupil

    holder = world.pupils["b1"]
    Pupil.objects.filter(pk=holder.pk).update(status=status)
    row = _one(world, id_number=holder.id_number, name="王伟", sex="男", birth_date=holder.birth_date.isoformat())
    assert codes_of(row) == {"graduate_use_progression"}
    assert "升学接收" in row["problems"][0]["message"]


def test_id_active_elsewhere_names_the_holder(world):
    holder = world.pupils["b1"]
    row = _one(world, id_number=holder.id_number, name="王伟", sex="男", birth_date=holder.birth_date.isoformat())
    assert codes_of(row) == {"id_number_active_elsewhere"}
    assert holder.national_number not in json.dumps(row, ensure_ascii=False)
    assert "海珠第一小学" in row["problems"][0]["message"]


def test_existing_pupil_of_the_school_that_differs_is_refused_naming_columns(world):
    pupil = world.pupils["a1"]
    row = _one(world, name="李娜", sex="女", birth_date=pupil.birth_date.isoformat(), id_number=pupil.id_number)
    assert codes_of(row) == {"differs_from_existing"}
    assert pupil.national_number in row["problems"][0]["message"]


def test_no_id_pupil_needs_type_other(world):
    row = _one(world, id_number="", id_type="居民身份证", **with_mother({}))
    assert codes_of(row) == {"id_number_required"}
    row = _one(world, id_number="", id_type="其他", **with_mother({}))
    assert row["outcome"] == "new", row["problems"]


def test_id_number_saved_as_number_by_excel_is_refused(world):
    row = _one(world, id_number="4.40106201604041e+17")
    assert "id_number_as_number" in codes_of(row)


def test_guardian_problems_name_the_member_column(world):
    row = _one(world, g1_id_number="110101198501011230", g1_relation="舅舅")
    columns = {(p["code"], p["column"]) for p in row["problems"]}
    assert ("unknown_code", "家庭成员1关系") in columns
    assert any(c == "家庭成员1身份证件号" for _code, c in columns)


def test_nohukou_guardian_rules_are_reported(world, monkeypatch):
    from kernel.errors import ValidationFailed
    from registry import nohukou

    def rule(data):
        if not data.id_number:
            return [ValidationFailed("无户籍学生须登记父母双方身份信息", code="nohukou_parents_required",
                                     field="guardians")]
        return []

    monkeypatch.setattr(nohukou, "guardian_rule_problems", rule)
    row = _one(world, id_number="", id_type="其他")
    assert codes_of(row) == {"nohukou_parents_required"}
    assert row["problems"][0]["column"] == "家庭成员1姓名"  # a column the template has


def test_likely_duplicate_is_refused_unless_kept(world):
    """李娜 is registered at 天河第一小学; a row for 李纳 (a pinyin slip) with the same birth
    date and father at another school is the same child entered again."""
    existing = world.pupils["a1"]
    father_id = existing.guardians.get().id_number
    row = roster_row(world.school_a2, name="李纳", sex="女", birth=existing.birth_date, seq=61,
                     g1_id_number=father_id, grade="7")
    job = _check(world["a2"].operator, xlsx_bytes([row]))
    checked = rows_of(job)[2]
    assert codes_of(checked) == {"likely_duplicate"}
    assert "天河第一小学" in checked["problems"][0]["message"]
    assert existing.national_number not in json.dumps(checked, ensure_ascii=False)  # the minimal card
    job = _check(world["a2"].operator, xlsx_bytes([row]), keep_likely_duplicates=True)
    assert rows_of(job)[2]["outcome"] == "new"


def test_unchanged_row_is_recognised(world):
    pupil = world.pupils["a1"]
    line = exporting.pupil_cells(pupil)
    job = _check(world["a1"].operator, xlsx_bytes([dict(zip([c.key for c in columns.COLUMNS], line))]))
    row = rows_of(job)[2]
    assert row["outcome"] == "unchanged", row["problems"]
    assert row["national_number"] == pupil.national_number


# --- the file as a whole ------------------------------------------------------------------

def test_gbk_csv(world):
    job = _check(world["a1"].operator, csv_bytes([roster_row(world.school_a1, seq=1)], encoding="gbk"))
    assert job.file_format == "csv"
    assert rows_of(job)[2]["name"] == "赵小明"
    assert job.new_rows == 1


def test_utf8_bom_csv(world):
    job = _check(world["a1"].operator, csv_bytes([roster_row(world.school_a1, seq=1)], encoding="utf-8-sig"))
    assert job.new_rows == 1, job.refused


def test_english_headers_are_accepted(world):
    headers = [c.aliases[0] for c in [*columns.COLUMNS, *columns.REGISTRATION_COLUMNS]]
    job = _check(world["a1"].operator, csv_bytes([roster_row(world.school_a1, seq=1)], headers=headers))
    assert job.new_rows == 1, job.refused


def test_excel_date_cells(world):
    content = xlsx_bytes([roster_row(world.school_a1, seq=1, birth_date=dt.date(2016, 4, 4),
                                     enrolled_on=dt.datetime(2022, 9, 1))])
    job = _check(world["a1"].operator, content)
    assert job.new_rows == 1, job.refused


def test_missing_column_fails_the_file(world):
    headers = [h for h in columns.HEADERS if h != "出生日期"]
    job = _check(world["a1"].operator, csv_bytes([], headers=headers) + b"x\n")
    assert job.status == RosterImport.Status.FAILED
    assert job.error["code"] == "missing_column"
    assert "出生日期" in job.error["message"]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "file_empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "file_xls_legacy"),
        (b"%PDF-1.4 ...", "file_format"),
    ],
)
def test_upload_is_judged_by_its_bytes(world, content, code):
    from kernel.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        jobs.roster_upload(user=world["a1"].operator, content=content, file_name="roster.xlsx")
    assert refused.value.code == code


def test_a_zip_that_is_not_a_workbook_is_refused(world):
    import io
    import zipfile

    from kernel.errors import ValidationFailed

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "hello")
    with pytest.raises(ValidationFailed) as refused:
        jobs.roster_upload(user=world["a1"].operator, content=buffer.getvalue(), file_name="roster.xlsx")
    assert refused.value.code == "file_format"


def test_approver_may_not_import(world):
    from kernel.errors import Forbidden

    with pytest.raises(Forbidden):
        jobs.roster_upload(user=world["a1"].approver, content=csv_bytes([]), file_name="r.csv")
