"""升学接收 API: ``/api/v1/progressions``, ``/api/v1/allocations``, ``/api/v1/graduates/unreceived``.

The same services as the pages; errors are ``{code, message, field}``. Each open
progression shows its current step and the due date of that step.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from enrolment import allocation, receiving, selectors, unreceived
from enrolment.chains import PROGRESSION
from enrolment.models import Allocation, Progression
from kernel.errors import ValidationFailed
from registry.selectors import paginate
from workflow import engine
from workflow.schemas import ReasonIn, WaitingOut, waiting_fields

router = Router(tags=["progression"])
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class LookupIn(Schema):
    number: str
    name: str


class GraduateCardOut(Schema):
    ref: str
    name: str
    sex: str
    birth_date: dt.date
    school_name: str
    grade: int
    status_label: str
    entry_grade: int | None
    refusal: str
    refusal_code: str


class ProgressionIn(Schema):
    refs: list[str]
    class_number: int = 1


class ClassesIn(Schema):
    classes: dict[int, int] = {}
    spread_over: int | None = None


class EntryOut(Schema):
    id: int
    national_number: str
    name: str
    origin_school_code: str
    origin_school_name: str
    class_number: int
    applied: bool


class ProgressionOut(WaitingOut):
    id: int
    state: str
    state_label: str
    school_code: str
    county_code: str
    grade: int
    school_year: int
    source: str
    allocation_id: int | None
    refusal_reason: str
    created_at: dt.datetime
    decided_at: dt.datetime | None
    entries: int

    @staticmethod
    def build(row: Progression, *, entries: int | None = None, current=None) -> ProgressionOut:
        if current is None:
            current = engine.current_steps(PROGRESSION, [row])[row.pk]
        return ProgressionOut(
            **waiting_fields(current),
            id=row.pk, state=row.state, state_label=str(row.get_state_display()), school_code=row.school.code,
            county_code=row.county_code, grade=row.grade, school_year=row.school_year, source=row.source,
            allocation_id=row.allocation_id, refusal_reason=row.refusal_reason, created_at=row.created_at,
            decided_at=row.decided_at,
            entries=entries if entries is not None else row.entries.count(),
        )


class ProgressionDetailOut(ProgressionOut):
    actions: list[str]
    students: list[EntryOut]


class ProgressionPageOut(Schema):
    items: list[ProgressionOut]
    page: int
    has_next: bool


class AllocationOut(Schema):
    id: int
    school_year: int
    original_name: str
    rows: int
    offered: int
    refused: int
    report: list[dict]
    progressions: list[int]

    @staticmethod
    def build(row: Allocation) -> AllocationOut:
        return AllocationOut(
            id=row.pk, school_year=row.school_year, original_name=row.original_name, rows=row.rows,
            offered=row.offered, refused=row.refused, report=row.report,
            progressions=list(row.progressions.values_list("pk", flat=True)),
        )


class UnreceivedOut(Schema):
    national_number: str
    name: str
    sex: str
    birth_date: dt.date
    school_code: str
    school_name: str
    status: str


def _detail(request, row: Progression) -> ProgressionDetailOut:
    base = ProgressionOut.build(row).dict()
    return ProgressionDetailOut(
        **base,
        actions=selectors.actions_for(request.user, row),
        students=[
            EntryOut(id=e.pk, national_number=e.pupil.national_number, name=e.pupil.name,
                     origin_school_code=e.origin_school.code, origin_school_name=e.origin_school.name,
                     class_number=e.class_number, applied=e.applied)
            for e in selectors.entries_of(row)
        ],
    )


@router.post("/progressions/lookup", response=list[GraduateCardOut])
def graduate_lookup(request, payload: LookupIn):
    """A receiving school finds a graduate by national number or ID number and exact name (audited)."""
    return receiving.graduate_find(user=request.user, number=payload.number, name=payload.name)


@router.get("/progressions", response=ProgressionPageOut)
def progression_list(request, state: str = "", open_only: bool = False, page: int = 1, page_size: int = 20):
    result = paginate(selectors.progressions_visible_to(request.user, state=state, open_only=open_only),
                      page=page, page_size=page_size)
    current = engine.current_steps(PROGRESSION, result.items)
    return ProgressionPageOut(
        items=[ProgressionOut.build(r, entries=r.entry_count, current=current[r.pk]) for r in result.items],
        page=result.page, has_next=result.has_next,
    )


@router.post("/progressions", response={201: ProgressionDetailOut})
def progression_create(request, payload: ProgressionIn):
    row = receiving.progression_start(user=request.user, refs=payload.refs, class_number=payload.class_number)
    return Status(201, _detail(request, selectors.progression_get(request.user, row.pk)))


@router.get("/progressions/{progression_id}", response=ProgressionDetailOut)
def progression_detail(request, progression_id: int):
    return _detail(request, selectors.progression_get(request.user, progression_id))


@router.post("/progressions/{progression_id}/classes", response=ProgressionDetailOut)
def progression_classes(request, progression_id: int, payload: ClassesIn):
    receiving.progression_set_classes(user=request.user, progression_id=progression_id, classes=payload.classes,
                                      spread_over=payload.spread_over)
    return _detail(request, selectors.progression_get(request.user, progression_id))


@router.delete("/progressions/{progression_id}/entries/{entry_id}", response=ProgressionDetailOut)
def progression_entry_remove(request, progression_id: int, entry_id: int):
    receiving.progression_remove(user=request.user, progression_id=progression_id, entry_id=entry_id)
    return _detail(request, selectors.progression_get(request.user, progression_id))


def _move(request, progression_id: int, action: str, reason: str = "") -> ProgressionDetailOut:
    receiving.progression_act(user=request.user, progression_id=progression_id, action=action, reason=reason)
    return _detail(request, selectors.progression_get(request.user, progression_id))


@router.post("/progressions/{progression_id}/accept", response=ProgressionDetailOut)
def progression_accept(request, progression_id: int):
    return _move(request, progression_id, "accept")


@router.post("/progressions/{progression_id}/approve", response=ProgressionDetailOut)
def progression_approve(request, progression_id: int):
    return _move(request, progression_id, "approve")


@router.post("/progressions/{progression_id}/refuse", response=ProgressionDetailOut)
def progression_refuse(request, progression_id: int, payload: ReasonIn):
    return _move(request, progression_id, "refuse", payload.reason)


@router.post("/progressions/{progression_id}/decline", response=ProgressionDetailOut)
def progression_decline(request, progression_id: int, payload: ReasonIn):
    return _move(request, progression_id, "decline", payload.reason)


@router.post("/progressions/{progression_id}/withdraw", response=ProgressionDetailOut)
def progression_withdraw(request, progression_id: int):
    return _move(request, progression_id, "withdraw")


@router.post("/allocations", response={201: AllocationOut})
def allocation_create(request, file: UploadedFile | None = File(None), keyed: str = Form("")):
    """A county or city uploads an allocation list (xlsx/CSV) or keys its lines in."""
    if file is None and not keyed.strip():
        raise ValidationFailed(_("请上传分配名单文件，或录入名单内容"), code="file_required", field="file")
    content = b""
    if file is not None:
        if file.size > allocation.MAX_BYTES:
            raise ValidationFailed(_("文件太大，单个分配名单不超过 %(max)s MB")
                                   % {"max": allocation.MAX_BYTES // (1024 * 1024)}, code="file_too_large",
                                   field="file")
        content = file.read()
    row = allocation.allocation_import(user=request.user, content=content,
                                       original_name=(file.name or "") if file else "", keyed=keyed)
    return Status(201, AllocationOut.build(row))


@router.get("/allocations/template")
def allocation_template(request):
    response = HttpResponse(allocation.allocation_template(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote('allocation-template.xlsx')}"
    return response


@router.get("/allocations/{allocation_id}", response=AllocationOut)
def allocation_detail(request, allocation_id: int):
    return AllocationOut.build(selectors.allocation_get(request.user, allocation_id))


@router.get("/graduates/unreceived", response=list[UnreceivedOut])
def unreceived_list(request, year: int | None = None, limit: int = 1000, offset: int = 0):
    """Compulsory-age graduates of the user's scope that no school has received."""
    year = _year(year)
    rows = unreceived.unreceived_for(request.user, year=year)[max(0, offset): max(0, offset) + min(max(limit, 1), 5000)]
    return [UnreceivedOut(national_number=p.national_number, name=p.name, sex=p.sex, birth_date=p.birth_date,
                          school_code=p.school.code, school_name=p.school.name, status=p.status) for p in rows]


@router.get("/graduates/unreceived.xlsx")
def unreceived_xlsx(request, year: int | None = None):
    year = _year(year)
    response = HttpResponse(unreceived.unreceived_export(request.user, year=year), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(f'unreceived-{year}.xlsx')}"
    return response


def _year(year: int | None) -> int:
    year = year or timezone.localdate().year
    if not 2000 <= year <= 2100:
        raise ValidationFailed(_("年份应在2000到2100之间"), code="invalid_year", field="year")
    return year
