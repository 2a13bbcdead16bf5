"""Roster export (花名册导出): columns, sort, text cells, formula injection, scope, audit."""

from __future__ import annotations

import io

import openpyxl
import pytest

from kernel.errors import ValidationFailed
from rosters import columns, exporting, reports
from rosters.models import RosterExport
from tests.factories import make_pupil
from tests.rosters.test_support import fast_passwords, roster_media  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords", "roster_media")


def _sheet(content: bytes):
    return openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]


def test_export_has_template_headers_sorted_by_class_then_name(world):
    school = world.school_a1
    make_pupil(school, name="张三", grade=3, class_number=2)
    make_pupil(school, name="阿明", grade=3, class_number=2)
    make_pupil(school, name="毕华", grade=3, class_number=1)
    content, name, count = exporting.roster_export(user=world["a1"].operator,
                                               filters=exporting.RosterFilter(school=school.code, grade=3))
    sheet = _sheet(content)
    lines = list(sheet.iter_rows(values_only=True))
    assert list(lines[0]) == [*columns.HEADERS, *exporting.EXPORT_HEADERS]  # 全国学籍号, 学籍状态 last
    classes = [line[13] for line in lines[1:]]
    assert classes == sorted(classes) == [1, 1, 2, 2]
    assert {line[1] for line in lines[1:] if line[13] == 2} == {"张三", "阿明"}
    assert count == 4 and name.endswith(".xlsx")


def test_id_numbers_are_text_cells(world):
    content, _n, _c = exporting.roster_export(user=world["a1"].operator,
                                          filters=exporting.RosterFilter(school=world.school_a1.code))
    sheet = _sheet(content)
    id_column = columns.HEADERS.index("身份证件号") + 1
    cell = sheet.cell(row=2, column=id_column)
    assert cell.data_type == "s" and cell.value == world.pupils["a1"].id_number
    assert cell.number_format == "@"
    assert sheet.cell(row=2, column=1).data_type == "s"


def test_formula_injection_is_neutralised(world):
    make_pupil(world.school_a1, name="=HYPERLINK(\"http://x\")", former_name="@SUM(A1)", class_number=5)
    content, _n, _c = exporting.roster_export(user=world["a1"].operator,
                                          filters=exporting.RosterFilter(school=world.school_a1.code))
    sheet = _sheet(content)
    values = [cell.value for row in sheet.iter_rows(min_row=2) for cell in row]
    assert "'=HYPERLINK(\"http://x\")" in values and "'@SUM(A1)" in values
    assert all(not (isinstance(v, str) and v[:1] in "=+-@") for v in values)
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_export_is_scoped(world):
    content, _n, count = exporting.roster_export(user=world["a1"].operator,
                                             filters=exporting.RosterFilter(school=world.school_b1.code))
    assert count == 0
    assert len(list(_sheet(content).iter_rows())) == 1
    _content, _n, count = exporting.roster_export(user=world["county_b"].operator,
                                              filters=exporting.RosterFilter(county="440105"))
    assert count == 1  # 王伟 of b1
    _content, _n, count = exporting.roster_export(user=world["county_a"].operator,
                                              filters=exporting.RosterFilter(county="440105"))
    assert count == 0


def test_export_is_audited(world):
    user = world["county_a"].operator
    exporting.roster_export(user=user, filters=exporting.RosterFilter(school=world.school_a1.code, grade=3))
    log = RosterExport.objects.get()
    assert (log.actor, log.unit_code, log.filters, log.row_count) == (
        user, "440106", {"school": world.school_a1.code, "grade": 3}, 1
    )


def test_export_needs_a_school_or_county(world):
    with pytest.raises(ValidationFailed) as refused:
        exporting.roster_export(user=world["a1"].operator, filters=exporting.RosterFilter(grade=3))
    assert refused.value.code == "filter_required"


def test_template_has_headers_and_code_tables(world):
    book = openpyxl.load_workbook(io.BytesIO(reports.roster_template()))
    assert [c.value for c in book.worksheets[0][1]] == columns.HEADERS
    codes_sheet = book.worksheets[1]
    rows = {(r[0], r[1], r[2]) for r in codes_sheet.iter_rows(min_row=2, values_only=True)}
    assert ("性别", "1", "男") in rows and ("民族", "01", "汉族") in rows
