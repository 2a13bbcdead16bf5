"""Statistics API: ``GET /api/v1/statistics`` — the tables of the 统计 page for a unit, read
through the same scope function; errors are ``{code, message, field}``."""

from __future__ import annotations

from typing import Any

from ninja import Query, Router, Schema

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


@router.get("/statistics/official", response=ComparisonOut, summary="与教育事业统计的对比")
def official_comparison(request, filters: Query[ComparisonFilter]):
    """A county: per school, the registry's pupils 在读 against its latest uploaded 教育事业统计
    figures for ``school_year`` (default: the school year under way) and the difference,
    furthest apart first (``null``: the school is not in the upload). A city or province: the
    same per county. A school: 403 ``province_or_city_only``."""
    year = official.check_year(filters.school_year)
    membership = membership_of(request.user)
    latest = None
    if membership is not None and membership.level == "county":
        latest, table = official.county_comparison(request.user, membership.division_id, year)
    else:
        table = official.province_comparison(request.user, year)
    return ComparisonOut(school_year=year, uploaded_at=latest.uploaded_at.isoformat() if latest else None,
                         table=TableOut(**table.as_dict()))
