"""Comparison with 教育事业统计 (the yearly education statistics): a county uploads its official
figures — per school and grade, boys and girls, on the registry's template — and sees per
school the registry's count of pupils 在读, the official count and the difference, the schools
furthest apart first; the province sees the same per county.

An upload is judged by its bytes (``kernel.spreadsheets``); a file with any bad row is refused
whole, every bad row named with its line, column and code; a good file replaces nothing: the
latest upload of a county and school year is the one compared, earlier ones stay recorded.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import openpyxl
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.permissions import SUBMITTERS, membership_of, require_county_user
from accounts.scope import restrict, scope_of
from kernel.errors import Forbidden, NotFound, ValidationFailed
from kernel.spreadsheets import read_table
from provinces import divisions
from registry.models import Pupil, PupilStatus
from reports import snapshot
from reports.models import OfficialFigure, OfficialReturn, PupilCount
from reports.statistics import Table
from schools.models import School

MAX_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
MAX_ROWS = 20_000
HEADERS = (_("学校标识码"), _("学校名称"), _("年级"), _("男"), _("女"))


def statistics_year(today: dt.date | None = None) -> int:
    """The school year (by its first calendar year) the figures of ``today`` belong to: a school
    year starts in September, when 教育事业统计 counts its pupils."""
    today = today or timezone.localdate()
    return today.year if today.month >= 9 else today.year - 1


def check_year(school_year: int | None) -> int:
    year = school_year or statistics_year()
    if not 2000 <= year <= 2100:
        raise ValidationFailed(gettext("学年应为 2000–2100 之间的起始年份"), code="invalid_school_year",
                               field="school_year")
    return year


def _county_of(user) -> str:
    membership = require_county_user(user, *SUBMITTERS, "admin",
                                     message=_("教育事业统计数据由区县教育行政部门上传"))
    return membership.division_id


def template_workbook(user) -> tuple[bytes, str]:
    """The county's template: a line per school and grade of its stage, 男 and 女 to fill in."""
    county = _county_of(user)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = gettext("教育事业统计")
    sheet.append([str(h) for h in HEADERS])
    for school in restrict(School.objects.filter(county_id=county), user).order_by("code"):
        for grade in school.grades:
            sheet.append([school.code, school.name, grade, None, None])
    for column, width in zip("ABCDE", (14, 30, 6, 8, 8)):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), f"{gettext('教育事业统计模板')}_{county}.xlsx"


def _row_error(line: int, column: str, code: str, message) -> dict:
    return {"row": line, "field": column, "code": code, "message": str(message)}


@dataclass
class _Line:
    school_id: int
    grade: int
    boys: int
    girls: int


def _count(value: str, line: int, column, errors: list) -> int | None:
    if not value.isdigit() or len(value) > 7:
        errors.append(_row_error(line, str(column), "official_count_invalid",
                                 gettext("第 %(line)s 行“%(column)s”应为不小于 0 的整数：%(value)s")
                                 % {"line": line, "column": column, "value": value[:20] or gettext("（空）")}))
        return None
    return int(value)


def check_rows(rows: list[list[str]], *, county: str) -> tuple[list[_Line], list[dict]]:
    """The good lines and every bad one (line numbers as in the file, 1 = the header)."""
    errors: list[dict] = []
    if not rows or [c.strip() for c in rows[0][:5]] != [str(h) for h in HEADERS]:
        raise ValidationFailed(
            gettext("表头应为：%(headers)s（请使用本系统提供的模板）") % {"headers": "、".join(str(h) for h in HEADERS)},
            code="official_header_invalid", field="file")
    if len(rows) - 1 > MAX_ROWS:
        raise ValidationFailed(gettext("行数超过 %(max)s 行") % {"max": MAX_ROWS}, code="official_too_many_rows",
                               field="file")
    schools = {s.code: s for s in School.objects.filter(code__in={(r[0] if r else "").strip() for r in rows[1:]})}
    seen: dict[tuple[int, int], int] = {}
    lines: list[_Line] = []
    for number, row in enumerate(rows[1:], start=2):
        cells = [(row[i] if i < len(row) else "").strip() for i in range(5)]
        if not any(cells):
            continue
        code, _name, grade_text, boys_text, girls_text = cells
        school = schools.get(code)
        if school is None:
            errors.append(_row_error(number, str(HEADERS[0]), "official_school_unknown",
                                     gettext("第 %(line)s 行：没有学校标识码为 %(code)s 的学校")
                                     % {"line": number, "code": code[:20] or gettext("（空）")}))
            continue
        if school.county_id != county:
            errors.append(_row_error(number, str(HEADERS[0]), "official_school_foreign",
                                     gettext("第 %(line)s 行：%(school)s 不属于本区县")
                                     % {"line": number, "school": school.name}))
            continue
        grade = int(grade_text) if grade_text.isdigit() and len(grade_text) <= 2 else None
        if grade is None or grade not in school.grades:
            errors.append(_row_error(number, str(HEADERS[2]), "official_grade_invalid",
                                     gettext("第 %(line)s 行：%(school)s 没有年级“%(grade)s”")
                                     % {"line": number, "school": school.name, "grade": grade_text[:10]}))
            continue
        boys = _count(boys_text, number, HEADERS[3], errors)
        girls = _count(girls_text, number, HEADERS[4], errors)
        if boys is None or girls is None:
            continue
        if (school.pk, grade) in seen:
            errors.append(_row_error(number, str(HEADERS[2]), "official_row_duplicate",
                                     gettext("第 %(line)s 行与第 %(first)s 行重复（同一学校、同一年级）")
                                     % {"line": number, "first": seen[(school.pk, grade)]}))
            continue
        seen[(school.pk, grade)] = number
        lines.append(_Line(school.pk, grade, boys, girls))
    if not lines and not errors:
        raise ValidationFailed(gettext("文件中没有数据行"), code="official_empty", field="file")
    return lines, errors


