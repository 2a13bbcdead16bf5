"""The counts of a statistics page (统计): pupils of a unit by status, stage, grade, sex, 民族,
随迁子女, 留守儿童, 就读方式 (寄宿), 无户籍; completeness; workflow; flows between counties.

Every count reads through ``accounts.scope.restrict`` and the unit's filter (``reports.units``),
and is computed by PostgreSQL: the pupil figures are one ``GROUP BY GROUPING SETS`` query (one
pass over the unit's rows for every table), the others one ``GROUP BY`` each. No per-row Python.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, F, IntegerField, Q, Sum, Value
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.scope import restrict
from duplicates.models import CaseMember, DuplicateCase
from provinces import divisions
from registry import codes
from registry.models import Pupil, PupilStatus
from registry.nohukou import no_hukou_q
from reports import snapshot
from reports.models import PupilCount
from reports.units import LEVEL_LABELS, StatUnit, child_names
from schools.models import JUNIOR, PRIMARY, SENIOR
from transfers.models import Transfer
from transfers.states import OPEN_STATES, State
from workflow import workitems

#: Records that are not pupils of the unit at all (a wrong record, a refused registration).
NOT_COUNTED = (PupilStatus.DELETED, PupilStatus.NOT_ADMITTED)
ENROLLED = PupilStatus.ENROLLED
#: How many 民族 rows a table shows before "其他".
TOP_ETHNICITIES = 8

#: The grouping columns of the one pupil query, in this order.
DIMENSIONS = ("status", "grade", "sex", "ethnicity", "migrant", "left_behind", "boarding", "no_hukou", "child")
CUBE_COLUMNS = (*DIMENSIONS, "photo", "identity", "g_number", "weight")
#: The measures, each a condition on one row (summed with the row's weight).
MEASURES = {
    "total": "TRUE",
    "enrolled": "k_status = 'enrolled'",
    "boys": "k_status = 'enrolled' AND k_sex = '1'",
    "girls": "k_status = 'enrolled' AND k_sex = '2'",
    "photos": "k_status = 'enrolled' AND k_photo",
    "identity_passed": "k_status = 'enrolled' AND k_identity = 'passed'",
    "identity_failed": "k_status = 'enrolled' AND k_identity = 'failed'",
    "g_numbers": "k_status = 'enrolled' AND k_g_number",
}


@dataclass
class Table:
    """One table of the page (and its chart, and its xlsx export)."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    links: list[str | None] = field(default_factory=list)
    chart: str | None = "bar"
    note: str = ""

    @property
    def lines(self) -> list[tuple[str | None, list[Any]]]:
        """``(drill-down key or None, row)`` for the template."""
        links = self.links or [None] * len(self.rows)
        return list(zip(links, self.rows))

    def as_dict(self) -> dict:
        return {"key": self.key, "title": str(self.title), "columns": [str(c) for c in self.columns],
                "rows": self.rows, "links": self.links or None, "chart": self.chart}


def _pupils(user, unit: StatUnit):
    return restrict(Pupil.objects.all(), user).filter(unit.pupil_q()).exclude(status__in=NOT_COUNTED)


def uses_snapshot(unit: StatUnit) -> bool:
    """Division pages read the snapshot once one exists; schools and classes count live."""
    return unit.school_id is None and snapshot.latest() is not None


def pupil_cube(user, unit: StatUnit) -> dict[str, list[dict]]:
    """``{dimension: [{value, total, enrolled, boys, …}]}`` and ``{"": [totals]}``: one query."""
    child = unit.child_expression()
    child = child if child is not None else Value(None, output_field=IntegerField())
    if uses_snapshot(unit):
        inner = snapshot.counts_for(restrict(PupilCount.objects.all(), user), unit).filter(unit.pupil_q()).annotate(
            k_status=F("status"), k_grade=F("grade"), k_sex=F("sex"), k_ethnicity=F("ethnicity"),
            k_migrant=F("migrant"), k_left_behind=F("left_behind"), k_boarding=F("boarding"),
            k_no_hukou=F("no_hukou"), k_child=child, k_photo=F("photo"), k_identity=F("identity_status"),
            k_g_number=F("g_number"), k_weight=F("n"))
    else:
        inner = _pupils(user, unit).annotate(
            k_status=F("status"), k_grade=F("grade"), k_sex=F("sex"), k_ethnicity=F("ethnicity"),
            k_migrant=F("migrant"), k_left_behind=F("left_behind"), k_boarding=F("boarding"),
            k_no_hukou=ExpressionWrapper(no_hukou_q(), output_field=BooleanField()),
            k_child=child,
            k_photo=ExpressionWrapper(~Q(photo=""), output_field=BooleanField()),
            k_identity=F("identity_status"),
            k_g_number=ExpressionWrapper(Q(national_number__startswith="G"), output_field=BooleanField()),
            k_weight=Value(1, output_field=IntegerField()),
        )
    return _cube(inner.values(*(f"k_{name}" for name in CUBE_COLUMNS)))


