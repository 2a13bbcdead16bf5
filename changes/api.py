"""Status changes API: ``/api/v1/changes`` (with the 控辍保学 and 休学期满未复学 lists),
``/api/v1/graduations``, ``/api/v1/promotions``.

The same actions as the pages, through the same services; errors are ``{code, message, field}``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from changes import graduations, left_behind, promotions, requests, selectors
from changes import resolution as resolution_services
from changes.models import ChangeRequest, GraduationList
from duplicates import selectors as case_selectors
from duplicates.api import CaseOut, case_out
from kernel.errors import ValidationFailed
from registry.selectors import paginate
from workflow.engine import Current
from workflow.schemas import WaitingOut, waiting_fields

router = Router(tags=["changes"])


class ChangeRequestIn(Schema):
    pupil: str
    kind: str
    payload: dict[str, Any] = {}
    reason: str = ""
    submit: bool = True


class ChangeEventOut(Schema):
    action: str
    from_state: str
    to_state: str
    actor_name: str
    unit_name: str
    note: str
    at: dt.datetime


class EvidenceOut(Schema):
    id: int
    original_name: str
    content_type: str
    size: int


class ChangeRequestOut(WaitingOut):
    id: int
    kind: str
    kind_code: str = Field(description="学籍异动类别的国家代码（代码表 change_kind）")
    state: str
    pupil: str
    pupil_name: str
    school_code: str
    county_code: str
    payload: dict[str, Any]
    reason: str
    refusal_reason: str
    applied: dict[str, Any]
    duplicate_findings: list[Any]
    created_at: dt.datetime
    decided_at: dt.datetime | None

    @staticmethod
    def build(request: ChangeRequest, current: Current | None) -> ChangeRequestOut:
        return ChangeRequestOut(
            **waiting_fields(current),
            id=request.pk, kind=request.kind, kind_code=request.kind_code, state=request.state, pupil=request.pupil.national_number,
            pupil_name=request.pupil.name, school_code=request.school.code, county_code=request.county_code,
            payload=request.payload, reason=request.reason, refusal_reason=request.refusal_reason,
            applied=request.applied, duplicate_findings=request.duplicate_findings,
            created_at=request.created_at, decided_at=request.decided_at,
        )


class ChangeRequestDetailOut(ChangeRequestOut):
    timeline: list[ChangeEventOut]
    evidence: list[EvidenceOut]


class ChangeRequestPage(Schema):
    items: list[ChangeRequestOut]
    page: int
    page_size: int
    has_next: bool


class ChangeFilterIn(Schema):
    state: str = ""
    kind: str = ""
    pupil: str = ""
    page: int = 1
    page_size: int = 20


class ApproveIn(Schema):
    note: str = ""
    acknowledge_duplicates: bool = False


class RefuseIn(Schema):
    reason: str = ""


class DropoutOut(Schema):
    pupil: str
    pupil_name: str
    school_code: str
    county_code: str
    dropped_on: dt.date
    age: int


class SuspensionOverdueOut(Schema):
    pupil: str
    pupil_name: str
    school_code: str
    county_code: str
    grade: int
    until: dt.date
    days_overdue: int
    pending_kind: str | None


def _detail(request_obj: ChangeRequest) -> ChangeRequestDetailOut:
    current = selectors.current_steps([request_obj])[request_obj.pk]
    return ChangeRequestDetailOut(
        **ChangeRequestOut.build(request_obj, current).dict(),
        timeline=[ChangeEventOut(action=e.action, from_state=e.from_state, to_state=e.to_state,
                                 actor_name=e.actor_name, unit_name=e.unit_name, note=e.reason, at=e.at)
                  for e in selectors.timeline(request_obj)],
        evidence=[EvidenceOut(id=e.pk, original_name=e.original_name, content_type=e.content_type, size=e.size)
                  for e in request_obj.evidence.all()],
    )


@router.get("/changes", response=ChangeRequestPage)
def change_list(request, filters: Query[ChangeFilterIn]):
    data = filters.dict()
    page = paginate(
        selectors.change_requests_visible_to(
            request.user, selectors.ChangeFilter(state=data["state"], kind=data["kind"], pupil=data["pupil"])
        ),
        page=data["page"],
        page_size=data["page_size"],
    )
    current = selectors.current_steps(page.items)
    return ChangeRequestPage(items=[ChangeRequestOut.build(r, current[r.pk]) for r in page.items], page=page.page,
                             page_size=page.page_size, has_next=page.has_next)


@router.post("/changes", response={201: ChangeRequestDetailOut})
def change_open(request, payload: ChangeRequestIn):
    obj = requests.change_request_open(
        user=request.user, pupil=payload.pupil, kind=payload.kind, payload=payload.payload,
        reason=payload.reason, submit=payload.submit,
    )
    return Status(201, _detail(obj))


@router.get("/changes/dropouts", response=list[DropoutOut])
def dropout_list(request):
    """控辍保学: compulsory-age drop-outs in the caller's scope still being followed up."""
    return [
        DropoutOut(pupil=f.pupil.national_number, pupil_name=f.pupil.name, school_code=f.school.code,
                   county_code=f.county_code, dropped_on=f.dropped_on, age=f.age)
        for f in selectors.dropout_followups(request.user)[:1000]
    ]


