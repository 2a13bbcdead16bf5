"""Builders for roster files used by the roster tests (no tests here)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl

from rosters.columns import COLUMNS, REGISTRATION_COLUMNS
from tests.factories import resident_id


def roster_row(school, *, name="赵小明", sex="男", birth=dt.date(2016, 4, 4), seq=None, **overrides) -> dict:
    """A valid roster row (by column key) for ``school``; ``overrides`` replace columns."""
    sex_code = "1" if sex in ("男", "1") else "2"
    row = {
        "school_code": school.code,
        "name": name,
        "former_name": "",
        "sex": sex,
        "birth_date": birth.isoformat(),
        "id_type": "居民身份证",
        "id_number": resident_id(birth, sex_code, seq=seq),
        "ethnicity": "汉族",
        "nationality": "中国",
        "hmt": "否",
        "hukou_division": "440106",
        "hukou_nature": "非农业户口",
        "grade": "3",
        "class_number": "2",
        "enrolled_on": "2022-09-01",
        "boarding": "走读",
        "health": "健康或良好",
        "left_behind": "非留守儿童",
        "migrant": "否",
        "g1_name": name[0] + "大明",
        "g1_relation": "父亲",
        "g1_id_type": "居民身份证",
        "g1_id_number": resident_id(dt.date(1985, 2, 2), "1", seq=(seq or 7) + 300),
        "g1_is_guardian": "是",
        "g2_name": "",
        "g2_relation": "",
        "g2_id_type": "",
        "g2_id_number": "",
        "g2_is_guardian": "",
        # Grade 3 is not an entry grade: a new pupil's row states its source and reason.
        "source": "其他",
        "source_reason": "插班注册",
    }
    row.update(overrides)
    return row


def with_mother(row: dict, *, seq: int = 9) -> dict:
    """Add the mother as family member 2 (a pupil without an ID needs both parents)."""
    row.update(g2_name="林母", g2_relation="母亲", g2_id_type="居民身份证",
               g2_id_number=resident_id(dt.date(1987, 3, 3), "2", seq=seq + 600), g2_is_guardian="是")
    return row


#: The template's columns and the registration's optional 学生来源 and 注册原因.
FILE_COLUMNS = [*COLUMNS, *REGISTRATION_COLUMNS]
FILE_HEADERS = [c.header for c in FILE_COLUMNS]


def _lines(rows: list[dict], columns=None) -> list[list]:
    return [[row.get(c.key, "") for c in columns or FILE_COLUMNS] for row in rows]


def xlsx_bytes(rows: list[dict], *, headers: list[str] | None = None, columns=None) -> bytes:
    """An xlsx of ``rows``; ``columns`` (with their ``headers``) for a file of fewer columns."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers or FILE_HEADERS)
    for line in _lines(rows, columns):
        sheet.append(line)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[dict], *, encoding: str = "utf-8", headers: list[str] | None = None) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers or FILE_HEADERS)
    writer.writerows(_lines(rows))
    return text.getvalue().encode(encoding)


def rows_of(job) -> dict[int, dict]:
    """The job's row report by Excel row number."""
    from rosters.jobs import load_rows

    return {row["row"]: row for row in load_rows(job)}


def codes_of(row: dict) -> set[str]:
    return {p["code"] for p in row["problems"]}


import pytest  # noqa: E402


@pytest.fixture
def fast_passwords(settings):
    """The world has ~30 users: hash their passwords cheaply in these tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def roster_media(settings, tmp_path):
    """Uploaded rosters and row reports go to a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
