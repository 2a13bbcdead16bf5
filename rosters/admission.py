"""招生名单 (admission lists): a school — or its county, for the compulsory grades it
allocates — imports its intake for grade 1, 7 or 10 in the roster format (花名册 columns).

The preview checks every row with the roster's rules (``rosters.checking``) and says what
each row is:

- ``new`` — a new child: applying registers it (新生注册, 待审核: the registration review);
- ``graduate`` — a graduate of the stage before: applying sends it to 升学 step 1
  (``enrolment.receiving.admission_receive``) on its own record, never a new one;
- ``transfer`` — a pupil enrolled at another school: it needs a transfer (转学). The row names
  the holder's school and county only, as the entry check does;
- ``error`` — the row's problems, by column, with their codes.

It is a job like the roster import (``rosters.jobs``): ``admission_upload`` stores the file,
``admission_check`` previews it (in the request for a small file, on a worker for a large
one), ``admission_claim`` takes the importer's chosen rows and ``admission_apply`` — always on
a worker — writes them. The file is checked again first; when a chosen row is no longer what
the preview said, or is not a new child or a graduate, nothing is written and the list goes
back to 待确认 with the refused rows. Otherwise the registrations and progressions are
written in one transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections import defaultdict

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.audit import acting_as
from accounts.models import Membership
from accounts.permissions import require_role
from accounts.scope import get_in_scope
from enrolment import progression, receiving
from enrolment.models import Allocation
from kernel.errors import Conflict, Forbidden, ValidationFailed
from registry.models import FINISHED_STATUSES, Pupil
from rosters.checking import check_rows
from rosters.columns import COLUMN_BY_KEY, UNCHANGED
from rosters.models import AdmissionList
from rosters.parsing import Row
from rosters.reading import parse_table, read_table, sniff_format
from rosters.writing import write_rows
from schools.models import School
from workflow.models import OpenBusiness

log = logging.getLogger("rosters")

Role = Membership.Role
NEW_CHILD, GRADUATE, TRANSFER, ERROR = "new", "graduate", "transfer", "error"
KIND_LABELS = {NEW_CHILD: _("新生（新建学籍，待审核）"), GRADUATE: _("毕业生（升学接收）"),
               TRANSFER: _("他校在籍（须办理转学）"), ERROR: _("有错误")}
APPLICABLE = (NEW_CHILD, GRADUATE)
#: The intake grades of a school's list, and of a county's (compulsory education).
SCHOOL_GRADES = (1, 7, 10)
COUNTY_GRADES = (1, 7)


def _importer(user) -> Membership:
    membership = require_role(user, Role.OPERATOR, Role.ADMIN)
    if not membership.school_id and not membership.unit.is_county:
        raise Forbidden(_("招生名单由学校或区县教育行政部门导入"), code="school_or_county_only")
    return membership


def _problem(code: str, message, *, column: str = "", field: str = "") -> dict:
    return {"column": column, "field": field, "code": code, "message": str(message)}


def _classify(user, content: bytes, *, county: bool) -> tuple[list[dict], list[Row]]:
    """Every row of the file with its kind (see the module docstring)."""
    _format, lines = read_table(content)
    rows = check_rows(user=user, table=parse_table(lines))
    grades = COUNTY_GRADES if county else SCHOOL_GRADES
    report = []
    for row in rows:
        data = row.data
        item = {"row": row.number, "name": data.name, "school_code": data.school_code, "grade": data.grade,
                "class_number": data.class_number, "kind": ERROR, "message": "", "national_number": "",
                "problems": list(row.problems)}
        codes = {exc.code for exc in row.refusals}
        if data.grade is not None and data.grade not in grades:
            item["problems"].append(_problem(
                "admission_grade",
                _("招生名单只含%(grades)s年级（本行为%(grade)s年级）")
                % {"grades": "、".join(str(g) for g in grades), "grade": data.grade},
                column=COLUMN_BY_KEY["grade"].header, field="grade"))
        elif row.outcome == UNCHANGED:
            item["problems"].append(_problem("already_enrolled_here", _("该学生已在本校在籍，无需招生")))
        elif not row.problems:
            item["kind"] = NEW_CHILD
        elif codes == {"graduate_use_progression"}:
            _graduate(item, row, row.refusals[0].details or {})
        elif codes == {"id_number_active_elsewhere"}:
            holder = School.objects.select_related("county").get(code=(row.refusals[0].details or {})["school_code"])
            item["kind"] = TRANSFER
            item["problems"] = []
            item["message"] = str(_("该学生在%(school)s（%(county)s）在籍，须由本校发起转学申请转入")
                                  % {"school": holder.name, "county": holder.county.full_name()})
        report.append(item)
    return report, rows


def _graduate(item: dict, row: Row, details: dict) -> None:
    # The refusal names the holder's school, not its number: the graduate is the finished
    # record of this ID number at that school.
    pupil = (Pupil.objects.select_related("school")
             .filter(id_number=row.data.id_number, school__code=details.get("school_code"),
                     status__in=FINISHED_STATUSES).order_by("-pk").first()) if row.data.id_number else None
    refusal = progression.progression_refusal(pupil, row.school) if pupil is not None else None
    if pupil is None:
        return
    if refusal is None and OpenBusiness.objects.filter(pupil=pupil).exists():
        refusal = progression.taken_error()
    if refusal is not None:
        item["problems"] = [_problem(refusal.code, refusal.message)]
        return
    if progression.entry_grade_for(pupil) != row.data.grade:
        item["problems"] = [_problem(
            "admission_grade_mismatch",
            _("该毕业生升入%(entry)s年级，与本行的%(grade)s年级不符")
            % {"entry": progression.entry_grade_for(pupil), "grade": row.data.grade},
            column=COLUMN_BY_KEY["grade"].header, field="grade")]
        return
    item["kind"] = GRADUATE
    item["problems"] = []
    item["national_number"] = pupil.national_number
    item["message"] = str(_("%(school)s毕业生，全国学籍号 %(number)s：转入升学接收，不新建学籍")
                          % {"school": pupil.school.name, "number": pupil.national_number})


def admission_upload(*, user, content: bytes, original_name: str = "") -> AdmissionList:
    """Store an admission list (judged by its bytes) and open its job; the preview runs next."""
    membership = _importer(user)
    sniff_format(content)
    with transaction.atomic(), acting_as(user):
        admission = AdmissionList.objects.create(
            school_id=membership.school_id, scope_code=membership.school.county_id if membership.school_id
            else membership.division_id, original_name=(original_name or "")[:200].replace("\x00", ""),
            file_size=len(content), created_by=user,
        )
        admission.file.save(secrets.token_hex(16), ContentFile(content), save=True)
    log.info("admission list %s uploaded by %s: %s bytes", admission.pk, user, len(content))
    return admission


def _read(admission: AdmissionList) -> bytes:
    with admission.file.open("rb") as handle:
        return handle.read()


def admission_check(*, admission_id: int) -> AdmissionList:
    """The preview of a stored list: every row's kind, saved on the list (nothing else written)."""
    admission = AdmissionList.objects.select_related("created_by").get(pk=admission_id)
    if admission.state != AdmissionList.State.PREVIEWING:
        return admission
    user = admission.created_by
    membership = _importer(user)
    try:
        report, _rows = _classify(user, _read(admission), county=not membership.school_id)
    except ValidationFailed as exc:
        admission.state, admission.error = AdmissionList.State.FAILED, exc.as_dict()
    else:
        admission.state, admission.report = AdmissionList.State.PREVIEWED, report
    with acting_as(user):
        admission.save(update_fields=["state", "report", "error"])
    log.info("admission list %s previewed: %s rows, %s", admission.pk, len(admission.report), admission.state)
    return admission


