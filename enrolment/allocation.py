"""升学分配名单 — a county or a city says which graduates go to which school.

The list is an xlsx (or CSV) in the template (``allocation_template``), or lines keyed in
on the page (tab- or space-separated, as pasted from Excel). Each row names a graduate by
national number or resident ID number with the exact name, and the receiving school by its
code; the class number is optional. Every row is checked and the report says, per row and
column, what is wrong; the good rows are offered to their schools — one progression per
school in ``offered`` (待接收), on the school's 待办 — in the same transaction, so a partly
bad list never half-writes and never drops a good row silently.

Who may allocate what: the graduate and the school both lie in the uploader's scope (a
county its own, a city its counties'). A graduate already held by an open progression or
any other business is refused on its row.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, field

import openpyxl
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from openpyxl.styles import Font

from accounts.audit import acting_as
from accounts.models import Membership
from accounts.permissions import require_role
from accounts.scope import restrict
from enrolment import progression
from enrolment.chains import PROGRESSION
from enrolment.models import Allocation, Progression, ProgressionEntry, ProgressionState
from kernel import identity, spreadsheets
from kernel.errors import Forbidden, ValidationFailed
from registry.models import Pupil
from schools.models import School
from workflow import engine
from workflow.models import OpenBusiness

log = logging.getLogger("registry.enrolment")

Role = Membership.Role
MAX_BYTES = 10 * 1024 * 1024
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_ROWS = 20000

#: (key, header, required): the template's columns.
COLUMNS = (
    ("number", _("全国学籍号或身份证件号"), True),
    ("name", _("姓名"), True),
    ("school_code", _("接收学校标识码"), True),
    ("class_number", _("班号"), False),
)
HEADERS = {str(header): key for key, header, _required in COLUMNS}
#: Other headers accepted for the same columns (as registrars name them).
HEADER_ALIASES = {"全国学籍号": "number", "学籍号": "number", "身份证件号": "number", "身份证号": "number",
                  "学生姓名": "name", "学校标识码": "school_code", "接收学校": "school_code", "班级": "class_number"}


@dataclass
class Row:
    line: int
    number: str = ""
    name: str = ""
    school_code: str = ""
    class_number: int = 1
    errors: list[dict] = field(default_factory=list)
    pupil: Pupil | None = None
    school: School | None = None

    def refuse(self, message, *, code: str, column: str) -> None:
        self.errors.append({"code": code, "column": str(column), "message": str(message)})

    def as_dict(self) -> dict:
        return {"row": self.line, "number": self.number, "name": self.name, "school_code": self.school_code,
                "errors": self.errors}


def allocation_template() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = str(_("升学分配名单"))
    for index, (_key, header, required) in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index, value=str(header))
        cell.font = Font(bold=required)
        sheet.column_dimensions[openpyxl.utils.get_column_letter(index)].width = 24
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _column_label(key: str) -> str:
    return next(str(header) for k, header, _required in COLUMNS if k == key)


def parse_lines(lines: list[list[str]]) -> list[Row]:
    """Rows of a list: the first non-empty line is the header (or, for keyed-in lines
    without one, the template order)."""
    lines = [(n, [c.strip() for c in line]) for n, line in enumerate(lines, start=1) if any(c.strip() for c in line)]
    if not lines:
        raise ValidationFailed(_("名单中没有任何内容"), code="file_empty", field="file")
    first = lines[0][1]
    keys = [HEADERS.get(c) or HEADER_ALIASES.get(c) for c in first]
    if any(keys):
        missing = [str(h) for k, h, required in COLUMNS if required and k not in keys]
        if missing:
            raise ValidationFailed(
                _("缺少列：%(columns)s。请使用升学分配名单模板的表头") % {"columns": "、".join(missing)},
                code="missing_column", field="file", details={"missing": missing},
            )
        lines = lines[1:]
    else:
        keys = [k for k, _h, _r in COLUMNS]
    if not lines:
        raise ValidationFailed(_("名单只有表头，没有学生"), code="no_rows", field="file")
    if len(lines) > MAX_ROWS:
        raise ValidationFailed(_("名单有 %(n)s 行，单个名单不超过 %(max)s 行，请拆分")
                               % {"n": len(lines), "max": MAX_ROWS}, code="too_many_rows", field="file")
    rows = []
    for number, cells in lines:
        values = {key: cells[i] if i < len(cells) else "" for i, key in enumerate(keys) if key}
        row = Row(line=number, number=values.get("number", "").upper()[:40], name=values.get("name", "")[:50],
                  school_code=values.get("school_code", "")[:20])
        raw_class = values.get("class_number", "")
        if raw_class:
            try:
                row.class_number = int(raw_class)
                if not 1 <= row.class_number <= 99:
                    raise ValueError
            except ValueError:
                row.refuse(_("班号“%(value)s”应为1到99之间的整数") % {"value": raw_class[:10]},
                           code="invalid_class_number", column=_column_label("class_number"))
        for key in ("number", "name", "school_code"):
            if not getattr(row, key):
                row.refuse(_("%(column)s不能为空") % {"column": _column_label(key)}, code="required",
                           column=_column_label(key))
        rows.append(row)
    return rows


def check_rows(rows: list[Row], *, user) -> None:
    """Rules across records, for the whole list in a few queries."""
    seen: dict[str, int] = {}
    for row in rows:
        if row.number and row.number in seen:
            row.refuse(_("该学生在名单中重复出现：与第 %(row)s 行相同") % {"row": seen[row.number]},
                       code="duplicate_in_file", column=_column_label("number"))
        seen.setdefault(row.number, row.line)
    schools = {s.code: s for s in restrict(School.objects.all(), user).filter(code__in={r.school_code for r in rows})}
    numbers = {r.number for r in rows if r.number[:1] in ("G", "L", "J")}
    ids = {identity.normalize_id_number(r.number) for r in rows if r.number and r.number[:1] not in ("G", "L", "J")}
    visible = restrict(Pupil.objects.all(), user).exclude(status__in=("deleted", "not_admitted")).select_related("school")
    by_number = {p.national_number: p for p in visible.filter(national_number__in=numbers)} if numbers else {}
    by_id: dict[str, list[Pupil]] = defaultdict(list)
    if ids:
        for pupil in visible.filter(id_number__in=ids).order_by("-id"):
            by_id[pupil.id_number].append(pupil)
    candidates = [*by_number.values(), *(p for ps in by_id.values() for p in ps)]
    busy = set(OpenBusiness.objects.filter(pupil__in=candidates).values_list("pupil_id", flat=True))
    for row in rows:
        if row.errors:
            continue
        school = schools.get(row.school_code)
        if school is None:
            row.refuse(_("未找到学校标识码为“%(code)s”的本辖区学校") % {"code": row.school_code},
                       code="school_unknown", column=_column_label("school_code"))
            continue
        if row.number[:1] in ("G", "L", "J"):
            pupil = by_number.get(row.number)
        else:
            pupil = next(iter(by_id.get(identity.normalize_id_number(row.number), [])), None)
        if pupil is None or pupil.name != row.name:
            row.refuse(_("本辖区没有全国学籍号（或身份证件号）为“%(number)s”、姓名为“%(name)s”的学生")
                       % {"number": row.number, "name": row.name}, code="pupil_unknown",
                       column=_column_label("number"))
            continue
        refusal = progression.progression_refusal(pupil, school)
        if refusal is not None:
            column = _column_label("school_code") if refusal.field == "school_code" else _column_label("number")
            row.refuse(refusal.message, code=refusal.code, column=column)
            continue
        if pupil.pk in busy:
            row.refuse(progression.taken_error().message, code="progression_taken", column=_column_label("number"))
            continue
        row.pupil, row.school = pupil, school


def _uploader(user) -> Membership:
    membership = require_role(user, Role.OPERATOR, Role.APPROVER, Role.ADMIN)
    if membership.school_id or not membership.division_id:
        raise Forbidden(_("升学分配名单由区县或地市教育行政部门上传"), code="bureau_only")
    return membership


def allocation_import(*, user, content: bytes = b"", original_name: str = "", keyed: str = "",
                      today: dt.date | None = None) -> Allocation:
    """Check a list and offer its good rows to their schools; the report lists the rest."""
    membership = _uploader(user)
    if keyed.strip():
        if len(keyed) > 2_000_000:
            raise ValidationFailed(_("录入的内容过长，请改为上传文件"), code="too_long", field="keyed")
        lines = [line.replace("\u3000", " ").split("\t") if "\t" in line else line.split()
                 for line in keyed.replace("\x00", "").splitlines()]
        content = "\n".join("\t".join(cells) for cells in lines).encode("utf-8")
        original_name = original_name or str(_("页面录入"))
    else:
        _format, lines = spreadsheets.read_table(content, max_bytes=MAX_BYTES, max_unpacked_bytes=MAX_UNPACKED_BYTES,
                                                 what=_("分配名单"))
    rows = parse_lines(lines)
    check_rows(rows, user=user)
    good = [r for r in rows if not r.errors]
    today = today or timezone.localdate()
    stored_name = f"{secrets.token_hex(16)}.{'txt' if keyed.strip() else 'upload'}"
    with transaction.atomic(), acting_as(user, business=PROGRESSION.kind):
        allocation = Allocation.objects.create(
            division_id=membership.division_id, scope_code=membership.division_id,
            school_year=progression.school_year_for(today), stored_name=stored_name,
            original_name=(original_name or "")[:200].replace("\x00", ""), rows=len(rows), offered=len(good),
            refused=len(rows) - len(good), report=[r.as_dict() for r in rows if r.errors], created_by=user,
        )
        allocation.file.save(stored_name, ContentFile(content), save=True)
        by_school: dict[tuple[int, int], list[Row]] = defaultdict(list)
        for row in good:
            by_school[(row.school.pk, progression.entry_grade_for(row.pupil))].append(row)
        for (_school_pk, grade), school_rows in sorted(by_school.items()):
            school = school_rows[0].school
            offer = Progression.objects.create(
                state=ProgressionState.OFFERED, school=school, county_code=school.county_id, grade=grade,
                school_year=allocation.school_year, source=Progression.Source.ALLOCATION, allocation=allocation,
                initiator=user,
            )
            _offer_entries(offer, school_rows)
            engine.start(PROGRESSION, offer, user=user, action="allocate")
    log.info("allocation %s by %s: %s rows, %s offered", allocation.pk, user, len(rows), len(good))
    return allocation


def _offer_entries(offer: Progression, rows: list[Row]) -> None:
    taken = progression.claim(offer, [r.pupil.pk for r in rows])
    if taken:  # another list or school took one since the check: nothing of this list is written
        raise progression.taken_error()
    ProgressionEntry.objects.bulk_create(
        ProgressionEntry(progression=offer, pupil=r.pupil, origin_school_id=r.pupil.school_id,
                         origin_county_code=r.pupil.county_code, origin_grade=r.pupil.grade,
                         class_number=r.class_number, row=r.line)
        for r in rows
    )
