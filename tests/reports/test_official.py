"""教育事业统计: the county's template, its upload (judged by bytes, every bad row named, all or
nothing), the per-school and per-county comparison, tenancy and the audited export."""

from __future__ import annotations

import io

import openpyxl
import pytest

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


HEADER = ["学校标识码", "学校名称", "年级", "男", "女"]


def _upload(client, content, name="统计.xlsx", year=2026):
    return client.post("/statistics/official/", {"school_year": year,
                                                 "file": _file(content, name)})


def _file(content, name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def test_template_lists_the_countys_schools_and_grades(world, login):
    response = login(world["county_a"].operator).get("/statistics/official/template.xlsx")
    assert response.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    assert {r[0] for r in rows[1:]} == {world.school_a1.code, world.school_a2.code}
    assert [r[2] for r in rows[1:] if r[0] == world.school_a2.code] == [7, 8, 9]


def test_template_and_upload_are_for_counties(world, login):
    assert login(world["a1"].operator).get("/statistics/official/template.xlsx").status_code == 403
    response = _upload(login(world["a1"].operator), _xlsx([HEADER]))
    assert response.status_code == 403


def test_upload_then_comparison_furthest_apart_first(world, login):
    make_pupil(world.school_a2, name="初一", grade=7, sex="1")
    client = login(world["county_a"].operator)
    content = _xlsx([HEADER, [world.school_a1.code, "天河第一小学", 3, 0, 1],
                     [world.school_a2.code, "天河第二中学", 7, 5, 4]])
    response = _upload(client, content)
    assert response.status_code == 302
    figures = OfficialFigure.objects.filter(official_return__county_id="440106")
    assert figures.count() == 2
    _latest, table = official.county_comparison(world["county_a"].operator, "440106", 2026)
    assert table.rows == [["天河第二中学", 1, 9, -8, -4, -4], ["天河第一小学", 1, 1, 0, 0, 0]]
    page = client.get("/statistics/official/", {"school_year": 2026}).content.decode()
    assert page.index("天河第二中学") < page.index("天河第一小学")


def test_a_bad_file_is_refused_whole_with_every_row_named(world, login):
    client = login(world["county_a"].operator)
    content = _xlsx([HEADER,
                     [world.school_a1.code, "天河第一小学", 3, 10, 9],     # good
                     ["4401069999", "不存在", 3, 1, 1],                     # unknown school
                     [world.school_b1.code, "海珠第一小学", 3, 1, 1],       # another county's school
                     [world.school_a1.code, "天河第一小学", 8, 1, 1],       # grade not in a primary school
                     [world.school_a1.code, "天河第一小学", 4, -1, "x"],    # bad counts
                     [world.school_a1.code, "天河第一小学", 3, 2, 2]])      # duplicate of line 2
    response = _upload(client, content)
    assert response.status_code == 422
    page = response.content.decode()
    assert 'data-code="official_rows_invalid"' in page
    for code in ("official_school_unknown", "official_school_foreign", "official_grade_invalid",
                 "official_count_invalid", "official_row_duplicate"):
        assert f'data-code="{code}"' in page
    assert "第 7 行与第 2 行重复" in page
    assert not OfficialReturn.objects.exists()


def test_file_judged_by_its_bytes(world, login):
    client = login(world["county_a"].operator)
    response = _upload(client, b"\x89PNG\r\n\x1a\n not a sheet", name="统计.xlsx")
    assert response.status_code == 422
    assert not OfficialReturn.objects.exists()
    csv = "学校标识码,学校名称,年级,男,女\n4401060001,天河第一小学,3,1,0\n".encode("gbk")
    assert _upload(client, csv, name="统计.txt").status_code == 302
    assert OfficialReturn.objects.get().row_count == 1


def test_wrong_header_and_empty_file(world, login):
    client = login(world["county_a"].operator)
    response = _upload(client, _xlsx([["学校", "年级"], ["x", 1]]))
    assert 'data-code="official_header_invalid"' in response.content.decode()
    response = _upload(client, _xlsx([HEADER]))
    assert 'data-code="official_empty"' in response.content.decode()


def test_province_sees_the_comparison_per_county(world, login):
    official.official_upload(user=world["county_a"].operator, school_year=2026,
                             content=_xlsx([HEADER, [world.school_a1.code, "天河第一小学", 3, 3, 3]]))
    official.official_upload(user=world["other_county"].operator, school_year=2026,
                             content=_xlsx([HEADER, [world.school_x.code, "江岸实验小学", 3, 9, 9]]))
    table = official.province_comparison(world["province"].operator, 2026)
    assert table.rows[0] == ["天河区", 1, 6, -5, -3, -2]
    assert ["海珠区", 1, None, None, None, None] in table.rows
    assert not any(r[0] == "江岸区" for r in table.rows)  # another province's county


def test_a_later_upload_replaces_the_compared_figures(world):
    user = world["county_a"].operator
    official.official_upload(user=user, school_year=2026, content=_xlsx([HEADER, [world.school_a1.code, "", 3, 3, 3]]))
    official.official_upload(user=user, school_year=2026, content=_xlsx([HEADER, [world.school_a1.code, "", 3, 0, 1]]))
    assert official.county_comparison(user, "440106", 2026)[1].rows[0][2] == 1
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