@router.get("/changes/suspensions-overdue", response=list[SuspensionOverdueOut])
def suspensions_overdue(request):
    """休学期满未复学: pupils in the caller's scope still 休学 after their end date."""
    today = timezone.localdate()
    return [
        SuspensionOverdueOut(pupil=p.national_number, pupil_name=p.name, school_code=p.school.code,
                             county_code=p.county_code, grade=p.grade, until=p.status_until,
                             days_overdue=(today - p.status_until).days, pending_kind=p.pending_kind)
        for p in selectors.overdue_suspensions(request.user, today=today)[:1000]
    ]


class LeftBehindCampaignIn(Schema):
    school_year: int = Field(description="学年（开始年份）")
    closes_on: dt.date = Field(description="登记截止日期（各校待办的期限）")


class LeftBehindSchoolOut(Schema):
    school_code: str
    school_name: str
    pupils: int
    confirmed: int
    done: bool


class LeftBehindCampaignOut(Schema):
    id: int
    county_code: str
    school_year: int
    closes_on: dt.date
    schools: list[LeftBehindSchoolOut]


class LeftBehindConfirmIn(Schema):
    pupils: list[str] = Field(description="本校在籍学生的全国学籍号")


class LeftBehindPupilOut(Schema):
    national_number: str
    name: str
    school_code: str
    grade: int
    left_behind: str
    migrant: str


def _campaign_out(request, campaign) -> LeftBehindCampaignOut:
    return LeftBehindCampaignOut(
        id=campaign.pk, county_code=campaign.county_code, school_year=campaign.school_year,
        closes_on=campaign.closes_on,
        schools=[LeftBehindSchoolOut(school_code=p.school.code, school_name=p.school.name, pupils=p.pupils,
                                     confirmed=p.confirmed, done=p.done)
                 for p in left_behind.left_behind_progress(request.user, campaign)],
    )


@router.post("/changes/left-behind", response={201: LeftBehindCampaignOut})
def left_behind_open(request, payload: LeftBehindCampaignIn):
    """留守儿童/随迁子女年度登记: a county opens its campaign for a school year (409
    ``campaign_exists`` for a second one); each of its schools gets a 待办."""
    campaign = left_behind.left_behind_campaign_open(user=request.user, school_year=payload.school_year,
                                                     closes_on=payload.closes_on)
    return Status(201, _campaign_out(request, campaign))


@router.get("/changes/left-behind/{int:campaign_id}", response=LeftBehindCampaignOut)
def left_behind_get(request, campaign_id: int):
    """The campaign with each school's progress (在籍 pupils, confirmed) in the caller's scope."""
    return _campaign_out(request, left_behind.left_behind_campaign_get(request.user, campaign_id))


