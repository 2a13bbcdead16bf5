"""Rosters as registrars type them: 是否 columns take 是/否/Y/N/1/0, coded columns the code, the
standard name or a common short name (one synonym table per code table, ``registry.synonyms``);
the row is accepted and the report says what each value was read as. Names follow the one
name rule."""

from __future__ import annotations

import pytest

from registry import codes
from rosters import jobs, reports
from tests.rosters.test_support import (  # noqa: F401
    csv_bytes,
    fast_passwords,
    roster_media,
    roster_row,
    rows_of,
    xlsx_bytes,
)

pytestmark = pytest.mark.usefixtures("fast_passwords", "roster_media")


def _row(world, *, as_csv: bool = False, **overrides) -> dict:
    row = roster_row(world.school_a1, seq=5)
    row.update(overrides)
    content = csv_bytes([row]) if as_csv else xlsx_bytes([row])
    job = jobs.roster_check(job_id=jobs.roster_upload(user=world["a1"].operator, content=content,
                                                      file_name="r.csv" if as_csv else "r.xlsx").pk)
    return job, rows_of(job)[2]


def test_everyday_names_are_accepted_and_reported_as_read(world):
    job, row = _row(world, hukou_nature="非农业", left_behind="否", migrant="N", ethnicity="汉", only_child="Y",
                    school_bus="0", g1_relation="爸爸")
    assert row["outcome"] == "new", row["problems"]
    read = {r["column"]: r["message"] for r in row["read_as"]}
    assert read["户口性质"] == "户口性质“非农业”读作“非农业户口”"
    assert read["是否留守儿童"] == "是否留守儿童“否”读作“非留守儿童”"
    assert read["民族"] == "民族“汉”读作“汉族”"
    assert "家庭成员1关系" in read
    lines = reports.report_lines(job)
    assert any(line[7] == "read_as" and "非农业户口" in line[8] for line in lines)


@pytest.mark.parametrize("value", ["是", "否", "Y", "N", "y", "n", "1", "0"])
def test_every_yes_no_column_takes_the_usual_spellings(world, value):
    _job, row = _row(world, only_child=value, migrant=value, g1_is_guardian=value if value not in ("0", "否", "N",
                                                                                                   "n") else "是")
    assert row["outcome"] == "new", row["problems"]


def test_an_ambiguous_answer_stays_refused(world):
    _job, row = _row(world, left_behind="是")  # 单亲 or 双亲?
    assert row["outcome"] == "refused" and row["problems"][0]["code"] == "unknown_code"


def test_a_code_or_the_standard_name_is_not_reported_as_a_synonym(world):
    _job, row = _row(world, hukou_nature="非农业户口", ethnicity="01")
    assert row["outcome"] == "new" and row["read_as"] == []


def test_the_synonyms_live_in_one_table_per_code_table(world):
    from registry.synonyms import SYNONYMS

    codes.clear_cache()
    for table, synonyms in SYNONYMS.items():
        known = codes.table(table)
        assert known, table
        assert set(synonyms.values()) <= set(known), table  # every synonym names a real code


@pytest.mark.parametrize(("name", "code"), [('=HYPERLINK("http://x","许")', "invalid_name"),
                                            ("+SUM(1,2)", "invalid_name"), ("张" * 51, "too_long")])
def test_a_bad_name_is_refused_in_the_dry_run(world, name, code):
    _job, row = _row(world, name=name, as_csv=True)  # in an xlsx a formula cell has no text to check
    assert row["outcome"] == "refused" and row["problems"][0]["code"] == code