def _cube(inner) -> dict[str, list[dict]]:
    sql, params = inner.query.sql_with_params()
    columns = ", ".join(f"k_{d}" for d in DIMENSIONS)
    groupings = ", ".join(f"GROUPING(k_{d}) AS g_{d}" for d in DIMENSIONS)
    measures = ", ".join(f"COALESCE(SUM(k_weight) FILTER (WHERE {condition}), 0) AS m_{name}"
                         for name, condition in MEASURES.items())
    sets = ", ".join(["()", *(f"(k_{d})" for d in DIMENSIONS)])
    query = f"SELECT {columns}, {groupings}, {measures} FROM ({sql}) AS t GROUP BY GROUPING SETS ({sets})"
    result: dict[str, list[dict]] = {d: [] for d in ("", *DIMENSIONS)}
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        names = [c.name for c in cursor.description]
        for line in cursor.fetchall():
            row = dict(zip(names, line))
            grouped = [d for d in DIMENSIONS if row[f"g_{d}"] == 0]
            dimension = grouped[0] if grouped else ""
            result[dimension].append(
                {"value": row[f"k_{dimension}"] if dimension else None,
                 **{name: int(row[f"m_{name}"]) for name in MEASURES}})
    return result


def _by_value(rows: list[dict], measure: str = "enrolled") -> dict:
    return {r["value"]: r[measure] for r in rows}


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def _coded_table(key, title, rows, table_name, values=None) -> Table:
    counts = _by_value(rows)
    labels = codes.table(table_name)
    ordered = values or sorted(set(labels) | set(counts))
    total = sum(counts.values())
    return Table(key, title, [_("类别"), _("在读人数"), _("占比")],
                 [[labels.get(v, v), counts.get(v, 0), _share(counts.get(v, 0), total)] for v in ordered], chart="pie")


def pupil_tables(user, unit: StatUnit, *, problems: dict | None = None) -> list[Table]:
    """The pupil tables of a unit's page, from one cube query (plus the open-case members)."""
    cube = pupil_cube(user, unit)
    totals = cube[""][0] if cube[""] else dict.fromkeys(MEASURES, 0)
    problems = problems if problems is not None else open_case_pupils(user, unit)
    tables = []

    by_status = _by_value(cube["status"], "total")
    tables.append(Table("status", _("学籍状态"), [_("学籍状态"), _("人数")],
                        [[str(label), by_status.get(value, 0)] for value, label in PupilStatus.choices
                         if value not in NOT_COUNTED], chart="pie"))

    by_grade = _by_value(cube["grade"])
    stages = ((_("小学"), PRIMARY), (_("初中"), JUNIOR), (_("高中"), SENIOR))
    tables.append(Table("stage", _("学段"), [_("学段"), _("在读人数")],
                        [[str(label), sum(by_grade.get(g, 0) for g in grades)] for label, grades in stages],
                        chart="pie"))
    grade_rows = {r["value"]: r for r in cube["grade"]}
    tables.append(Table("grade", _("年级"), [_("年级"), _("在读人数"), _("男"), _("女")], [
        [gettext("%(grade)s年级") % {"grade": g}, grade_rows[g]["enrolled"], grade_rows[g]["boys"],
         grade_rows[g]["girls"]] for g in sorted(grade_rows) if grade_rows[g]["enrolled"]]))

    tables.append(_coded_table("sex", _("性别"), cube["sex"], "sex"))

    ethnic = sorted(((r["value"], r["enrolled"]) for r in cube["ethnicity"] if r["enrolled"]), key=lambda x: -x[1])
    labels = codes.table("ethnicity")
    total = sum(n for _v, n in ethnic)
    ethnic_rows = [[labels.get(v, v), n, _share(n, total)] for v, n in ethnic[:TOP_ETHNICITIES]]
    if len(ethnic) > TOP_ETHNICITIES:
        rest = sum(n for _v, n in ethnic[TOP_ETHNICITIES:])
        ethnic_rows.append([gettext("其他民族"), rest, _share(rest, total)])
    tables.append(Table("ethnicity", _("民族"), [_("民族"), _("在读人数"), _("占比")], ethnic_rows, chart="pie"))

    tables.append(_coded_table("migrant", _("随迁子女"), cube["migrant"], "migrant"))
    tables.append(_coded_table("left_behind", _("留守儿童"), cube["left_behind"], "left_behind"))
    tables.append(_coded_table("boarding", _("就读方式（寄宿）"), cube["boarding"], "boarding"))
    no_hukou = _by_value(cube["no_hukou"])
    enrolled = totals["enrolled"]
    tables.append(Table("no_hukou", _("无户籍"), [_("类别"), _("在读人数"), _("占比")], [
        [gettext("无户籍"), no_hukou.get(True, 0), _share(no_hukou.get(True, 0), enrolled)],
        [gettext("有户籍"), no_hukou.get(False, 0), _share(no_hukou.get(False, 0), enrolled)],
    ], chart="pie"))

    problem_total = totals["identity_failed"] + sum(problems.values())
    tables.append(Table("completeness", _("数据完整性"), [_("项目"), _("人数"), _("占在读")], [
        [gettext("在读学生"), enrolled, _share(enrolled, enrolled)],
        [gettext("照片已采集"), totals["photos"], _share(totals["photos"], enrolled)],
        [gettext("身份核验通过"), totals["identity_passed"], _share(totals["identity_passed"], enrolled)],
        [gettext("已获正式学籍号（G）"), totals["g_numbers"], _share(totals["g_numbers"], enrolled)],
        [gettext("问题学籍（未处理）"), problem_total, _share(problem_total, enrolled)],
    ]))

    if unit.child_level:
        tables.append(_children_table(unit, cube["child"], problems))
    return tables