@router.get("/changes/left-behind/{int:campaign_id}/unconfirmed", response=list[LeftBehindPupilOut])
def left_behind_unconfirmed(request, campaign_id: int, school: str = ""):
    """在籍 pupils in the caller's scope not yet confirmed (at most 5,000)."""
    campaign = left_behind.left_behind_campaign_get(request.user, campaign_id)
    return [LeftBehindPupilOut(national_number=p.national_number, name=p.name, school_code=p.school.code,
                               grade=p.grade, left_behind=p.left_behind, migrant=p.migrant)
            for p in left_behind.left_behind_unconfirmed(request.user, campaign, school_code=school)[:5000]]


@router.post("/changes/left-behind/{int:campaign_id}/confirm", response=LeftBehindCampaignOut)
def left_behind_confirm(request, campaign_id: int, payload: LeftBehindConfirmIn):
    """The school confirms pupils of its own (404 ``pupil_not_found`` naming any other number)."""
    left_behind.left_behind_confirm(user=request.user, campaign_id=campaign_id, national_numbers=payload.pupils)
    return _campaign_out(request, left_behind.left_behind_campaign_get(request.user, campaign_id))


@router.get("/changes/{int:request_id}", response=ChangeRequestDetailOut)
def change_detail(request, request_id: int):
    return _detail(selectors.change_request_get(request.user, request_id))


@router.post("/changes/{int:request_id}/submit", response=ChangeRequestDetailOut)
def change_submit(request, request_id: int):
    return _detail(requests.change_request_submit(user=request.user, request_id=request_id))


@router.post("/changes/{int:request_id}/approve", response=ChangeRequestDetailOut)
def change_approve(request, request_id: int, payload: ApproveIn = None):
    payload = payload or ApproveIn()
    return _detail(requests.change_request_approve(
        user=request.user, request_id=request_id, note=payload.note,
        acknowledge_duplicates=payload.acknowledge_duplicates,
    ))


@router.post("/changes/{int:request_id}/refuse", response=ChangeRequestDetailOut)
def change_refuse(request, request_id: int, payload: RefuseIn):
    return _detail(requests.change_request_refuse(user=request.user, request_id=request_id, reason=payload.reason))


@router.post("/changes/{int:request_id}/send-back", response=ChangeRequestDetailOut)
def change_send_back(request, request_id: int, payload: RefuseIn):
    """退回修改 (school or county approver; reason required): back to the initiator's draft,
    who submits it again (``/submit``)."""
    return _detail(requests.change_request_send_back(user=request.user, request_id=request_id, reason=payload.reason))


@router.post("/changes/{int:request_id}/withdraw", response=ChangeRequestDetailOut)
def change_withdraw(request, request_id: int):
    return _detail(requests.change_request_withdraw(user=request.user, request_id=request_id))


@router.post("/changes/{int:request_id}/evidence", response={201: EvidenceOut})
def change_evidence(request, request_id: int, file: File[UploadedFile]):
    item = requests.evidence_add(user=request.user, request_id=request_id, upload=file)
    return Status(201, EvidenceOut(id=item.pk, original_name=item.original_name, content_type=item.content_type,
                                   size=item.size))


# --- graduation ---------------------------------------------------------------------

class GraduationIn(Schema):
    school_year: int | None = None
    outcomes: dict[str, str] = {}
    submit: bool = True


class GraduationEntryOut(Schema):
    pupil: str
    name: str
    grade: int
    outcome: str
    applied: bool


class GraduationOut(WaitingOut):
    id: int
    school_code: str
    school_year: int
    state: str
    refusal_reason: str
    entries: list[GraduationEntryOut]

    @staticmethod
    def build(graduation: GraduationList, current: Current | None) -> GraduationOut:
        return GraduationOut(
            **waiting_fields(current),
            id=graduation.pk, school_code=graduation.school.code, school_year=graduation.school_year,
            state=graduation.state, refusal_reason=graduation.refusal_reason,
            entries=[
                GraduationEntryOut(pupil=e.pupil.national_number, name=e.pupil.name, grade=e.pupil.grade,
                                   outcome=e.outcome, applied=e.applied)
                for e in graduation.entries.select_related("pupil").order_by("pupil__grade", "pupil__name")
            ],
        )


