"""Roster export (花名册导出): the same columns for the pupils in the user's scope, in the request
for small exports and by a worker for a county; every export is recorded."""


from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import openpyxl
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from openpyxl.cell import WriteOnlyCell

from accounts.scope import get_in_scope, restrict
from kernel.errors import Conflict, RegistryError, ValidationFailed
from kernel.replica import replica_reads
from registry import codes
from registry.fields import (
    CODE,
    DISTANCE,
    GUARDIAN_FIELD_BY_NAME,
    MAX_MEMBERS,
    MEMBER_FIELDS,
    PUPIL_FIELDS,
    RecordField,
)
from registry.models import ACTIVE_STATUSES, FINISHED_STATUSES, Guardian, Pupil, PupilStatus
from registry.nohukou import VITAL_NAMES
from rosters.columns import COLUMNS, HEADERS, member_key
from rosters.jobs import unit_of
from rosters.models import RosterExport
from rosters.parsing import FORMULA_CHARS

logger = logging.getLogger("rosters")


# --- export, template, row report --------------------------------------------------------

#: The statuses an export may cover (``RosterFilter.status``): the 在籍 records (the
#: default), the closed ones (finished a stage, 退学, 死亡) or both.
STATUS_FILTERS = {
    "": ACTIVE_STATUSES,
    "closed": (*FINISHED_STATUSES, PupilStatus.WITHDRAWN, PupilStatus.DECEASED),
    "all": (*ACTIVE_STATUSES, *FINISHED_STATUSES, PupilStatus.WITHDRAWN, PupilStatus.DECEASED),
}
#: Columns an export adds after the template's, which an import ignores.
EXPORT_HEADERS = ["全国学籍号", "学籍状态"]


@dataclass
class RosterFilter:
    """Which pupils a 花名册 covers: a county, a school, a grade of it or one class; the 在籍
    records, the closed ones, both, or one status (``STATUS_FILTERS`` or a ``PupilStatus``)."""

    county: str = ""
    school: str = ""
    grade: int | None = None
    class_number: int | None = None
    status: str = ""

    def statuses(self) -> tuple[str, ...]:
        if self.status in STATUS_FILTERS:
            return tuple(STATUS_FILTERS[self.status])
        if self.status in STATUS_FILTERS["all"]:
            return (self.status,)
        raise ValidationFailed(
            _("学籍状态筛选“%(value)s”无效：可选在籍（默认）、closed（已离校）、all（全部）或一种学籍状态")
            % {"value": self.status},
            code="invalid_filter", field="status",
        )

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None)}


def roster_pupils(user, filters: RosterFilter):
    """Pupils in the user's scope matching ``filters`` (the 在籍 ones unless the filter asks
    for others), sorted by class then name."""
    if not filters.school and not filters.county:
        raise ValidationFailed(_("请选择要导出的学校或区县"), code="filter_required", field="school")
    if (filters.grade or filters.class_number) and not filters.school:
        raise ValidationFailed(_("按年级或班级导出时请先选择学校"), code="filter_required", field="school")
    if filters.class_number and not filters.grade:
        raise ValidationFailed(_("按班级导出时请同时选择年级"), code="filter_required", field="grade")
    pupils = restrict(Pupil.objects.filter(status__in=filters.statuses()), user)
    if filters.county:
        pupils = pupils.filter(county_code=filters.county.strip())
    if filters.school:
        pupils = pupils.filter(school__code=filters.school.strip())
    if filters.grade:
        pupils = pupils.filter(grade=filters.grade)
    if filters.class_number:
        pupils = pupils.filter(school_class__number=filters.class_number)
    return (
        pupils.select_related("school", "school_class")
        .prefetch_related("guardians")
        .order_by("school__code", "grade", "school_class__number", "name", "id")
    )


def neutralise(value: Any) -> Any:
    """Cells starting with = + - @ (or a tab / CR) get a leading apostrophe: no formula runs."""
    if isinstance(value, str) and value and value[0] in (*FORMULA_CHARS, "\t", "\r"):
        return "'" + value
    return value