def official_upload(*, user, content: bytes, file_name: str = "", school_year: int | None = None) -> OfficialReturn:
    """Record a county's official figures; refuses the whole file when any row is bad."""
    county = _county_of(user)
    year = check_year(school_year)
    _format, rows = read_table(content, max_bytes=MAX_BYTES, max_unpacked_bytes=MAX_UNPACKED_BYTES,
                               what=_("教育事业统计文件"))
    lines, errors = check_rows(rows, county=county)
    if errors:
        raise ValidationFailed(
            gettext("文件中有 %(count)s 处错误，未导入任何数据；请改正后重新上传") % {"count": len(errors)},
            code="official_rows_invalid", field="file", details=errors)
    with transaction.atomic():
        official = OfficialReturn.objects.create(
            county_id=county, school_year=year, file_name=file_name[:200], uploaded_by=user,
            uploaded_by_name=user.get_username(), row_count=len(lines))
        OfficialFigure.objects.bulk_create(
            OfficialFigure(official_return=official, school_id=line.school_id, grade=line.grade, boys=line.boys,
                           girls=line.girls) for line in lines)
    return official


def latest_return(user, county: str, school_year: int) -> OfficialReturn | None:
    return (restrict(OfficialReturn.objects.filter(county_id=county, school_year=school_year), user)
            .order_by("-uploaded_at", "-pk").first())


def _registry_counts(user, group: str, unit_q: Q, *, from_snapshot: bool = False) -> dict:
    """``{group value: (boys, girls)}`` of the pupils 在读, through the scope: counted live, or
    summed from the pupil-count snapshot (a province's counties)."""
    if from_snapshot:
        rows = (restrict(PupilCount.objects.filter(status=PupilStatus.ENROLLED, school__isnull=True), user).filter(unit_q)
                .values(group).annotate(boys=Sum("n", filter=Q(sex="1"), default=0),
                                        girls=Sum("n", filter=Q(sex="2"), default=0)).order_by())
    else:
        rows = (restrict(Pupil.objects.filter(status=PupilStatus.ENROLLED), user).filter(unit_q)
                .values(group).annotate(boys=Count("id", filter=Q(sex="1")), girls=Count("id", filter=Q(sex="2")))
                .order_by())
    return {r[group]: (r["boys"], r["girls"]) for r in rows}


def _comparison_rows(names: dict, registry: dict, official: dict) -> list[list]:
    keys = set(registry) | set(official)
    rows = []
    for key in keys:
        rb, rg = registry.get(key, (0, 0))
        if key in official:
            ob, og = official[key]
            rows.append([names.get(key, str(key)), rb + rg, ob + og, rb + rg - ob - og, rb - ob, rg - og])
        else:
            rows.append([names.get(key, str(key)), rb + rg, None, None, None, None])
    return sorted(rows, key=lambda r: (r[3] is not None, abs(r[3] or 0), r[1]), reverse=True)


COLUMNS = (_("学籍系统在读"), _("教育事业统计"), _("差额"), _("男生差额"), _("女生差额"))


def county_comparison(user, county: str, school_year: int) -> tuple[OfficialReturn | None, Table]:
    """Per school of ``county``: registry vs official, furthest apart first."""
    scope = scope_of(user)
    if scope is None or not scope.covers_code(county):
        raise NotFound(gettext("未找到该单位，或不在您的管理范围内"), code="unit_not_found", field="county")
    official = latest_return(user, county, school_year)
    figures = {}
    if official is not None:
        figures = {r["school_id"]: (r["b"], r["g"]) for r in official.figures.values("school_id")
                   .annotate(b=Sum("boys"), g=Sum("girls")).order_by()}
    registry = _registry_counts(user, "school_id", Q(county_code=county))
    names = dict(School.objects.filter(pk__in=set(registry) | set(figures)).values_list("pk", "name"))
    table = Table("official_schools", gettext("学籍系统与教育事业统计对比（%(year)s 学年，按学校）") % {"year": school_year},
                  [_("学校"), *COLUMNS], _comparison_rows(names, registry, figures) if official else [], chart=None)
    return official, table


def province_comparison(user, school_year: int) -> Table:
    """Per county of the user's province or city: registry vs its latest official upload."""
    membership = membership_of(user)
    scope = scope_of(user)
    if membership is None or scope is None or scope.is_school or len(scope.prefix or "") == 6:
        raise Forbidden(gettext("按区县的对比由地市或省级教育行政部门查看"), code="province_or_city_only")
    returns = {}
    for official in restrict(OfficialReturn.objects.filter(school_year=school_year), user).order_by(
            "county_id", "-uploaded_at", "-pk"):
        returns.setdefault(official.county_id, official.pk)
    figures = {r["official_return__county_id"]: (r["b"], r["g"]) for r in
               OfficialFigure.objects.filter(official_return_id__in=returns.values())
               .values("official_return__county_id").annotate(b=Sum("boys"), g=Sum("girls")).order_by()}
    registry = _registry_counts(user, "county_code", Q(), from_snapshot=snapshot.latest() is not None)
    table = divisions.division_table()
    names = {code: table.get(code, (code,))[0] for code in set(registry) | set(figures)}
    return Table("official_counties", gettext("学籍系统与教育事业统计对比（%(year)s 学年，按区县）") % {"year": school_year},
                 [_("区县"), *COLUMNS], _comparison_rows(names, registry, figures), chart=None)
