"""统计 pages: a unit's dashboard with its drill-down and the xlsx export of each table (recorded,
so a POST)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote, urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import membership_of, recorded_read
from kernel.errors import NotFound, RegistryError, ValidationFailed
from reports import exporting, official, snapshot, statistics, units


def error_page(request, exc: RegistryError):
    return render(request, "registry/error.html", {"error": exc}, status=exc.status)


def download(content: bytes, file_name: str, content_type: str = exporting.XLSX_TYPE) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(file_name)}"
    return response


def parse_date(value: str | None, field: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` date from a query parameter (empty: none), or the reason it is not one."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 2100:
        raise ValidationFailed(gettext("日期格式应为 YYYY-MM-DD（2000–2100 年）：%(value)s") % {"value": value[:20]},
                               code="invalid_date", field=field)
    return day


def parse_period(start: str | None, end: str | None, *, fields=("from", "to")) -> tuple[dt.date, dt.date]:
    start_day, end_day = statistics.flow_period(parse_date(start, fields[0]), parse_date(end, fields[1]))
    if start_day > end_day:
        raise ValidationFailed(gettext("起始日期晚于截止日期"), code="period_reversed", field=fields[0])
    return start_day, end_day


def as_of(unit: units.StatUnit):
    """When the figures were counted: the snapshot's time, or ``None`` for live counts."""
    return snapshot.latest().taken_at if statistics.uses_snapshot(unit) else None


@login_required
@require_GET
def statistics_page(request):
    """统计: the tables and charts of a unit (the user's own, or one below it)."""
    try:
        unit = units.unit_for(request.user, request.GET.get("unit", ""))
        start, end = parse_period(request.GET.get("from"), request.GET.get("to"))
    except RegistryError as exc:
        return error_page(request, exc)
    tables = statistics.dashboard(request.user, unit, start=start, end=end)
    period = {"from": start.isoformat(), "to": end.isoformat()}
    query = {"unit": unit.key, **period}
    return render(request, "reports/statistics.html", {
        "unit": unit,
        "tables": tables,
        "charts": [t.as_dict() for t in tables if t.chart],
        "period": period,
        "query": urlencode(query),
        "period_query": urlencode(period),
        "as_of": as_of(unit),
        "level_label": units.LEVEL_LABELS[unit.level],
    })


@login_required
@require_POST
@recorded_read
def statistics_export(request):
    """导出 Excel of one table of the dashboard (recorded, so a POST: ``unit``, ``from``, ``to``, ``export``)."""
    try:
        unit = units.unit_for(request.user, request.POST.get("unit", ""))
        start, end = parse_period(request.POST.get("from"), request.POST.get("to"))
    except RegistryError as exc:
        return error_page(request, exc)
    wanted = request.POST.get("export", "")
    table = next((t for t in statistics.dashboard(request.user, unit, start=start, end=end) if t.key == wanted), None)
    if table is None:
        return error_page(request, NotFound(gettext("没有这张统计表：%(key)s") % {"key": wanted[:32]},
                                            code="report_not_found", field="export"))
    filter_lines = [(gettext("单位"), unit.name), (gettext("统计时间"), _as_of_text(unit))]
    if table.key == "flows":
        filter_lines.append((gettext("期间"), f"{start} — {end}"))
    content, name = exporting.report_export(
        user=request.user, unit=unit, table=table,
        filters={"from": start.isoformat(), "to": end.isoformat()} if table.key == "flows" else {},
        filter_lines=filter_lines, request_id=getattr(request, "request_id", ""))
    return download(content, name)


def _as_of_text(unit) -> str:
    taken = as_of(unit)
    return timezone.localtime(taken).strftime("%Y-%m-%d %H:%M") if taken else gettext("实时")


# --- 教育事业统计 comparison -------------------------------------------------------------

def _school_year(request) -> int:
    value = (request.GET.get("school_year") or request.POST.get("school_year") or "").strip()
    if not value:
        return official.statistics_year()
    if not value.isdigit() or not 2000 <= int(value) <= 2100:
        raise ValidationFailed(gettext("学年应为 2000–2100 之间的起始年份"), code="invalid_school_year",
                               field="school_year")
    return int(value)


@login_required
@require_http_methods(["GET", "POST"])
def official_page(request):
    """A county: template, upload, per-school comparison. A city or province: per county."""
    membership = membership_of(request.user)
    error = None
    try:
        year = _school_year(request)
    except RegistryError as exc:
        return error_page(request, exc)
    if request.method == "POST":
        try:
            upload = request.FILES.get("file")
            official.official_upload(user=request.user, content=official.upload_content(upload),
                                     file_name=upload.name, school_year=year)
            return redirect(f"{reverse('reports:official')}?school_year={year}")
        except RegistryError as exc:
            error = exc
    is_county = membership is not None and membership.level == "county"
    try:
        if is_county:
            comparison = official.county_comparison(request.user, membership.division_id, year)
            latest, tables = comparison.latest, comparison.tables
        else:
            latest, tables = None, [official.province_comparison(request.user, year)]
    except RegistryError as exc:
        return error_page(request, exc)
    return render(request, "reports/official.html", {
        "tables": tables, "latest": latest, "year": year, "is_county": is_county, "error": error,
    }, status=error.status if error else 200)


@login_required
@require_POST
@recorded_read
def official_export(request):
    """导出 Excel of the comparison with 教育事业统计 (recorded, so a POST with ``school_year``)."""
    membership = membership_of(request.user)
    try:
        year = _school_year(request)
        if membership is not None and membership.level == "county":
            tables = official.county_comparison(request.user, membership.division_id, year).tables
        else:
            tables = [official.province_comparison(request.user, year)]
    except RegistryError as exc:
        return error_page(request, exc)
    wanted = request.POST.get("export")
    table = next((t for t in tables if t.key == wanted), tables[0])
    content, name = exporting.report_export(
        user=request.user, unit=units.unit_for(request.user), table=table, filters={"school_year": year},
        filter_lines=[(gettext("学年"), str(year))], request_id=getattr(request, "request_id", ""))
    return download(content, name)


@login_required
@require_GET
def official_template(request):
    try:
        content, name = official.template_workbook(request.user)
    except RegistryError as exc:
        return error_page(request, exc)
    return download(content, name)