def _bool_text(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


def pupil_cells(pupil: Pupil) -> list[Any]:
    """One pupil as a roster line in ``COLUMNS`` order (codes written as their names)."""
    label = codes.label
    guardians = sorted(pupil.guardians.all(), key=lambda g: g.order)[:MAX_MEMBERS]
    line: list[Any] = [
        pupil.school.code,
        pupil.name,
        pupil.former_name,
        label("sex", pupil.sex),
        pupil.birth_date,
        label("id_type", pupil.id_type),
        pupil.id_number,
        label("ethnicity", pupil.ethnicity),
        label("nationality", pupil.nationality),
        label("hmt", pupil.hmt),
        pupil.hukou_division_id or "",
        label("hukou_nature", pupil.hukou_nature) if pupil.hukou_nature else "",
        pupil.grade,
        pupil.school_class.number if pupil.school_class_id else "",
        pupil.enrolled_on,
        label("boarding", pupil.boarding),
        label("health", pupil.health),
        label("left_behind", pupil.left_behind),
        label("migrant", pupil.migrant),
        *(_field_cell(f, getattr(pupil, f.name)) for f in PUPIL_FIELDS),
    ]
    for n in range(1, MAX_MEMBERS + 1):
        g = guardians[n - 1] if len(guardians) >= n else None
        line += [member_cell(g, name) if g else "" for name in MEMBER_FIELDS]
    line += [pupil.national_number, codes.status_label(pupil.status) if codes.status_code(pupil.status) != "99"
             else pupil.get_status_display()]
    return [neutralise(v) for v in line]


def member_cell(member: Guardian, name: str) -> Any:
    """A family member's field as its roster cell: codes and 状况 by their names, 是/否,
    the police date a date, the 户籍所在地 its code."""
    if name in ("relation", "id_type"):
        return codes.label(name, member.relation if name == "relation" else member.id_type)
    if name == "is_guardian":
        return _bool_text(member.is_guardian)
    if name == "vital":
        return VITAL_NAMES.get(member.vital, member.vital)
    if name == "hukou_division_code":
        return member.hukou_division_id or ""
    if name in GUARDIAN_FIELD_BY_NAME:
        return _field_cell(GUARDIAN_FIELD_BY_NAME[name], getattr(member, name))
    value = getattr(member, name)
    return "" if value is None else value


def _field_cell(spec: RecordField, value) -> Any:
    """A further field as its roster cell: a code as its name, a distance as a number."""
    if value in (None, ""):
        return ""
    if spec.kind == CODE:
        return codes.label(spec.table, value)
    if spec.kind == DISTANCE:
        return float(value)
    return value


#: Columns written as text cells (no scientific notation, leading zeros kept).
TEXT_KEYS = {"school_code", "id_number", "hukou_division", *(f.name for f in PUPIL_FIELDS if f.kind != DISTANCE),
             *(member_key(n, name) for n in range(1, MAX_MEMBERS + 1)
               for name in ("id_number", "phone", "police_reference", "hukou_division_code"))}
_DATE_KEYS = {"birth_date", "enrolled_on", *(member_key(n, "police_date") for n in range(1, MAX_MEMBERS + 1))}


def _workbook_lines(sheet, lines: Iterable[list[Any]]) -> int:
    """Append header + lines to a write-only sheet with text and date cell formats."""
    text_positions = {i for i, c in enumerate(COLUMNS) if c.key in TEXT_KEYS}
    date_positions = {i for i, c in enumerate(COLUMNS) if c.key in _DATE_KEYS}
    sheet.append([*HEADERS, *EXPORT_HEADERS])
    text_positions.add(len(HEADERS))  # 全国学籍号
    count = 0
    for line in lines:
        out = []
        for index, value in enumerate(line):
            if index in text_positions or index in date_positions:
                cell = WriteOnlyCell(sheet, value="" if value is None else value)
                cell.number_format = "yyyy-mm-dd" if index in date_positions else "@"
                if index in text_positions:
                    cell.data_type = "s"
                out.append(cell)
            else:
                out.append(value)
        sheet.append(out)
        count += 1
    return count


def _export_workbook(user, filters: RosterFilter) -> tuple[bytes, int]:
    pupils = roster_pupils(user, filters)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(gettext("花名册"))
    count = _workbook_lines(sheet, (pupil_cells(p) for p in pupils.iterator(chunk_size=2000)))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), count