def admission_preview(*, user, content: bytes, original_name: str = "") -> AdmissionList:
    """Upload and preview at once (a list small enough for the request, and the tests)."""
    return admission_check(admission_id=admission_upload(user=user, content=content, original_name=original_name).pk)


def admission_claim(*, user, admission_id: int, rows: list[int]) -> AdmissionList:
    """Claim a previewed list for applying the chosen rows; the job (``admission_apply``) writes.

    The rows the preview already shows as not applicable are refused here, at once; a second
    click while the job runs, or after it, gets 409.
    """
    membership = _importer(user)
    chosen = sorted({int(r) for r in rows or []})
    if not chosen:
        raise ValidationFailed(_("请选择要导入的行"), code="required", field="rows")
    admission = get_in_scope(AdmissionList.objects.all(), user, pk=admission_id)
    if admission.school_id != membership.school_id:
        raise Forbidden(_("只有导入该名单的单位可以确认导入"), code="not_importer")
    if admission.state == AdmissionList.State.PREVIEWED:
        before = {item["row"]: item for item in admission.report}
        refused = _refused_rows(chosen, before, before)
        if refused:
            raise _refusal(refused)
    with acting_as(user):
        claimed = AdmissionList.objects.filter(pk=admission.pk, state=AdmissionList.State.PREVIEWED).update(
            state=AdmissionList.State.APPLYING, chosen=chosen, error=None)
    if not claimed:
        raise Conflict(_("该招生名单已导入或正在处理，不能再次导入"), code="admission_applied")
    admission.refresh_from_db()
    log.info("admission list %s claimed by %s: rows %s", admission.pk, user, chosen)
    return admission


def _refusal(refused: list[dict]) -> ValidationFailed:
    return ValidationFailed(_("有%(n)s行不能导入，本次未导入任何数据") % {"n": len(refused)},
                            code="admission_rows_refused", field="rows", details=refused)


