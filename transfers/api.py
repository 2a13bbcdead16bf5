"""Transfers API (``/api/v1/transfers``): a contract for integrators, keep the paths.

Same services as the UI. Errors are ``{"code", "message", "field"}``; a step that already
moved (second click, retry, lost race) answers 409 ``state_conflict`` with the current state.
"""

from __future__ import annotations

import datetime as dt

from ninja import Field, File, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from kernel.errors import post_required
from registry.selectors import paginate
from transfers import lookup, search, selectors, services
from transfers.chain import TRANSFER
from transfers.models import Transfer, TransferAttachment
from transfers.states import State
from transfers.views import attachment_response
from workflow import engine
from workflow.engine import Current
from workflow.schemas import ReasonIn, WaitingOut, waiting_fields

router = Router(tags=["transfers"])


class TransferIn(Schema):
    pupil_ref: str = Field("", description="转出学生查询结果中的 ref（必填；有效期 30 分钟，仅限查询者本人）")
    national_number: str = Field("", description="不再接受：只填学籍号的申请被拒绝（lookup_required）并记录")
    origin_school_code: str = Field(description="转出学校标识码（10位）")
    dest_school_code: str = Field("", description="转入学校标识码；须为本人所在学校，可省略")
    dest_grade: int = Field(description="转入年级 1..12")
    dest_class_number: int = Field(description="转入班号")
    transfer_date: dt.date | None = Field(None, description="异动日期，默认今天")
    reason: str = Field(description="转学原因")


class TransferCorrectIn(Schema):
    """退回修改 answered: the application's fields as corrected, and a note for the log."""

    dest_grade: int = Field(description="转入年级 1..12")
    dest_class_number: int = Field(description="转入班号")
    transfer_date: dt.date = Field(description="异动日期")
    reason: str = Field(description="转学原因")
    note: str = Field("", description="修改说明（可选）")


class StepOut(Schema):
    action: str
    from_state: str
    to_state: str
    actor_name: str
    unit_code: str
    unit_name: str
    role: str
    reason: str
    at: dt.datetime


class AttachmentOut(Schema):
    id: int
    kind: str
    size: int
    label: str
    uploaded_at: dt.datetime

    @staticmethod
    def build(a: TransferAttachment) -> AttachmentOut:
        return AttachmentOut(id=a.pk, kind=a.kind, size=a.size, label=a.label, uploaded_at=a.uploaded_at)


class TransferOut(WaitingOut):
    id: int
    status: str
    status_label: str
    steps: list[str]
    national_number: str
    pupil_name: str
    origin_school_code: str
    origin_school_name: str
    origin_county_code: str
    dest_school_code: str
    dest_school_name: str
    dest_county_code: str
    origin_grade: int
    dest_grade: int
    dest_class_number: int
    transfer_date: dt.date
    reason: str
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    closed_at: dt.datetime | None

    @staticmethod
    def fields(t: Transfer, current: Current | None) -> dict:
        return dict(
            **waiting_fields(current),
            id=t.pk,
            status=t.state,
            status_label=str(State(t.state).label),
            steps=[State.DRAFT, *t.steps] if t.steps else [State.DRAFT],
            national_number=t.pupil.national_number,
            pupil_name=t.pupil.name,
            origin_school_code=t.origin_school.code,
            origin_school_name=t.origin_school.name,
            origin_county_code=t.origin_county_code,
            dest_school_code=t.dest_school.code,
            dest_school_name=t.dest_school.name,
            dest_county_code=t.dest_county_code,
            origin_grade=t.origin_grade,
            dest_grade=t.dest_grade,
            dest_class_number=t.dest_class_number,
            transfer_date=t.transfer_date,
            reason=t.reason,
            created_at=t.created_at,
            submitted_at=t.submitted_at,
            closed_at=t.closed_at,
        )

    @staticmethod
    def build(t: Transfer, current: Current | None) -> TransferOut:
        return TransferOut(**TransferOut.fields(t, current))


class TransferDetailOut(TransferOut):
    timeline: list[StepOut]
    attachments: list[AttachmentOut]


class TransferPage(Schema):
    items: list[TransferOut]
    page: int
    page_size: int
    has_next: bool


class TransferFilter(Schema):
    at_my_step: bool = Field(False, description="只看待本单位办理的")
    status: str = ""
    school: str = Field("", description="转出或转入学校标识码")
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    q: str = Field("", description="学生姓名（前缀）")
    page: int = 1
    page_size: int = 20


class SchoolCardOut(Schema):
    code: str
    name: str
    county: str


class PupilCardOut(Schema):
    ref: str
    name: str
    sex: str
    birth_date: dt.date
    grade: int
    class_number: int | None


class LookupOut(Schema):
    origin_school_code: str
    origin_school_name: str
    found: list[PupilCardOut]
    close_matches: list[PupilCardOut]
    hint: str | None


def _detail(user, transfer_id: int) -> TransferDetailOut:
    return _detail_of(selectors.transfer_get(user, transfer_id))


def _detail_of(transfer: Transfer) -> TransferDetailOut:
    """The transfer as a service returned it (already read through the scope), with its timeline."""
    return TransferDetailOut(
        **TransferOut.fields(transfer, engine.current_steps(TRANSFER, [transfer])[transfer.pk]),
        timeline=[StepOut(**row) for row in transfer.log.values(*StepOut.model_fields)],
        attachments=[AttachmentOut.build(a) for a in selectors.transfer_attachments(transfer)],
    )


