"""A statistics table as xlsx, with the filter it shows written above it; every export is
recorded (``ReportExport``: who, which unit, which table, which filter, how many rows)."""

from __future__ import annotations

import io
import logging
from typing import Any

import openpyxl
from django.utils import timezone
from django.utils.translation import gettext

from accounts.permissions import membership_of
from reports.models import ReportExport
from reports.statistics import Table
from reports.units import StatUnit

logger = logging.getLogger("reports")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_CHARS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Text starting like a formula gets a leading apostrophe: no formula runs in Excel."""
    if isinstance(value, str) and value and value[0] in FORMULA_CHARS:
        return "'" + value
    return value


def table_workbook(table: Table, filter_lines: list[tuple[str, str]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = gettext("统计")
    sheet.append([_cell(str(table.title))])
    for label, value in filter_lines:
        sheet.append([_cell(str(label)), _cell(str(value))])
    sheet.append([])
    sheet.append([_cell(str(c)) for c in table.columns])
    for row in table.rows:
        sheet.append([_cell(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _unit_of(user) -> tuple[Any, str, str]:
    membership = membership_of(user)
    if membership is None:
        return None, "", ""
    if membership.school_id:
        return membership.school, membership.school.county_id, membership.school.code
    return None, membership.division_id, membership.division_id


def report_export(*, user, unit: StatUnit, table: Table, filters: dict, filter_lines: list[tuple[str, str]],
                  request_id: str = "") -> tuple[bytes, str]:
    """The table as xlsx bytes and its file name; logs the audit row."""
    content = table_workbook(table, filter_lines)
    school, scope_code, unit_code = _unit_of(user)
    ReportExport.objects.create(
        actor=user if user.is_authenticated else None, actor_name=user.get_username(), unit_code=unit_code,
        school=school, scope_code=scope_code, report=table.key, filters={"unit": unit.key, **filters},
        row_count=len(table.rows), request_id=request_id,
    )
    logger.info("statistics export user=%s unit=%s table=%s rows=%s", user.get_username(), unit.key, table.key,
                len(table.rows))
    name = f"{gettext('统计')}_{unit.name}_{table.key}_{timezone.localdate():%Y%m%d}.xlsx"
    return content, name