def _graduation_out(graduation: GraduationList) -> GraduationOut:
    return GraduationOut.build(graduation, selectors.current_steps([graduation])[graduation.pk])


@router.get("/graduations", response=list[GraduationOut], tags=["graduations"])
def graduation_list(request):
    lists = list(selectors.graduation_lists_visible_to(request.user)[:100])
    current = selectors.current_steps(lists)
    return [GraduationOut.build(g, current[g.pk]) for g in lists]


@router.post("/graduations", response={201: GraduationOut}, tags=["graduations"])
def graduation_propose(request, payload: GraduationIn):
    graduation = graduations.graduation_propose(
        user=request.user, school_year=payload.school_year, outcomes=payload.outcomes, submit=payload.submit
    )
    return Status(201, _graduation_out(graduation))


@router.get("/graduations/{int:graduation_id}", response=GraduationOut, tags=["graduations"])
def graduation_detail(request, graduation_id: int):
    return _graduation_out(selectors.graduation_get(request.user, graduation_id))


@router.post("/graduations/{int:graduation_id}/submit", response=GraduationOut, tags=["graduations"])
def graduation_submit(request, graduation_id: int):
    return _graduation_out(graduations.graduation_submit(user=request.user, graduation_id=graduation_id))


@router.post("/graduations/{int:graduation_id}/approve", response=GraduationOut, tags=["graduations"])
def graduation_approve(request, graduation_id: int, payload: ApproveIn = None):
    note = payload.note if payload else ""
    return _graduation_out(graduations.graduation_approve(user=request.user, graduation_id=graduation_id, note=note))


@router.post("/graduations/{int:graduation_id}/refuse", response=GraduationOut, tags=["graduations"])
def graduation_refuse(request, graduation_id: int, payload: RefuseIn):
    return _graduation_out(
        graduations.graduation_refuse(user=request.user, graduation_id=graduation_id, reason=payload.reason)
    )


@router.post("/graduations/{int:graduation_id}/withdraw", response=GraduationOut, tags=["graduations"])
def graduation_withdraw(request, graduation_id: int):
    return _graduation_out(graduations.graduation_withdraw(user=request.user, graduation_id=graduation_id))


# --- promotion ----------------------------------------------------------------------

class YearPromotionIn(Schema):
    school_year: int | None = None


@router.post("/promotions", response={202: dict}, tags=["promotions"])
def promotion_start(request, payload: YearPromotionIn):
    run = promotions.promotion_start(user=request.user, school_year=payload.school_year)
    return Status(202, selectors.promotion_progress(run))


@router.get("/promotions/{int:run_id}", response=dict, tags=["promotions"])
def promotion_detail(request, run_id: int):
    return selectors.promotion_progress(selectors.promotion_run_get(request.user, run_id))


# --- resolving duplicate cases (疑似重复学籍处理) ------------------------------------------

@router.post("/duplicate-cases/{case_id}/resolve", response=CaseOut, tags=["duplicates"])
def case_resolve(
    request,
    case_id: int,
    resolution: Form[str],
    note: Form[str] = "",
    pupil: Form[str] = "",
    payload: Form[str] = "",
    evidence: File[UploadedFile] = None,
):
    """Resolve a duplicate case (the path of the duplicate-case API; here because 变更 opens
    a key change). resolution: ``evidence`` 佐证 (with the file ``evidence``), ``change`` 变更 (``pupil`` +
    ``payload``: JSON of the corrected key fields), ``delete`` 删除 (``pupil`` + ``note``)."""
    fields = {}
    if resolution == "change":
        try:
            fields = json.loads(payload or "{}")
        except ValueError as exc:
            raise ValidationFailed(_("payload 不是有效的 JSON"), code="invalid_payload", field="payload") from exc
    resolution_services.case_resolve(user=request.user, case_id=case_id, resolution=resolution, pupil=pupil,
                                     note=note, payload=fields, evidence=evidence)
    return case_out(case_selectors.case_detail_for(request.user, case_id))
