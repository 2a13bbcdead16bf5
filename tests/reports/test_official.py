"""教育事业统计: the county's template (a line per school, 男/女 columns per grade), its upload
(judged by bytes, every bad cell named, all or nothing; by the page and the API), the
comparison per school, per school and grade and per county, tenancy and the audited export."""

from __future__ import annotations

import io

import openpyxl
import pytest

from kernel.errors import ValidationFailed
from reports import official
from reports.models import OfficialFigure, OfficialReturn, ReportExport
from tests.factories import make_pupil

pytestmark = pytest.mark.django_db


def _xlsx(rows) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


HEADER = ["学校标识码", "学校名称", "3年级男", "3年级女", "7年级男", "7年级女"]


def line(school, name="", **grades) -> list:
    """A school's line under HEADER: ``g3=(boys, girls)``, ``g7=(boys, girls)``; others empty."""
    cells = [school.code if hasattr(school, "code") else school, name]
    for grade in ("g3", "g7"):
        cells += list(grades.get(grade, (None, None)))
    return cells


def _upload(client, content, name="统计.xlsx", year=2026):
    return client.post("/statistics/official/", {"school_year": year,
                                                 "file": _file(content, name)})


def _file(content, name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def test_template_lists_the_countys_schools_and_grades(world, login):
    response = login(world["county_a"].operator).get("/statistics/official/template.xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    # a primary school (1–6) and a junior school (7–9): a 男 and a 女 column for grades 1 to 9
    assert list(rows[0]) == ["学校标识码", "学校名称"] + [f"{g}年级{s}" for g in range(1, 10) for s in "男女"]
    assert [r[0] for r in rows[1:]] == sorted([world.school_a1.code, world.school_a2.code])
    a2 = next(n for n, r in enumerate(rows, start=1) if r[0] == world.school_a2.code)
    grey = {c.column for c in sheet[a2] if c.fill.fgColor.rgb.endswith("D9D9D9")}
    assert grey == set(range(3, 15))  # grades 1–6 are not the junior school's


def test_template_and_upload_are_for_counties(world, login):
    assert login(world["a1"].operator).get("/statistics/official/template.xlsx").status_code == 403
    response = _upload(login(world["a1"].operator), _xlsx([HEADER]))
    assert response.status_code == 403


def test_upload_then_comparison_furthest_apart_first(world, login):
    make_pupil(world.school_a2, name="初一", grade=7, sex="1")
    client = login(world["county_a"].operator)
    content = _xlsx([HEADER, line(world.school_a1, "天河第一小学", g3=(0, 1)),
                     line(world.school_a2, "天河第二中学", g7=(5, 4))])
    response = _upload(client, content)
    assert response.status_code == 302
    figures = OfficialFigure.objects.filter(official_return__county_id="440106")
    assert sorted(figures.values_list("grade", "boys", "girls")) == [(3, 0, 1), (7, 5, 4)]
    comparison = official.county_comparison(world["county_a"].operator, "440106", 2026)
    assert comparison.schools.rows == [["天河第二中学", 1, 9, -8, -4, -4], ["天河第一小学", 1, 1, 0, 0, 0]]
    assert comparison.grades.rows == [["天河第二中学", 7, 1, 9, -8, -4, -4], ["天河第一小学", 3, 1, 1, 0, 0, 0]]
    page = client.get("/statistics/official/", {"school_year": 2026}).content.decode()
    assert page.index("天河第二中学") < page.index("天河第一小学")
    assert 'data-testid="table-official_grades"' in page


def test_the_comparison_per_grade_shows_what_the_school_total_hides(world):
    """Two grades off in opposite directions: the school's total agrees, its grades do not."""
    make_pupil(world.school_a2, name="初一甲", grade=7, sex="1")
    make_pupil(world.school_a2, name="初一乙", grade=7, sex="1")
    user = world["county_a"].operator
    content = _xlsx([["学校标识码", "学校名称", "7年级男", "7年级女", "8年级男", "8年级女"],
                     [world.school_a2.code, "", 0, 0, 2, 0]])
    official.official_upload(user=user, school_year=2026, content=content)
    comparison = official.county_comparison(user, "440106", 2026)
    school = next(r for r in comparison.schools.rows if r[0] == "天河第二中学")
    assert school[1:4] == [2, 2, 0]
    grades = {r[1]: r[2:5] for r in comparison.grades.rows if r[0] == "天河第二中学"}
    assert grades == {7: [2, 0, 2], 8: [0, 2, -2]}


def test_a_bad_file_is_refused_whole_with_every_row_named(world, login):
    client = login(world["county_a"].operator)
    content = _xlsx([HEADER,
                     line(world.school_a1, "天河第一小学", g3=(10, 9)),       # good
                     line("4401069999", "不存在", g3=(1, 1)),                 # unknown school
                     line(world.school_b1, "海珠第一小学", g3=(1, 1)),         # another county's school
                     line(world.school_a2, "天河第二中学", g3=(1, 1), g7=(-1, "x")),  # no grade 3; bad counts
                     line(world.school_a1, "天河第一小学", g3=(2, 2))])        # duplicate of line 2
    response = _upload(client, content)
    assert response.status_code == 422
    page = response.content.decode()
    assert 'data-code="official_rows_invalid"' in page
    for code in ("official_school_unknown", "official_school_foreign", "official_grade_invalid",
                 "official_count_invalid", "official_row_duplicate"):
        assert f'data-code="{code}"' in page
    assert "第 6 行与第 2 行重复" in page
    assert not OfficialReturn.objects.exists()
    with pytest.raises(ValidationFailed) as refused:
        official.official_upload(user=world["county_a"].operator, content=content, school_year=2026)
    errors = [(e["row"], e["field"], e["code"]) for e in refused.value.details]
    assert errors == [(3, "学校标识码", "official_school_unknown"), (4, "学校标识码", "official_school_foreign"),
                      (5, "3年级男", "official_grade_invalid"), (5, "7年级男", "official_count_invalid"),
                      (5, "7年级女", "official_count_invalid"), (6, "学校标识码", "official_row_duplicate")]
    half = _xlsx([HEADER, line(world.school_a2, g7=(4, None))])  # a grade's 女 left empty
    assert [e["code"] for e in _refusal(world, half).details] == ["official_count_invalid"]
    # zeros where the school has no such grade are no error; they are not figures either
    official.official_upload(user=world["county_a"].operator, school_year=2026,
                             content=_xlsx([HEADER, line(world.school_a2, g3=(0, 0), g7=(4, 0))]))
    assert list(OfficialFigure.objects.values_list("grade", "boys", "girls")) == [(7, 4, 0)]


def _refusal(world, content) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as refused:
        official.official_upload(user=world["county_a"].operator, content=content, school_year=2026)
    return refused.value


def test_file_judged_by_its_bytes(world, login):
    client = login(world["county_a"].operator)
    response = _upload(client, b"\x89PNG\r\n\x1a\n not a sheet", name="统计.xlsx")
    assert response.status_code == 422
    assert not OfficialReturn.objects.exists()
    csv = "学校标识码,学校名称,3年级男,3年级女\n4401060001,天河第一小学,1,0\n".encode("gbk")
    assert _upload(client, csv, name="统计.txt").status_code == 302
    assert OfficialReturn.objects.get().row_count == 1


def test_wrong_header_and_empty_file(world, login):
    client = login(world["county_a"].operator)
    for header in (["学校", "年级"], ["学校标识码", "学校名称", "年级", "男", "女"],  # the old long layout
                   ["学校标识码", "学校名称", "3年级男"],  # 女 missing
                   ["学校标识码", "学校名称", "3年级男", "3年级女", "3年级男"]):  # twice
        response = _upload(client, _xlsx([header, ["x", 1]]))
        assert 'data-code="official_header_invalid"' in response.content.decode(), header
    response = _upload(client, _xlsx([HEADER]))
    assert 'data-code="official_empty"' in response.content.decode()


def test_province_sees_the_comparison_per_county(world, login):
    official.official_upload(user=world["county_a"].operator, school_year=2026,
                             content=_xlsx([HEADER, line(world.school_a1, "天河第一小学", g3=(3, 3))]))
    official.official_upload(user=world["other_county"].operator, school_year=2026,
                             content=_xlsx([HEADER, line(world.school_x, "江岸实验小学", g3=(9, 9))]))
    table = official.province_comparison(world["province"].operator, 2026)
    assert table.rows[0] == ["天河区", 1, 6, -5, -3, -2]
    assert ["海珠区", 1, None, None, None, None] in table.rows
    assert not any(r[0] == "江岸区" for r in table.rows)  # another province's county


def test_a_later_upload_replaces_the_compared_figures(world):
    user = world["county_a"].operator
    official.official_upload(user=user, school_year=2026, content=_xlsx([HEADER, line(world.school_a1, g3=(3, 3))]))
    official.official_upload(user=user, school_year=2026, content=_xlsx([HEADER, line(world.school_a1, g3=(0, 1))]))
    assert official.county_comparison(user, "440106", 2026).schools.rows[0][2] == 1
    assert OfficialReturn.objects.count() == 2


def test_county_cannot_see_another_countys_comparison(world):
    from kernel.errors import NotFound

    with pytest.raises(NotFound):
        official.county_comparison(world["county_b"].operator, "440106", 2026)


def test_comparison_export_is_audited(world, login):
    client = login(world["county_a"].operator)
    assert client.get("/statistics/official/", {"school_year": 2026, "export": "official_schools"})[
        "Content-Type"].startswith("text/html")
    assert not ReportExport.objects.exists()
    response = client.post("/statistics/official/export/", {"school_year": 2026})
    assert response.status_code == 200
    export = ReportExport.objects.get()
    assert (export.report, export.filters) == ("official_schools", {"unit": "d:440106", "school_year": 2026})


def test_the_grade_table_exports_too(world, login):
    client = login(world["county_a"].operator)
    response = client.post("/statistics/official/export/", {"school_year": 2026, "export": "official_grades"})
    assert response.status_code == 200
    assert ReportExport.objects.get().report == "official_grades"