def _export_file_name(filters: RosterFilter) -> str:
    parts = [filters.county or filters.school, f"{filters.grade}年级" if filters.grade else "",
             f"{filters.class_number}班" if filters.class_number else ""]
    return "花名册_" + "_".join(p for p in parts if p) + f"_{timezone.localdate():%Y%m%d}.xlsx"


def _export_record(user, filters: RosterFilter, request_id: str, **fields) -> RosterExport:
    school, scope_code, unit_code = unit_of(user)
    return RosterExport.objects.create(
        actor=user if user.is_authenticated else None,
        actor_name=user.get_username(),
        unit_code=unit_code,
        school=school,
        scope_code=scope_code,
        filters=filters.as_dict(),
        request_id=request_id,
        file_name=_export_file_name(filters),
        **fields,
    )


def roster_export(*, user, filters: RosterFilter, request_id: str = "") -> tuple[bytes, str, int]:
    """The 花名册 as xlsx bytes, its file name and its row count; logs an audit row."""
    with replica_reads():
        content, count = _export_workbook(user, filters)
    export = _export_record(user, filters, request_id, row_count=count, finished_at=timezone.now())
    logger.info("roster export user=%s filters=%s rows=%s", user.get_username(), filters.as_dict(), count)
    return content, export.file_name, count


def roster_export_size(user, filters: RosterFilter) -> int:
    """How many pupils the export would hold (refuses a bad filter like the export)."""
    return roster_pupils(user, filters).count()


def roster_export_begin(*, user, filters: RosterFilter, request_id: str = "") -> RosterExport:
    """Record a large export for a worker to build (``roster_export_build``)."""
    rows = roster_export_size(user, filters)
    export = _export_record(user, filters, request_id, row_count=rows, status=RosterExport.Status.RUNNING)
    logger.info("roster export %s queued user=%s filters=%s rows=%s", export.pk, user.get_username(),
                filters.as_dict(), rows)
    return export


def roster_export_build(*, export_id: int) -> RosterExport:
    """Build a queued export's workbook with its exporter's scope as it stands now."""
    export = RosterExport.objects.select_related("actor__membership__school").get(pk=export_id)
    if export.status != RosterExport.Status.RUNNING:
        return export  # a retried task: built or failed already
    filters = RosterFilter(**export.filters)
    try:
        with replica_reads():
            content, count = _export_workbook(export.actor, filters)
        export.file.save(export.file_name, ContentFile(content), save=False)
    except RegistryError as exc:
        return roster_export_fail(export_id=export_id, message=str(exc.message))
    export.row_count = count
    export.status = RosterExport.Status.DONE
    export.finished_at = timezone.now()
    export.save(update_fields=["file", "row_count", "status", "finished_at"])
    logger.info("roster export %s built: %s rows", export.pk, count)
    return export


def roster_export_fail(*, export_id: int, message: str = "") -> RosterExport:
    export = RosterExport.objects.get(pk=export_id)
    export.status = RosterExport.Status.FAILED
    export.error = (message or gettext("生成花名册时出错，请重新导出"))[:500]
    export.finished_at = timezone.now()
    export.save(update_fields=["status", "error", "finished_at"])
    logger.warning("roster export %s failed: %s", export_id, export.error)
    return export


def roster_export_get(user, export_id) -> RosterExport:
    """An export of the user's own, in scope (a workbook is handed only to who asked for it)."""
    try:
        export_id = int(export_id)
    except (TypeError, ValueError):
        export_id = 0
    return get_in_scope(RosterExport.objects.all(), user, pk=export_id, actor=user)


def roster_exports_of(user):
    """The user's own exports built by a worker, newest first (the roster page lists them)."""
    return restrict(RosterExport.objects.filter(actor=user), user).exclude(file="", status=RosterExport.Status.DONE)


def roster_export_ready(user, export_id) -> RosterExport:
    """An export whose workbook is built (its ``file`` can be served), or ``Conflict``."""
    export = roster_export_get(user, export_id)
    if export.status != RosterExport.Status.DONE or not export.file:
        raise Conflict(
            _("花名册尚未生成完毕（%(status)s）") % {"status": export.get_status_display()},
            code="export_not_ready",
            details={"status": export.status},
        )
    return export