def admission_apply(*, admission_id: int, today: dt.date | None = None) -> AdmissionList:
    """Apply a claimed list: register the new children, send the graduates to 升学; all or nothing.

    The file is checked again first; a chosen row that is no longer what the preview said
    refuses the whole apply, and the list returns to 待确认 with the refused rows.
    """
    admission = AdmissionList.objects.select_related("created_by").get(pk=admission_id)
    if admission.state != AdmissionList.State.APPLYING:
        return admission
    user = admission.created_by
    membership = _importer(user)
    chosen = list(admission.chosen)
    content = _read(admission)
    try:
        with transaction.atomic(), acting_as(user):
            admission = AdmissionList.objects.select_for_update().get(pk=admission_id)
            report, checked = _classify(user, content, county=not membership.school_id)
            before = {item["row"]: item for item in admission.report}
            now = {item["row"]: item for item in report}
            refused = _refused_rows(chosen, before, now)
            if refused:
                raise _refusal(refused)
            by_number = {row.number: row for row in checked}
            new_rows = [by_number[n] for n in chosen if now[n]["kind"] == NEW_CHILD]
            write_rows(user=user, rows=new_rows)
            progressions = _receive(user, admission, [by_number[n] for n in chosen if now[n]["kind"] == GRADUATE],
                                    now, content=content, membership=membership, today=today)
            admission.state = AdmissionList.State.APPLIED
            admission.applied_at = timezone.now()
            admission.report = report
            admission.error = None
            admission.applied = {"rows": chosen, "registered": [r.national_number for r in new_rows],
                                 "progressions": progressions}
            admission.save(update_fields=["state", "applied_at", "report", "applied", "error"])
    except (ValidationFailed, Conflict) as exc:
        # nothing was written: back to 待确认, with the reason and the refused rows
        with acting_as(user):
            AdmissionList.objects.filter(pk=admission_id, state=AdmissionList.State.APPLYING).update(
                state=AdmissionList.State.PREVIEWED, error=exc.as_dict())
        admission.refresh_from_db()
    log.info("admission list %s applied: %s (%s)", admission.pk, admission.state,
             (admission.error or {}).get("code", "ok"))
    return admission


def admission_fail(*, admission_id: int) -> None:
    """A list whose task crashed: say so on the list instead of leaving it running forever."""
    AdmissionList.objects.filter(pk=admission_id, state__in=AdmissionList.RUNNING).update(
        state=AdmissionList.State.FAILED,
        error={"code": "internal_error", "field": None, "details": None,
               "message": gettext("处理过程中出现系统错误，请重新上传；如仍失败请联系管理员")})
    log.error("admission list %s failed", admission_id)


def _refused_rows(chosen: list[int], before: dict, now: dict) -> list[dict]:
    refused = []
    for number in chosen:
        item = now.get(number)
        if item is None:
            refused.append({"row": number, "code": "unknown_row", "message": str(_("文件中没有第%(n)s行") % {"n": number})})
        elif item["kind"] not in APPLICABLE:
            refused.append({"row": number, "code": "admission_row_not_applicable",
                            "message": str(_("第%(n)s行为“%(kind)s”，不能导入") % {"n": number,
                                                                               "kind": KIND_LABELS[item["kind"]]})})
        elif before.get(number, {}).get("kind") != item["kind"] or (
                before[number].get("national_number") != item["national_number"]):
            refused.append({"row": number, "code": "admission_row_changed",
                            "message": str(_("第%(n)s行自预览后已有变化（现为“%(kind)s”），请重新预览")
                                           % {"n": number, "kind": KIND_LABELS[item["kind"]]})})
    return refused


def _receive(user, admission: AdmissionList, rows: list[Row], report: dict, *, content: bytes,
             membership: Membership, today) -> list[int]:
    """The graduates, one progression per school and grade (a county's list: offered to them)."""
    if not rows:
        return []
    allocation = None
    if not membership.school_id:
        stored_name = f"{secrets.token_hex(16)}.upload"
        allocation = Allocation.objects.create(
            division_id=membership.division_id, scope_code=membership.division_id,
            school_year=progression.school_year_for(today or timezone.localdate()), stored_name=stored_name,
            original_name=admission.original_name or str(_("招生名单")), rows=len(rows), offered=len(rows),
            created_by=user,
        )
        allocation.file.save(stored_name, ContentFile(content), save=True)
    pupils = Pupil.objects.select_related("school").in_bulk(
        [report[r.number]["national_number"] for r in rows], field_name="national_number")
    groups: dict[tuple[int, int], list[Row]] = defaultdict(list)
    for row in rows:
        groups[(row.school.pk, row.data.grade)].append(row)
    ids = []
    for (_school, grade), group in sorted(groups.items()):
        entries = [(pupils[report[r.number]["national_number"]], r.data.class_number or 1, r.number) for r in group]
        ids.append(receiving.admission_receive(user=user, school=group[0].school, grade=grade, entries=entries,
                                               offered=allocation is not None, allocation=allocation, today=today).pk)
    return ids