@router.get("/transfers/schools", response=list[SchoolCardOut])
def origin_schools(request, q: str = ""):
    return [SchoolCardOut(code=s.code, name=s.name, county=s.county.full_name()) for s in selectors.origin_school_search(q)]


class TransferLookupIn(Schema):
    origin_school_code: str = Field(max_length=20, description="转出学校标识码（10位）")
    name: str = Field("", max_length=50, description="学生姓名（须完全一致）")
    id_number: str = Field("", max_length=32, description="学生身份证件号（知道时填写）")
    parent_id_number: str = Field("", max_length=32, description="无户籍学生：父亲、母亲或法定监护人的居民身份证号（此时姓名可省略）")


@router.post("/transfers/lookup", response=LookupOut)
def pupil_lookup(request, payload: TransferLookupIn):
    """查询转出学生: recorded (a POST, never a GET); answers the minimal cards and their references."""
    result = lookup.transfer_lookup(user=request.user, **payload.dict())
    return LookupOut(
        origin_school_code=result.origin_school.code,
        origin_school_name=result.origin_school.name,
        found=[PupilCardOut(**vars(c)) for c in result.found],
        close_matches=[PupilCardOut(**vars(c)) for c in result.close],
        hint=None if result.hint is None else str(result.hint),
    )


@router.get("/transfers/lookup", include_in_schema=False)
def pupil_lookup_by_get(request):
    """The lookup used to be a GET; a GET writes nothing, so it is refused with how to ask."""
    raise post_required()


@router.post("/transfers", response={201: TransferDetailOut})
def transfer_create(request, payload: TransferIn):
    data = payload.dict()
    return Status(201, _detail_of(services.transfer_apply(user=request.user, **data)))


@router.get("/transfers", response=TransferPage)
def transfer_list(request, filters: Query[TransferFilter]):
    data = filters.dict()
    page, page_size = data.pop("page"), data.pop("page_size")
    data["state"] = data.pop("status")
    result = paginate(
        search.transfer_search(request.user, search.TransferFilter(**data)), page=page, page_size=page_size
    )
    current = engine.current_steps(TRANSFER, result.items)
    return TransferPage(
        items=[TransferOut.build(t, current[t.pk]) for t in result.items], page=result.page,
        page_size=result.page_size, has_next=result.has_next,
    )


@router.get("/transfers/{int:transfer_id}", response=TransferDetailOut)
def transfer_detail(request, transfer_id: int):
    return _detail(request.user, transfer_id)


@router.post("/transfers/{int:transfer_id}/submit", response=TransferDetailOut)
def transfer_submit(request, transfer_id: int):
    return _detail_of(services.transfer_submit(user=request.user, transfer_id=transfer_id))


@router.post("/transfers/{int:transfer_id}/approve", response=TransferDetailOut)
def transfer_approve(request, transfer_id: int, payload: ReasonIn | None = None):
    reason = payload.reason if payload else ""
    return _detail_of(services.transfer_approve(user=request.user, transfer_id=transfer_id, reason=reason))


@router.post("/transfers/{int:transfer_id}/refuse", response=TransferDetailOut)
def transfer_refuse(request, transfer_id: int, payload: ReasonIn):
    return _detail_of(services.transfer_refuse(user=request.user, transfer_id=transfer_id, reason=payload.reason))


@router.post("/transfers/{int:transfer_id}/send-back", response=TransferDetailOut)
def transfer_send_back(request, transfer_id: int, payload: ReasonIn):
    """退回修改 (school or county approver; reason required): back to the person who filled it in."""
    return _detail_of(services.transfer_send_back(user=request.user, transfer_id=transfer_id, reason=payload.reason))


@router.post("/transfers/{int:transfer_id}/resubmit", response=TransferDetailOut)
def transfer_resubmit(request, transfer_id: int, payload: ReasonIn | None = None):
    """After 退回修改: the person who filled it in hands it to the school's review again."""
    reason = payload.reason if payload else ""
    return _detail_of(services.transfer_resubmit(user=request.user, transfer_id=transfer_id, reason=reason))


@router.post("/transfers/{int:transfer_id}/correct", response=TransferDetailOut)
def transfer_correct(request, transfer_id: int, payload: TransferCorrectIn):
    """After 退回修改: the person who filled it in corrects its fields (the rules of apply) and
    resubmits it to the school's review; the log names each change. Proof material is added
    with ``/attachments``."""
    return _detail_of(services.transfer_correct(user=request.user, transfer_id=transfer_id, **payload.dict()))


@router.post("/transfers/{int:transfer_id}/cancel", response=TransferDetailOut)
def transfer_cancel(request, transfer_id: int, payload: ReasonIn | None = None):
    reason = payload.reason if payload else ""
    return _detail_of(services.transfer_cancel(user=request.user, transfer_id=transfer_id, reason=reason))


@router.post("/transfers/{int:transfer_id}/attachments", response={201: list[AttachmentOut]})
def attachment_upload(request, transfer_id: int, files: list[UploadedFile] = File(...)):
    added = services.transfer_attach(user=request.user, transfer_id=transfer_id, attachments=files)
    return Status(201, [AttachmentOut.build(a) for a in added])


@router.get("/transfers/{int:transfer_id}/attachments/{int:attachment_id}")
def attachment_download(request, transfer_id: int, attachment_id: int):
    attachment = selectors.attachment_get(request.user, transfer_id, attachment_id)
    return attachment_response(attachment)


@router.get("/transfers/{int:transfer_id}/snapshot")
def snapshot(request, transfer_id: int):
    snap = selectors.snapshot_get(request.user, transfer_id)
    return {"transfer": transfer_id, "taken_at": snap.taken_at, "record": snap.data}