def _children_table(unit: StatUnit, rows: list[dict], problems: dict) -> Table:
    names = child_names(unit, [r["value"] for r in rows] + list(problems))
    lines, links = [], []
    for r in sorted(rows, key=lambda r: (-r["enrolled"], str(r["value"]))):
        key, name = names.get(r["value"], (None, gettext("未分班") if r["value"] is None else str(r["value"])))
        problem = r["identity_failed"] + problems.get(r["value"], 0)
        lines.append([name, r["enrolled"], r["boys"], r["girls"], _share(r["photos"], r["enrolled"]),
                      _share(r["identity_passed"], r["enrolled"]), r["g_numbers"], problem])
        links.append(key)
    return Table("children", gettext("下级单位（%(level)s）") % {"level": LEVEL_LABELS[unit.child_level]},
                 [LEVEL_LABELS[unit.child_level], _("在读人数"), _("男"), _("女"), _("照片采集率"),
                  _("身份核验率"), _("G 号"), _("问题学籍")], lines, links)


def open_case_pupils(user, unit: StatUnit) -> dict:
    """``{child: pupils}`` in an open duplicate case (问题学籍) whose identity check has not
    failed (those are counted by the cube already), driven from the few open cases."""
    members = restrict(CaseMember.objects.all(), user).filter(
        unit.pupil_q("pupil__"), case__status=DuplicateCase.Status.OPEN
    ).exclude(pupil__status__in=NOT_COUNTED).exclude(pupil__identity_status=Pupil.IdentityStatus.FAILED).filter(
        pupil__status=ENROLLED)
    child = unit.child_expression("pupil__")
    members = members.annotate(k_child=child if child is not None else Value(None, output_field=IntegerField()))
    return {row["k_child"]: row["n"] for row in
            members.values("k_child").annotate(n=Count("pupil_id", distinct=True)).order_by()}


# --- workflow -------------------------------------------------------------------------

def _transfers(user, unit: StatUnit):
    return restrict(Transfer.objects.all(), user).filter(unit.transfer_q("origin") | unit.transfer_q("dest"))


def workflow_tables(user, unit: StatUnit, *, today: dt.date | None = None) -> list[Table]:
    steps = dict(_transfers(user, unit).filter(state__in=OPEN_STATES).values_list("state").annotate(n=Count("id"))
                 .order_by())
    labels = dict(State.choices)
    tables = [Table("transfers_open", _("在办转学（按环节）"), [_("环节"), _("件数")],
                    [[str(labels[s]), steps.get(s, 0)] for s in OPEN_STATES])]

    overdue = workitems.overdue_for(user, today=today)
    if unit.school_id is not None:
        overdue = overdue.filter(school_id=unit.school_id)
    elif unit.code:
        overdue = overdue.filter(scope_code__startswith=unit.code)
    grouped = overdue.values("school_id", "school__name", "division_id", "division__name").annotate(
        n=Count("id")).order_by("-n", "school__name", "division_id")
    tables.append(Table("overdue", _("超期事项（按单位）"), [_("单位"), _("超期件数")],
                        [[r["school__name"] or r["division__name"], r["n"]] for r in grouped]))

    cases = restrict(DuplicateCase.objects.filter(status=DuplicateCase.Status.OPEN), user).filter(
        memberships__in=CaseMember.objects.filter(unit.pupil_q("pupil__"))).values("pk").distinct().count()
    tables.append(Table("cases", _("未处理的疑似重复案件"), [_("项目"), _("件数")],
                        [[gettext("未处理案件"), cases]], chart=None))
    return tables


# --- flows ----------------------------------------------------------------------------

