"""Statistics API: ``GET /api/v1/statistics`` — the tables of the 统计 page for a unit, read
through the same scope function; errors are ``{code, message, field}``."""

from __future__ import annotations

from typing import Any

from ninja import File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from accounts.permissions import membership_of
from reports import official, statistics, units
from reports.views import as_of, parse_period

router = Router(tags=["statistics"])


class StatisticsFilter(Schema):
    unit: str = ""
    date_from: str = ""
    date_to: str = ""


class TableOut(Schema):
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    links: list[str | None] | None = None
    chart: str | None = None


class StatisticsUnitOut(Schema):
    key: str
    level: str
    name: str
    crumbs: list[list[str]]


class StatisticsOut(Schema):
    unit: StatisticsUnitOut
    as_of: str | None
    period: dict[str, str]
    tables: list[TableOut]


def _unit_out(unit: units.StatUnit) -> StatisticsUnitOut:
    return StatisticsUnitOut(key=unit.key, level=unit.level, name=unit.name, crumbs=[list(c) for c in unit.crumbs])


@router.get("/statistics", response=StatisticsOut, summary="统计：一个单位的学生、完整性、业务和流向统计表")
def statistics_get(request, filters: Query[StatisticsFilter]):
    """The tables of the unit ``unit`` (``d:<区划代码>``, ``s:<学校标识码>``, ``c:<班级 id>``; empty:
    the caller's own unit); a unit outside the caller's scope is 404 ``unit_not_found``.
    ``date_from`` / ``date_to`` (YYYY-MM-DD) bound the transfer-flow matrix (default: the last
    365 days). ``as_of`` is when the counts were taken (``null``: counted live); each table's
    ``links`` are the drill-down keys of its rows."""
    unit = units.unit_for(request.user, filters.unit)
    start, end = parse_period(filters.date_from, filters.date_to, fields=("date_from", "date_to"))
    tables = statistics.dashboard(request.user, unit, start=start, end=end)
    taken = as_of(unit)
    return StatisticsOut(unit=_unit_out(unit), as_of=taken.isoformat() if taken else None,
                         period={"from": start.isoformat(), "to": end.isoformat()},
                         tables=[TableOut(**t.as_dict()) for t in tables])


class ComparisonFilter(Schema):
    school_year: int | None = None


class ComparisonOut(Schema):
    school_year: int
    uploaded_at: str | None = None
    table: TableOut
    #: A county's comparison per school and grade (``null`` for a city or the province).
    grades: TableOut | None = None


@router.get("/statistics/official", response=ComparisonOut, summary="与教育事业统计的对比")
def official_comparison(request, filters: Query[ComparisonFilter]):
    """A county: per school, the registry's pupils 在读 against its latest uploaded 教育事业统计
    figures for ``school_year`` (default: the school year under way) and the difference,
    furthest apart first (``null``: the school is not in the upload). A city or province: the
    same per county. A school: 403 ``province_or_city_only``."""
    year = official.check_year(filters.school_year)
    membership = membership_of(request.user)
    if membership is not None and membership.level == "county":
        comparison = official.county_comparison(request.user, membership.division_id, year)
        latest = comparison.latest
        return ComparisonOut(school_year=year, uploaded_at=latest.uploaded_at.isoformat() if latest else None,
                             table=TableOut(**comparison.schools.as_dict()),
                             grades=TableOut(**comparison.grades.as_dict()))
    table = official.province_comparison(request.user, year)
    return ComparisonOut(school_year=year, table=TableOut(**table.as_dict()))


class OfficialUploadIn(Schema):
    school_year: int | None = None


class OfficialReturnOut(Schema):
    id: int
    county: str
    school_year: int
    file_name: str
    row_count: int
    uploaded_at: str


@router.post("/statistics/official", response={201: OfficialReturnOut}, summary="上传教育事业统计数据")
def official_upload(request, form: Form[OfficialUploadIn], file: UploadedFile = File(...)):
    """A county uploads its 教育事业统计 figures for ``school_year`` (default: the school year
    under way) as multipart ``file``: xlsx or CSV on the template of
    ``/statistics/official/template.xlsx`` (a line per school, ``N年级男`` / ``N年级女`` columns),
    judged by its bytes. A file with any bad cell is refused whole: 422
    ``official_rows_invalid`` with every error in ``details`` as ``{row, field, code,
    message}`` (``field``: the column's header; codes ``official_school_unknown``,
    ``official_school_foreign``, ``official_row_duplicate``, ``official_grade_invalid``,
    ``official_count_invalid``). A wrong header is 422 ``official_header_invalid``, a file that
    is not a spreadsheet 422 with the file's code, a school or city user 403."""
    row = official.official_upload(user=request.user, content=official.upload_content(file),
                                   file_name=file.name or "", school_year=form.school_year)
    return Status(201, OfficialReturnOut(id=row.pk, county=row.county_id, school_year=row.school_year,
                                         file_name=row.file_name, row_count=row.row_count,
                                         uploaded_at=row.uploaded_at.isoformat()))
