"""新生注册审核 API: ``/api/v1/registrations``.

Registrations under review in the caller's scope, one registration, approve and refuse,
send back (退回修改), resubmit unchanged or corrected.
Each open registration shows its current step, the acting unit and the due date.
"""

from __future__ import annotations

import datetime as dt

from ninja import Field, Router, Schema

from enrolment import registration, selectors
from enrolment.api import GuardianIn
from enrolment.chains import REGISTRATION
from enrolment.models import Registration
from registry.records import GuardianData
from registry.selectors import paginate
from workflow import engine
from workflow.schemas import ReasonIn, WaitingOut, waiting_fields

router = Router(tags=["registration"])


class RegistrationOut(WaitingOut):
    id: int
    state: str
    state_label: str
    national_number: str
    name: str
    pupil_status: str
    school_code: str
    school_name: str
    county_code: str
    grade: int
    source: str
    source_label: str
    source_reason: str
    county_review: bool
    refusal_reason: str
    created_at: dt.datetime
    decided_at: dt.datetime | None

    @staticmethod
    def build(row: Registration, *, current=None) -> RegistrationOut:
        if current is None:
            current = engine.current_steps(REGISTRATION, [row])[row.pk]
        return RegistrationOut(
            **waiting_fields(current),
            id=row.pk, state=row.state, state_label=str(row.get_state_display()),
            national_number=row.pupil.national_number, name=row.pupil.name, pupil_status=row.pupil.status,
            school_code=row.school.code, school_name=row.school.name, county_code=row.county_code, grade=row.grade,
            source=row.source, source_label=str(row.get_source_display()), source_reason=row.source_reason,
            county_review=row.county_review, refusal_reason=row.refusal_reason, created_at=row.created_at,
            decided_at=row.decided_at,
        )


class RegistrationDetailOut(RegistrationOut):
    actions: list[str]


class RegistrationPageOut(Schema):
    items: list[RegistrationOut]
    page: int
    has_next: bool


def _detail(request, registration_id: int) -> RegistrationDetailOut:
    row = selectors.registration_get(request.user, registration_id)
    return RegistrationDetailOut(**RegistrationOut.build(row).dict(),
                                 actions=engine.actions_for(REGISTRATION, request.user, row))


@router.get("/registrations", response=RegistrationPageOut)
def registration_list(request, state: str = "", open_only: bool = True, waiting: bool = False, page: int = 1,
                      page_size: int = 20):
    """Registrations in the caller's scope (by default the open ones, 待审核); ``waiting``: only
    those waiting for the caller's own unit."""
    result = paginate(selectors.registrations_visible_to(request.user, state=state, open_only=open_only,
                                                         waiting=waiting),
                      page=page, page_size=page_size)
    current = engine.current_steps(REGISTRATION, result.items)
    return RegistrationPageOut(items=[RegistrationOut.build(r, current=current[r.pk]) for r in result.items],
                               page=result.page, has_next=result.has_next)


@router.get("/registrations/{registration_id}", response=RegistrationDetailOut)
def registration_detail(request, registration_id: int):
    return _detail(request, registration_id)


@router.post("/registrations/{registration_id}/approve", response=RegistrationDetailOut)
def registration_approve(request, registration_id: int):
    """An approver of the school, then (when the policy asks) of the county; never the operator
    who registered the pupil."""
    registration.registration_approve(user=request.user, registration_id=registration_id)
    return _detail(request, registration_id)


@router.post("/registrations/{registration_id}/refuse", response=RegistrationDetailOut)
def registration_refuse(request, registration_id: int, payload: ReasonIn):
    """Refuse with a reason: the record becomes 注册未通过 (closed, not deleted)."""
    registration.registration_refuse(user=request.user, registration_id=registration_id, reason=payload.reason)
    return _detail(request, registration_id)


@router.post("/registrations/{registration_id}/send-back", response=RegistrationDetailOut)
def registration_send_back(request, registration_id: int, payload: ReasonIn):
    """退回修改 (school or county approver; reason required): back to the person who registered it."""
    registration.registration_send_back(user=request.user, registration_id=registration_id, reason=payload.reason)
    return _detail(request, registration_id)


@router.post("/registrations/{registration_id}/resubmit", response=RegistrationDetailOut)
def registration_resubmit(request, registration_id: int, payload: ReasonIn | None = None):
    """After 退回修改: the person who registered it hands it to the school's review again."""
    registration.registration_resubmit(user=request.user, registration_id=registration_id,
                                       reason=payload.reason if payload else "")
    return _detail(request, registration_id)


class CorrectionIn(Schema):
    """退回修改 answered: the registration's fields and, when given, the record's key fields and
    its family members (all of them, up to four, replacing the stored ones); a field left out
    stays as it is."""

    source: str | None = Field(None, description="学生来源（代码或中文）；非起始年级必填")
    source_reason: str | None = Field(None, description="注册原因；非起始年级必填")
    reason: str = Field("", description="修改说明（可选）")
    name: str | None = None
    sex: str | None = Field(None, description="1 男 / 2 女")
    birth_date: dt.date | None = None
    id_type: str | None = None
    id_number: str | None = None
    guardians: list[GuardianIn] | None = Field(None, description="家庭成员（全部，最多4位）；不填则不变")
    duplicate_reason: str = Field("", description="确认不是同一学生时的理由（更正后存在疑似重复时必填）")


@router.post("/registrations/{registration_id}/correct", response=RegistrationDetailOut)
def registration_correct(request, registration_id: int, payload: CorrectionIn):
    """After 退回修改: the person who registered it corrects the record (checked again as at
    registration, the record never its own duplicate) and resubmits it to the school's review."""
    record = {name: value for name in registration.CORRECTABLE_FIELDS
              if (value := getattr(payload, name)) is not None}
    guardians = None if payload.guardians is None else [GuardianData(**g.dict()) for g in payload.guardians]
    registration.registration_correct(
        user=request.user, registration_id=registration_id, source=payload.source,
        source_reason=payload.source_reason, note=payload.reason, record=record, guardians=guardians,
        duplicate_reason=payload.duplicate_reason,
    )
    return _detail(request, registration_id)
