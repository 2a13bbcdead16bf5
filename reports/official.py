"""Comparison with 教育事业统计 (the yearly education statistics): a county uploads its official
figures — a line per school, a 男 and a 女 column per grade, on the registry's template — and
sees per school, and per school and grade, the registry's count of pupils 在读, the official
count and the difference, furthest apart first; the province sees the same per county.

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
#: The columns before the grade columns: one line per school.
HEADERS = (_("学校标识码"), _("学校名称"))
GRADES = range(1, 13)
BOYS, GIRLS = "1", "2"


def grade_header(grade: int, sex: str) -> str:
    """The template's column of one grade's boys or girls, e.g. 3年级男."""
    return (gettext("%(grade)s年级男") if sex == BOYS else gettext("%(grade)s年级女")) % {"grade": grade}


def _grade_columns() -> dict[str, tuple[int, str]]:
    return {grade_header(g, sex): (g, sex) for g in GRADES for sex in (BOYS, GIRLS)}


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
    """The county's template: a line per school, a 男 and a 女 column per grade of the county's
    schools; the cells of grades a school does not have are grey (left empty)."""
    from openpyxl.styles import PatternFill

    county = _county_of(user)
    schools = list(restrict(School.objects.filter(county_id=county), user).order_by("code"))
    grades = sorted({g for school in schools for g in school.grades}) or list(GRADES)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = gettext("教育事业统计")
    sheet.append([str(h) for h in HEADERS] + [grade_header(g, sex) for g in grades for sex in (BOYS, GIRLS)])
    grey = PatternFill("solid", fgColor="D9D9D9")
    for number, school in enumerate(schools, start=2):
        sheet.append([school.code, school.name])
        for index, grade in enumerate(grades):
            if grade not in school.grades:
                for offset in (0, 1):
                    sheet.cell(row=number, column=3 + 2 * index + offset).fill = grey
    sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width = 14, 30
    sheet.freeze_panes = "C2"
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


def _read_header(header: list[str]) -> dict[int, tuple[int, str]]:
    """``{column index: (grade, sex)}`` of the grade columns; refuses any other header."""
    cells = [c.strip() for c in header]
    while cells and not cells[-1]:
        cells.pop()
    known = _grade_columns()
    if cells[:2] != [str(h) for h in HEADERS] or len(cells) < 3:
        raise ValidationFailed(
            gettext("表头应为：学校标识码、学校名称，然后每个年级的男、女两列，如“%(example)s”（请使用本系统提供的模板）")
            % {"example": f"{grade_header(1, BOYS)}、{grade_header(1, GIRLS)}"},
            code="official_header_invalid", field="file")
    columns: dict[int, tuple[int, str]] = {}
    for index, cell in enumerate(cells[2:], start=2):
        if cell not in known or known[cell] in columns.values():
            raise ValidationFailed(
                gettext("第 %(column)s 列的表头“%(header)s”不是年级列（如“%(example)s”），或已出现过")
                % {"column": index + 1, "header": cell[:20], "example": grade_header(1, BOYS)},
                code="official_header_invalid", field="file")
        columns[index] = known[cell]
    pairs = {(g, sex) for g, sex in columns.values()}
    for grade, sex in sorted(pairs):
        other = GIRLS if sex == BOYS else BOYS
        if (grade, other) not in pairs:
            raise ValidationFailed(gettext("缺少“%(header)s”列") % {"header": grade_header(grade, other)},
                                   code="official_header_invalid", field="file")
    return columns


def _school_lines(school: School, cells: dict[tuple[int, str], str], headers: dict[tuple[int, str], str],
                  number: int, errors: list) -> list[_Line]:
    """The figures of one school's line: a grade with both cells empty is not reported."""
    lines = []
    for grade in sorted({g for g, _sex in cells}):
        boys_text, girls_text = cells[(grade, BOYS)], cells[(grade, GIRLS)]
        if not boys_text and not girls_text:
            continue
        if grade not in school.grades:
            if boys_text in ("", "0") and girls_text in ("", "0"):
                continue  # a zero where the school has no such grade says nothing wrong
            errors.append(_row_error(number, headers[(grade, BOYS)], "official_grade_invalid",
                                     gettext("第 %(line)s 行：%(school)s 没有%(grade)s年级，该年级应留空")
                                     % {"line": number, "school": school.name, "grade": grade}))
            continue
        boys = _count(boys_text, number, headers[(grade, BOYS)], errors)
        girls = _count(girls_text, number, headers[(grade, GIRLS)], errors)
        if boys is not None and girls is not None:
            lines.append(_Line(school.pk, grade, boys, girls))
    return lines


