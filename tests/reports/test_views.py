"""The 统计 page: drill-down links, tenancy (a unit outside the scope is a 404), the audited
xlsx export of each table with the filter it shows."""

from __future__ import annotations

import io

import openpyxl
import pytest

from reports.models import ReportExport

pytestmark = pytest.mark.django_db


def test_county_page_lists_its_schools_with_links(world, login):
    response = login(world["county_a"].operator).get("/statistics/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "天河第一小学" in page and "海珠第一小学" not in page
    assert f'data-unit="s:{world.school_a1.code}"' in page
    assert 'id="chart-data"' in page and "<script>" not in page  # data block, no inline script


def test_drill_down_from_province_to_a_class(world, login):
    client = login(world["province"].operator)
    for key in ("d:4401", "d:440106", f"s:{world.school_a1.code}"):
        assert client.get("/statistics/", {"unit": key}).status_code == 200
    class_id = world.pupils["a1"].school_class_id
    response = client.get("/statistics/", {"unit": f"c:{class_id}"})
    assert response.status_code == 200
    assert "天河第一小学" in response.content.decode()  # in the breadcrumbs


@pytest.mark.parametrize("user_key, unit_key", [
    ("county_a", "d:440105"),          # the neighbour county
    ("county_a", "d:4401"),            # its own city, above it
    ("county_a", "s:4401050001"),      # a school of the neighbour county
    ("a1", "s:4401060002"),            # another school of its county
    ("a1", "d:440106"),                # a school user asks for its county
    ("city", "d:42"),                  # another province
    ("province", "s:4201020001"),      # a school of another province
    ("county_a", "d:999999"),          # no such division
    ("county_a", "x:1"),               # not a key at all
])
def test_a_unit_outside_the_scope_is_not_found(world, login, user_key, unit_key):
    response = login(world[user_key].operator).get("/statistics/", {"unit": unit_key})
    assert response.status_code == 404
    assert "不在您的管理范围内" in response.content.decode()


def test_a_class_of_another_school_is_not_found(world, login):
    class_id = world.pupils["b1"].school_class_id
    assert login(world["a1"].operator).get("/statistics/", {"unit": f"c:{class_id}"}).status_code == 404
    assert login(world["county_a"].operator).get("/statistics/", {"unit": f"c:{class_id}"}).status_code == 404


def test_bad_dates_are_refused_with_the_field(world, login):
    client = login(world["county_a"].operator)
    response = client.get("/statistics/", {"from": "2026-13-01"})
    assert response.status_code == 422
    assert 'data-code="invalid_date"' in response.content.decode()
    response = client.get("/statistics/", {"from": "2026-05-01", "to": "2026-01-01"})
    assert response.status_code == 422
    assert 'data-code="period_reversed"' in response.content.decode()


def test_export_writes_the_table_with_its_filter_and_is_audited(world, login):
    client = login(world["county_a"].operator)
    response = client.post("/statistics/export/", {"unit": "d:440106", "export": "children"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = [[c for c in row if c is not None] for row in sheet.iter_rows(values_only=True)]
    assert values[1] == ["单位", "天河区"]
    assert ["天河第一小学", 1, 0, 1, "0.0%", "0.0%", 0, 0] in values
    assert not any("海珠" in str(v) for row in values for v in row)
    export = ReportExport.objects.get()
    assert (export.actor, export.report, export.unit_code, export.row_count) == (
        world["county_a"].operator, "children", "440106", 1)
    assert export.filters == {"unit": "d:440106"}


def test_flow_export_keeps_the_period(world, login):
    client = login(world["city"].operator)
    response = client.post("/statistics/export/", {"export": "flows", "from": "2026-01-01", "to": "2026-06-30"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert ("期间", "2026-01-01 — 2026-06-30") in [tuple(r[:2]) for r in rows]
    assert ReportExport.objects.get().filters == {"unit": "d:4401", "from": "2026-01-01", "to": "2026-06-30"}


def test_export_of_a_foreign_unit_is_refused_and_not_recorded(world, login):
    response = login(world["county_b"].operator).post("/statistics/export/", {"unit": "d:440106", "export": "children"})
    assert response.status_code == 404
    assert not ReportExport.objects.exists()


def test_unknown_table_is_not_found(world, login):
    response = login(world["county_a"].operator).post("/statistics/export/", {"export": "nope"})
    assert response.status_code == 404
    assert not ReportExport.objects.exists()


def test_the_old_export_get_shows_the_page_and_records_nothing(world, login):
    response = login(world["county_a"].operator).get("/statistics/", {"unit": "d:440106", "export": "children"})
    text = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert 'action="/statistics/export/"' in text and 'name="export" value="children"' in text
    assert not ReportExport.objects.exists()
    assert login(world["county_a"].operator).get("/statistics/export/").status_code == 405


def test_a_viewer_exports_a_table(world, login):
    from tests.factories import make_user

    viewer = make_user("440106.viewer", role="viewer", division=world.county_a)
    response = login(viewer).post("/statistics/export/", {"unit": "d:440106", "export": "children"})
    assert response.status_code == 200 and ReportExport.objects.get().actor == viewer


def test_nav_has_statistics(world, login):
    assert 'href="/statistics/"' in login(world["a1"].operator).get("/").content.decode()