def flow_period(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """The period a flow matrix covers: the dates given, else the last 365 days."""
    end = end or timezone.localdate()
    start = start or end - dt.timedelta(days=365)
    return start, end


def flow_matrix(user, unit: StatUnit, start: dt.date, end: dt.date) -> Table:
    """Completed transfers from county (row) to county (column) closed in [start, end]."""
    tz = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    pairs = list(_transfers(user, unit).filter(state=State.COMPLETED, closed_at__gte=since, closed_at__lt=until)
                 .values_list("origin_county_code", "dest_county_code").annotate(n=Count("id")).order_by())
    origins = sorted({o for o, _d, _n in pairs})
    dests = sorted({d for _o, d, _n in pairs})
    counts = {(o, d): n for o, d, n in pairs}
    table = divisions.division_table()

    def name(code):
        return table.get(code, (code,))[0]

    rows = [[name(o), *(counts.get((o, d), 0) for d in dests), sum(counts.get((o, d), 0) for d in dests)]
            for o in origins]
    if origins:
        rows.append([gettext("合计"), *(sum(counts.get((o, d), 0) for o in origins) for d in dests),
                     sum(counts.values())])
    return Table("flows", gettext("转学流向（%(start)s 至 %(end)s，行：转出区县，列：转入区县）")
                 % {"start": start.isoformat(), "end": end.isoformat()},
                 [gettext("转出＼转入"), *(name(d) for d in dests), gettext("转出合计")], rows, chart="heatmap")


# --- 通报: counties ranked -------------------------------------------------------------

def county_ranking(user, unit: StatUnit, *, today: dt.date | None = None) -> Table:
    """通报: the counties of a province or city ranked by photo and identity-check completeness,
    with their open problem records and overdue steps (one GROUP BY each)."""
    enrolled = Q(status=ENROLLED)
    source = restrict(PupilCount.objects.all() if uses_snapshot(unit) else _pupils(user, unit), user)
    if uses_snapshot(unit):
        source = snapshot.counts_for(source, unit).filter(unit.pupil_q())
        weight = "n"
        rows = source.values("county_code").annotate(
            enrolled=Sum(weight, filter=enrolled, default=0),
            photos=Sum(weight, filter=enrolled & Q(photo=True), default=0),
            passed=Sum(weight, filter=enrolled & Q(identity_status="passed"), default=0),
            failed=Sum(weight, filter=enrolled & Q(identity_status="failed"), default=0)).order_by()
    else:
        rows = source.values("county_code").annotate(
            enrolled=Count("id", filter=enrolled), photos=Count("id", filter=enrolled & ~Q(photo="")),
            passed=Count("id", filter=enrolled & Q(identity_status="passed")),
            failed=Count("id", filter=enrolled & Q(identity_status="failed"))).order_by()
    by_county = {r["county_code"]: r for r in rows}
    county_unit = StatUnit(level="city", key=unit.key, code=unit.code, name=unit.name)  # children = counties
    cases = open_case_pupils(user, county_unit)
    overdue = workitems.overdue_for(user, today=today)
    if unit.code:
        overdue = overdue.filter(scope_code__startswith=unit.code)
    late = dict(overdue.filter(scope_code__regex=r"^\d{6}$").values_list("scope_code").annotate(n=Count("id"))
                .order_by())
    table = divisions.division_table()
    lines = []
    for code in sorted(set(by_county) | set(late)):
        r = by_county.get(code, {"enrolled": 0, "photos": 0, "passed": 0, "failed": 0})
        photo_rate = r["photos"] / r["enrolled"] if r["enrolled"] else 0.0
        identity_rate = r["passed"] / r["enrolled"] if r["enrolled"] else 0.0
        lines.append((photo_rate + identity_rate, code, [
            table.get(code, (code,))[0], r["enrolled"], _share(r["photos"], r["enrolled"]),
            _share(r["passed"], r["enrolled"]), r["failed"] + cases.get(code, 0), late.get(code, 0)]))
    lines.sort(key=lambda x: (-x[0], x[1]))
    result = Table("ranking", _("通报：各区县完成情况（按照片采集率与身份核验率排名）"),
                   [_("区县"), _("名次"), _("在读人数"), _("照片采集率"), _("身份核验率"), _("问题学籍"), _("超期事项")],
                   [[line[0], rank, *line[1:]] for rank, (_score, _code, line) in enumerate(lines, start=1)], chart=None)
    result.links = [f"d:{code}" for _score, code, _line in lines]
    return result


def dashboard(user, unit: StatUnit, *, start: dt.date | None = None, end: dt.date | None = None) -> list[Table]:
    """Every table of a unit's statistics page (a province's or city's adds the 通报)."""
    start, end = flow_period(start, end)
    tables = [*pupil_tables(user, unit), *workflow_tables(user, unit), flow_matrix(user, unit, start, end)]
    if unit.level in ("province", "city", "all"):
        tables.append(county_ranking(user, unit))
    return tables