def check_rows(rows: list[list[str]], *, county: str) -> tuple[list[_Line], list[dict]]:
    """The good figures and every bad cell (line numbers as in the file, 1 = the header;
    ``field``: the column's header)."""
    errors: list[dict] = []
    if not rows:
        raise ValidationFailed(gettext("文件中没有数据行"), code="official_empty", field="file")
    columns = _read_header(rows[0])
    headers = {key: grade_header(*key) for key in columns.values()}
    if len(rows) - 1 > MAX_ROWS:
        raise ValidationFailed(gettext("行数超过 %(max)s 行") % {"max": MAX_ROWS}, code="official_too_many_rows",
                               field="file")
    schools = {s.code: s for s in School.objects.filter(code__in={(r[0] if r else "").strip() for r in rows[1:]})}
    seen: dict[int, int] = {}
    lines: list[_Line] = []
    for number, row in enumerate(rows[1:], start=2):
        cell = [(row[i] if i < len(row) else "").strip() for i in range(max(columns) + 1)]
        if not any(cell):
            continue
        code = cell[0]
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
        if school.pk in seen:
            errors.append(_row_error(number, str(HEADERS[0]), "official_row_duplicate",
                                     gettext("第 %(line)s 行与第 %(first)s 行重复（同一学校）")
                                     % {"line": number, "first": seen[school.pk]}))
            continue
        seen[school.pk] = number
        lines += _school_lines(school, {key: cell[index] for index, key in columns.items()}, headers, number, errors)
    if not lines and not errors:
        raise ValidationFailed(gettext("文件中没有数据行"), code="official_empty", field="file")
    return lines, errors


def upload_content(upload) -> bytes:
    """The bytes of an uploaded file (the page's or the API's), refused before reading when
    missing or too large."""
    if upload is None:
        raise ValidationFailed(gettext("请选择要上传的文件（xlsx 或 CSV）"), code="file_required", field="file")
    if upload.size > MAX_BYTES:
        raise ValidationFailed(gettext("文件太大，不超过 %(max)s MB") % {"max": MAX_BYTES // 2**20},
                               code="file_too_large", field="file")
    return upload.read()


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


def _comparison_rows(labels: dict, registry: dict, official: dict) -> list[list]:
    """A row per key: its label cells, registry, official, difference, boys' and girls'
    differences (``None``: not in the upload), furthest apart first."""
    rows = []
    for key in set(registry) | set(official):
        rb, rg = registry.get(key, (0, 0))
        label = labels.get(key) or [str(key)]
        if key in official:
            ob, og = official[key]
            rows.append([*label, rb + rg, ob + og, rb + rg - ob - og, rb - ob, rg - og])
        else:
            rows.append([*label, rb + rg, None, None, None, None])
    at = len(next(iter(labels.values()), [None]))  # where the difference is: after the labels and 2 counts
    return sorted(rows, key=lambda r: (r[at + 2] is not None, abs(r[at + 2] or 0), r[at], r[:at]), reverse=True)


COLUMNS = (_("学籍系统在读"), _("教育事业统计"), _("差额"), _("男生差额"), _("女生差额"))


@dataclass
class CountyComparison:
    """A county's comparison: per school, and per school and grade."""

    latest: OfficialReturn | None
    schools: Table
    grades: Table

    @property
    def tables(self) -> list[Table]:
        return [self.schools, self.grades]


def county_comparison(user, county: str, school_year: int) -> CountyComparison:
    """Per school of ``county``, and per school and grade: registry vs official, furthest apart first."""
    scope = scope_of(user)
    if scope is None or not scope.covers_code(county):
        raise NotFound(gettext("未找到该单位，或不在您的管理范围内"), code="unit_not_found", field="county")
    official = latest_return(user, county, school_year)
    by_grade: dict[tuple[int, int], tuple[int, int]] = {}
    if official is not None:
        by_grade = {(r["school_id"], r["grade"]): (r["boys"], r["girls"])
                    for r in official.figures.values("school_id", "grade", "boys", "girls")}
    by_school: dict[int, tuple[int, int]] = {}
    for (school, _grade), (boys, girls) in by_grade.items():
        b, g = by_school.get(school, (0, 0))
        by_school[school] = (b + boys, g + girls)
    registry = (restrict(Pupil.objects.filter(status=PupilStatus.ENROLLED), user).filter(county_code=county)
                .values("school_id", "grade").annotate(boys=Count("id", filter=Q(sex="1")),
                                                       girls=Count("id", filter=Q(sex="2"))).order_by())
    registry_grades = {(r["school_id"], r["grade"]): (r["boys"], r["girls"]) for r in registry}
    registry_schools: dict[int, tuple[int, int]] = {}
    for (school, _grade), (boys, girls) in registry_grades.items():
        b, g = registry_schools.get(school, (0, 0))
        registry_schools[school] = (b + boys, g + girls)
    names = dict(School.objects.filter(pk__in=set(registry_schools) | set(by_school)).values_list("pk", "name"))
    title = {"year": school_year}
    schools = Table("official_schools", gettext("学籍系统与教育事业统计对比（%(year)s 学年，按学校）") % title,
                    [_("学校"), *COLUMNS],
                    _comparison_rows({k: [names.get(k, k)] for k in set(registry_schools) | set(by_school)},
                                     registry_schools, by_school) if official else [], chart=None)
    keys = set(registry_grades) | set(by_grade)
    grades = Table("official_grades", gettext("学籍系统与教育事业统计对比（%(year)s 学年，按学校和年级）") % title,
                   [_("学校"), _("年级"), *COLUMNS],
                   _comparison_rows({k: [names.get(k[0], k[0]), k[1]] for k in keys}, registry_grades, by_grade)
                   if official else [], chart=None)
    return CountyComparison(official, schools, grades)


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
    names = {code: [table.get(code, (code,))[0]] for code in set(registry) | set(figures)}
    return Table("official_counties", gettext("学籍系统与教育事业统计对比（%(year)s 学年，按区县）") % {"year": school_year},
                 [_("区县"), *COLUMNS], _comparison_rows(names, registry, figures), chart=None)
