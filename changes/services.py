"""Services of status changes (学籍异动), graduation (毕业) and promotion (升级).

Every service takes the acting user, checks scope and the rules, writes in one
transaction under ``acting_as`` (pghistory records the field changes) and logs the write.
Transitions lock the chain row (``select_for_update``) and check its state first, so a
double click or a lost race gets ``Conflict`` (409), never a second move.

The one chain (``changes.models.TRANSITIONS``): school operator opens and submits →
school approver (never the initiator) → county approver → approved and applied | refused
(with a reason) | withdrawn (by the initiator, until the county decides).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.audit import acting_as
from accounts.models import Membership
from accounts.permissions import require_role
from accounts.scope import get_in_scope
from changes import rules
from changes.models import (
    STATE_ORDER,
    STEP_ACTOR,
    TRANSITIONS,
    ApprovalChain,
    ChangeRequest,
    Evidence,
    GraduationEntry,
    GraduationList,
    PromotionRun,
    PromotionSchool,
    State,
    first_review_state,
)
from duplicates import entry
from enrolment.checks import id_held_elsewhere_error
from kernel.errors import BusinessRefused, Conflict, Forbidden, ValidationFailed
from kernel.proof import check_proof, check_proofs, require_room
from provinces.models import ProvincePolicy
from registry.history import history_entry, record_event
from registry.models import HistoryEntry, Pupil, PupilStatus
from schools.classes import class_for
from schools.models import GRADE_NAMES, School, SchoolClass
from workflow import business, workitems
from workflow.models import ChainEvent, OpenBusiness

log = logging.getLogger("changes")

Role = Membership.Role
INITIATOR_ROLES = (Role.OPERATOR, Role.APPROVER)


# --- the shared chain ---------------------------------------------------------------

def _membership(user) -> Membership:
    membership = getattr(user, "membership", None) if user is not None and user.is_authenticated else None
    if membership is None:
        raise Forbidden(_("您没有所属单位，不能办理此业务"), code="no_unit")
    return membership


def _locked(model, user, pk: int):
    """The chain row, in scope (else 404), locked for this transaction."""
    get_in_scope(model.objects.all(), user, pk=pk)
    return model.objects.select_for_update(of=("self",)).select_related("school").get(pk=pk)


def _log(chain: ApprovalChain, user, action: str, from_state: str, to_state: str, note: str = "") -> None:
    membership = getattr(user, "membership", None)
    ChainEvent.objects.create(
        content_type=ContentType.objects.get_for_model(chain),
        object_id=chain.pk,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor=user,
        actor_name=user.get_username(),
        unit_code=membership.unit_code if membership else "",
        unit_name=str(membership.unit_name) if membership else "",
        note=str(note)[:500],
        county_code=chain.county_code,
        school=chain.school,
    )
    log.info(
        "%s %s %s: %s → %s by %s", chain._meta.model_name, chain.pk, action, from_state, to_state, user.get_username()
    )


def _move(chain: ApprovalChain, user, action: str, *, to_state: str | None = None, note: str = "") -> None:
    """One transition from the table; the state was checked by the caller under the row lock."""
    from_state = chain.state
    allowed = TRANSITIONS[action]
    if from_state not in allowed:
        raise _state_changed(chain)
    chain.state = to_state or allowed[from_state]
    _log(chain, user, action, from_state, chain.state, note)


def _state_changed(chain: ApprovalChain) -> Conflict:
    return Conflict(
        _("该申请当前状态为“%(state)s”，已有人办理过此环节，请刷新页面") % {"state": chain.get_state_display()},
        code="state_changed",
    )


def _acting_step(chain: ApprovalChain, user) -> str:
    """The review step ``user`` acts at on ``chain``, after every check of who and when.

    Refuses: a user of another unit or role (``not_your_step``), the initiator (two-person
    rule, ``same_person``), a step the chain has not reached (``step_not_reached``) and a
    step already done (``state_changed``, 409).
    """
    membership = _membership(user)
    step = None
    for state, (level, role) in STEP_ACTOR.items():
        unit_ok = (
            membership.school_id == chain.school_id if level == "school" else membership.division_id == chain.county_code
        )
        if membership.level == level and unit_ok:
            step = state
            if membership.role != role:
                raise Forbidden(_("只有学籍主管领导可以审核"), code="role_forbidden")
    if step is None:
        raise Forbidden(_("此申请不在您的审核环节"), code="not_your_step")
    if chain.initiator_id == user.pk:
        raise Forbidden(_("申请人不能审核自己提交的申请（双人核验）"), code="same_person")
    if chain.state != step:
        if chain.state in STATE_ORDER and STATE_ORDER[chain.state] < STATE_ORDER[step]:
            raise Conflict(
                _("该申请尚未到达您的审核环节（当前：%(state)s）") % {"state": chain.get_state_display()},
                code="step_not_reached",
            )
        raise _state_changed(chain)
    return step


def _chain_kind(chain: ApprovalChain) -> str:
    return chain.business_kind if isinstance(chain, ChangeRequest) else "graduation"


def _chain_url(chain: ApprovalChain) -> str:
    if isinstance(chain, ChangeRequest):
        return reverse("changes:detail", args=[chain.pk])
    return reverse("changes:graduation_detail", args=[chain.pk])


def _open_step_item(chain: ApprovalChain) -> None:
    """Put the chain's current review step in the queue of the unit that acts on it."""
    workitems.workitem_close(subject=chain)
    if chain.state == State.SCHOOL_REVIEW:
        unit = {"school": chain.school}
    elif chain.state == State.COUNTY_REVIEW:
        unit = {"division_code": chain.county_code}
    else:
        return
    workitems.workitem_open(
        subject=chain,
        kind=_chain_kind(chain),
        title=_title(chain),
        url=_chain_url(chain),
        role=Role.APPROVER,
        **unit,
    )


def _title(chain: ApprovalChain) -> str:
    if isinstance(chain, ChangeRequest):
        return str(
            _("学籍异动（%(kind)s）：%(name)s，%(school)s，%(state)s")
            % {"kind": chain.get_kind_display(), "name": chain.pupil.name, "school": chain.school.name,
               "state": chain.get_state_display()}
        )
    return str(
        _("毕业名单：%(school)s %(year)s年，%(state)s")
        % {"school": chain.school.name, "year": chain.school_year, "state": chain.get_state_display()}
    )


def _close(chain: ApprovalChain) -> None:
    chain.decided_at = timezone.now()
    workitems.workitem_close(subject=chain)
    if isinstance(chain, ChangeRequest):
        business.business_end(subject=chain)


def _initiator_level(user, *, school: School, key_change_or_county_ok: bool) -> str:
    """Who may start a chain: an operator or approver of the school; for key changes also
    a user of the school's county (duplicate-case 变更), whose chain starts at the county."""
    membership = _membership(user)
    require_role(user, *INITIATOR_ROLES)
    if membership.school_id == school.pk:
        return "school"
    if key_change_or_county_ok and membership.division_id == school.county_id:
        return "county"
    raise Forbidden(_("只有学生所在学校可以发起此项学籍异动"), code="school_only")


def _submit(chain: ApprovalChain, user) -> None:
    chain.submitted_at = timezone.now()
    _move(chain, user, "submit", to_state=first_review_state(chain.initiator_level))
    if chain.state == State.COUNTY_REVIEW and isinstance(chain, ChangeRequest):
        _run_duplicate_check(chain)
    chain.save()
    _open_step_item(chain)


def _withdraw(model, *, user, pk: int) -> ApprovalChain:
    with transaction.atomic(), acting_as(user):
        chain = _locked(model, user, pk)
        if chain.initiator_id != user.pk:
            raise Forbidden(_("只有申请人可以撤回申请"), code="not_initiator")
        if not chain.is_open:
            raise _state_changed(chain)
        _move(chain, user, "withdraw")
        _close(chain)
        chain.save()
    return chain


def _refuse(model, *, user, pk: int, reason: str) -> ApprovalChain:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("不通过时必须填写理由"), code="reason_required", field="reason")
    with transaction.atomic(), acting_as(user):
        chain = _locked(model, user, pk)
        _acting_step(chain, user)
        _move(chain, user, "refuse", note=reason)
        chain.refusal_reason = reason[:500]
        _close(chain)
        chain.save()
    return chain


# --- change requests (学籍异动) ---------------------------------------------------------

def change_request_open(
    *,
    user,
    pupil: Pupil | str,
    kind: str,
    payload: dict,
    reason: str = "",
    evidence=(),
    submit: bool = True,
    today: dt.date | None = None,
) -> ChangeRequest:
    """Open a change request for a pupil (and submit it unless ``submit=False``).

    ``pupil`` is a Pupil or its national student number. The request becomes the pupil's
    在办业务 until it is decided or withdrawn. ``evidence`` are uploaded files.
    """
    today = today or timezone.localdate()
    number = pupil if isinstance(pupil, str) else pupil.national_number
    found = get_in_scope(Pupil.objects.select_related("school"), user, national_number=number.strip().upper())
    level = _initiator_level(user, school=found.school, key_change_or_county_ok=kind == ChangeRequest.Kind.KEY_CHANGE)
    files = check_proofs(evidence, field="evidence")
    with transaction.atomic(), acting_as(user):
        locked = Pupil.objects.select_for_update(of=("self",)).select_related("school", "school_class").get(pk=found.pk)
        cleaned = rules.check(kind, pupil=locked, payload=payload or {}, today=today)
        business.require_no_open_business(locked)
        request = ChangeRequest.objects.create(
            pupil=locked,
            kind=kind,
            payload=cleaned,
            reason=str(reason or "")[:500],
            school=locked.school,
            county_code=locked.county_code,
            initiator=user,
            initiator_level=level,
        )
        business.business_begin(pupil=locked, kind=request.business_kind, subject=request)
        _log(request, user, "open", "", State.DRAFT, reason)
        for checked in files:
            _store_evidence(request, checked, user)
        if submit:
            _require_evidence(request)
            _submit(request, user)
    return request


def change_request_submit(*, user, request_id: int) -> ChangeRequest:
    with transaction.atomic(), acting_as(user):
        request = _locked(ChangeRequest, user, request_id)
        if request.initiator_id != user.pk:
            raise Forbidden(_("只有申请人可以提交申请"), code="not_initiator")
        if request.state != State.DRAFT:
            raise _state_changed(request)
        pupil = Pupil.objects.select_for_update(of=("self",)).get(pk=request.pupil_id)
        rules.check(request.kind, pupil=pupil, payload=request.payload, today=timezone.localdate(),
                    filed_on=request.created_at.date())
        _require_evidence(request)
        _submit(request, user)
    return request


def change_request_approve(*, user, request_id: int, note: str = "", acknowledge_duplicates: bool = False) -> ChangeRequest:
    """Approve the request at the user's step; the county's approval applies the change."""
    with transaction.atomic(), acting_as(user):
        request = _locked(ChangeRequest, user, request_id)
        step = _acting_step(request, user)
        if step == State.SCHOOL_REVIEW:
            request.school_approver = user
            _move(request, user, "approve", note=note)
            _run_duplicate_check(request)
            request.save()
            _open_step_item(request)
        else:
            if request.duplicate_findings and not acknowledge_duplicates:
                raise BusinessRefused(
                    _("变更后的信息与其他学籍疑似重复，请核对后确认再审核通过"),
                    code="likely_duplicate",
                    details=request.duplicate_findings,
                )
            request.county_approver = user
            _move(request, user, "approve", note=note)
            _close(request)
            _apply(request, user)
            request.save()
    return request


def change_request_refuse(*, user, request_id: int, reason: str) -> ChangeRequest:
    return _refuse(ChangeRequest, user=user, pk=request_id, reason=reason)


def change_request_withdraw(*, user, request_id: int) -> ChangeRequest:
    return _withdraw(ChangeRequest, user=user, pk=request_id)


def evidence_add(*, user, request_id: int, upload) -> Evidence:
    """Attach one file to an open request; only the initiating unit adds material."""
    checked = check_proof(upload, field="evidence")
    with transaction.atomic(), acting_as(user):
        request = _locked(ChangeRequest, user, request_id)
        membership = _membership(user)
        own_unit = membership.school_id == request.school_id or (
            request.initiator_level == "county" and membership.division_id == request.county_code
        )
        if not own_unit:
            raise Forbidden(_("只有申请单位可以上传证明材料"), code="not_initiator")
        if not request.is_open:
            raise _state_changed(request)
        require_room(already=request.evidence.count(), adding=1, field="evidence")
        return _store_evidence(request, checked, user)


def _store_evidence(request: ChangeRequest, checked, user) -> Evidence:
    item = Evidence(
        request=request,
        stored_name=checked.stored_name(),
        original_name=checked.original_name,
        content_type=checked.content_type,
        size=len(checked.content),
        uploaded_by=user,
    )
    item.file.save(item.stored_name, ContentFile(checked.content), save=False)
    item.save()
    log.info("evidence %s (%s bytes) added to change request %s", item.stored_name, item.size, request.pk)
    return item


def _require_evidence(request: ChangeRequest) -> None:
    if request.kind in rules.EVIDENCE_REQUIRED and not request.evidence.exists():
        raise BusinessRefused(
            _("%(kind)s须上传证明材料（如死亡证明）后才能提交") % {"kind": request.get_kind_display()},
            code="evidence_required",
            field="evidence",
        )


def _run_duplicate_check(request: ChangeRequest) -> None:
    """The duplicate-check hook, before the county step of a key change."""
    if request.kind != ChangeRequest.Kind.KEY_CHANGE:
        return
    data = rules.merged_record(request.pupil, request.payload)
    request.duplicate_findings = entry.likely_duplicates(data, exclude_pk=request.pupil_id) or []


def _apply(request: ChangeRequest, user) -> None:
    """Apply an approved request to the pupil, with its history, in the caller's transaction."""
    pupil = Pupil.objects.select_for_update(of=("self",)).select_related("school", "school_class").get(pk=request.pupil_id)
    rules.check(request.kind, pupil=pupil, payload=_recheck_payload(request), today=timezone.localdate(),
                filed_on=request.created_at.date())
    applied = rules.apply(request, pupil, today=timezone.localdate())
    try:
        with transaction.atomic():
            pupil.save()
    except IntegrityError as exc:
        if "one_active_pupil_per_id_number" in str(exc):
            from enrolment.checks import active_holder_of

            raise id_held_elsewhere_error(active_holder_of(pupil.id_number, exclude_pk=pupil.pk)) from exc
        raise
    request.applied = {"before": applied.before, "after": applied.after}
    record_event(
        pupil,
        kind=f"change_{request.kind}",
        summary=_summary(request),
        user=user,
        data={"request": request.pk, "before": applied.before, "after": applied.after},
    )
    for kind, summary, data in applied.events:
        record_event(pupil, kind=kind, summary=summary, user=user, data={**data, "request": request.pk})


def _recheck_payload(request: ChangeRequest) -> dict:
    # Cleaned payloads carry derived keys; drop them before the check runs again.
    return {k: v for k, v in request.payload.items() if k != "previous_until"}


def _summary(request: ChangeRequest) -> str:
    data = request.payload
    K = ChangeRequest.Kind
    parts = {
        K.SUSPEND: _("休学，%(start)s 至 %(until)s"),
        K.SUSPEND_EXTEND: _("延长休学至 %(until)s"),
        K.RESUME: _("复学，回到%(grade)s年级%(class_number)s班"),
        K.REPEAT: _("留级，转入%(grade)s年级%(class_number)s班"),
        K.SKIP: _("跳级，转入%(grade)s年级%(class_number)s班"),
        K.DROP_OUT: _("辍学（%(date)s）"),
        K.ABROAD: _("出境学习（%(date)s，%(destination)s）"),
        K.DEATH: _("死亡（%(date)s）"),
        K.REINSTATE: _("恢复学籍，回到%(grade)s年级%(class_number)s班"),
    }
    if request.kind == K.KEY_CHANGE:
        before = request.applied.get("before", {})
        after = request.applied.get("after", {})
        changes = "；".join(
            f"{Pupil._meta.get_field(field).verbose_name}：{before.get(field) or '—'} → {after.get(field) or '—'}"
            for field in after
            if field != "national_number"
        )
        return str(_("关键信息变更：%(changes)s") % {"changes": changes})
    return str(parts[request.kind] % data)


# --- graduation (毕业) -----------------------------------------------------------------

def graduation_propose(
    *,
    user,
    school_year: int | None = None,
    outcomes: dict[str, str] | None = None,
    submit: bool = True,
    today: dt.date | None = None,
) -> GraduationList:
    """A school proposes its graduating list: every 在读 pupil of its graduating grades.

    ``school_year`` is the year of the graduation (the next one whose deadline has not
    passed by default). ``outcomes`` maps national numbers to 结业/肄业
    (``completed``/``incomplete``); the rest graduate (毕业).
    """
    membership = _membership(user)
    require_role(user, *INITIATOR_ROLES)
    if not membership.school_id:
        raise Forbidden(_("毕业名单由学校提出"), code="school_only")
    school = membership.school
    today = today or timezone.localdate()
    policy = ProvincePolicy.for_province(school.county_id)
    school_year = school_year or rules.next_graduation_year(today, policy)
    refusal = rules.graduation_refusal(school_year, today=today, policy=policy)
    if refusal is not None:
        raise refusal
    outcomes = outcomes or {}
    for number, outcome in outcomes.items():
        if outcome not in GraduationEntry.Outcome.values:
            raise ValidationFailed(
                _("学生 %(number)s 的毕业结果“%(outcome)s”无效") % {"number": number, "outcome": outcome},
                code="invalid_outcome",
                field="outcomes",
            )
    pupils = list(
        Pupil.objects.filter(
            school=school, status=PupilStatus.ENROLLED, grade__in=school.graduating_grades()
        ).order_by("grade", "school_class__number", "name")
    )
    if not pupils:
        raise BusinessRefused(_("本校没有毕业年级的在读学生"), code="no_graduates")
    known = {p.national_number for p in pupils}
    for number in outcomes:
        if number not in known:
            raise ValidationFailed(
                _("学生 %(number)s 不在本校毕业年级的在读学生中") % {"number": number},
                code="not_graduating",
                field="outcomes",
            )
    with transaction.atomic(), acting_as(user):
        try:
            with transaction.atomic():
                graduation = GraduationList.objects.create(
                    school=school, county_code=school.county_id, school_year=school_year, initiator=user,
                    initiator_level="school",
                )
        except IntegrityError:
            raise Conflict(
                _("本校%(year)s年的毕业名单已经提出") % {"year": school_year}, code="graduation_list_exists"
            ) from None
        GraduationEntry.objects.bulk_create(
            GraduationEntry(graduation=graduation, pupil=p, outcome=outcomes.get(p.national_number, "graduated"))
            for p in pupils
        )
        _log(graduation, user, "open", "", State.DRAFT)
        if submit:
            _submit(graduation, user)
    return graduation


def _province_policy_of(user) -> ProvincePolicy:
    membership = _membership(user)
    return ProvincePolicy.for_province(membership.school.county_id if membership.school_id else membership.division_id)


def default_graduation_year(user, *, today: dt.date | None = None) -> int:
    """The year a new graduation list is for: the next one whose deadline has not passed."""
    return rules.next_graduation_year(today or timezone.localdate(), _province_policy_of(user))


def default_school_year(user, *, today: dt.date | None = None) -> int:
    """The school year a promotion is for: the one that has started."""
    return rules.school_year_under_way(today or timezone.localdate(), _province_policy_of(user))


def graduation_submit(*, user, graduation_id: int) -> GraduationList:
    with transaction.atomic(), acting_as(user):
        graduation = _locked(GraduationList, user, graduation_id)
        if graduation.initiator_id != user.pk:
            raise Forbidden(_("只有申请人可以提交申请"), code="not_initiator")
        if graduation.state != State.DRAFT:
            raise _state_changed(graduation)
        _submit(graduation, user)
    return graduation


def graduation_approve(*, user, graduation_id: int, note: str = "", today: dt.date | None = None) -> GraduationList:
    """School approver, then county approver, both by the graduation deadline; the county's
    approval graduates the pupils and locks their basic data (基础信息锁定)."""
    today = today or timezone.localdate()
    with transaction.atomic(), acting_as(user):
        graduation = _locked(GraduationList, user, graduation_id)
        step = _acting_step(graduation, user)
        refusal = rules.graduation_refusal(
            graduation.school_year, today=today, policy=ProvincePolicy.for_province(graduation.county_code)
        )
        if refusal is not None:
            raise refusal
        if step == State.SCHOOL_REVIEW:
            graduation.school_approver = user
            _move(graduation, user, "approve", note=note)
            graduation.save()
            _open_step_item(graduation)
        else:
            graduation.county_approver = user
            _move(graduation, user, "approve", note=note)
            _close(graduation)
            graduation.save()
            _graduate(graduation, user)
    return graduation


def graduation_refuse(*, user, graduation_id: int, reason: str) -> GraduationList:
    return _refuse(GraduationList, user=user, pk=graduation_id, reason=reason)


def graduation_withdraw(*, user, graduation_id: int) -> GraduationList:
    return _withdraw(GraduationList, user=user, pk=graduation_id)


def _graduate(graduation: GraduationList, user) -> None:
    """Graduate every listed pupil still 在读 in the school without other open business."""
    entries = list(graduation.entries.select_related("pupil"))
    busy = set(OpenBusiness.objects.filter(pupil__in=[e.pupil_id for e in entries]).values_list("pupil_id", flat=True))
    history = []
    for outcome in GraduationEntry.Outcome.values:
        ids = [e.pupil_id for e in entries if e.outcome == outcome and e.pupil_id not in busy]
        eligible = list(
            Pupil.objects.select_for_update(of=("self",))
            .filter(pk__in=ids, status=PupilStatus.ENROLLED, school=graduation.school)
            .values_list("pk", flat=True)
        )
        Pupil.objects.filter(pk__in=eligible).update(status=outcome, basic_data_locked=True, updated_at=timezone.now())
        GraduationEntry.objects.filter(graduation=graduation, pupil_id__in=eligible).update(applied=True)
        label = GraduationEntry.Outcome(outcome).label
        history += [
            history_entry(
                pupil_id=pk, kind="graduated", school_id=graduation.school_id, user=user,
                summary=_("%(year)s年%(outcome)s（%(school)s），基础信息已锁定")
                % {"year": graduation.school_year, "outcome": label, "school": graduation.school.name},
                data={"graduation": graduation.pk, "outcome": outcome},
            )
            for pk in eligible
        ]
    HistoryEntry.objects.bulk_create(history)
    log.info("graduation list %s applied: %s pupils", graduation.pk, len(history))


# --- promotion (升级) -------------------------------------------------------------------

def promotion_start(*, user, school_year: int | None = None, today: dt.date | None = None) -> PromotionRun:
    """The province admin starts (or resumes) its province's promotion for a school year,
    on or after the province's promotion date (the school year under way by default).

    One row per school and school year is the idempotency key: starting again only queues
    the schools not done yet. The work runs as one Celery task per school.
    """
    membership = _membership(user)
    if membership.role != Role.ADMIN or membership.level != "province":
        raise Forbidden(_("只有省级管理员可以执行升级"), code="province_admin_only")
    today = today or timezone.localdate()
    province = membership.division
    policy = ProvincePolicy.for_province(province.code)
    school_year = school_year or rules.school_year_under_way(today, policy)
    refusal = rules.promotion_refusal(school_year, today=today, policy=policy)
    if refusal is not None:
        raise refusal
    with transaction.atomic(), acting_as(user):
        run, _created = PromotionRun.objects.get_or_create(
            province=province, school_year=school_year, defaults={"started_by": user}
        )
        done = set(PromotionSchool.objects.filter(school_year=school_year).values_list("school_id", flat=True))
        PromotionSchool.objects.bulk_create(
            [
                PromotionSchool(run=run, school=school, school_year=school_year)
                for school in School.objects.filter(county__code__startswith=province.code).exclude(pk__in=done)
            ],
            ignore_conflicts=True,
        )
        pending = list(run.schools.exclude(status=PromotionSchool.Status.DONE).values_list("pk", flat=True))
        if pending and run.status == PromotionRun.Status.DONE:
            PromotionRun.objects.filter(pk=run.pk).update(status=PromotionRun.Status.RUNNING, finished_at=None)
        log.info("promotion %s of %s started by %s: %s schools queued", school_year, province.code,
                 user.get_username(), len(pending))

        def queue():
            from changes.tasks import promote_school

            for pk in pending:
                promote_school.delay(pk)

        transaction.on_commit(queue)
    if not pending:
        _finish_run(run.pk)
    run.refresh_from_db()
    return run


def promotion_school_apply(*, part_id: int) -> PromotionSchool:
    """Promote one school's 在读 pupils once per school year (a retry or rerun is a no-op).

    Each pupil moves up one grade within its stage into the class of the same number;
    pupils of graduating grades stay for graduation.
    """
    with transaction.atomic():
        part = PromotionSchool.objects.select_for_update(of=("self",)).select_related("school", "run__started_by").get(pk=part_id)
        if part.status == PromotionSchool.Status.DONE:
            return part
        user = part.run.started_by
        with acting_as(user, task="promotion", school_year=part.school_year):
            _promote(part, user)
    _finish_run(part.run_id)
    return part


def _promote(part: PromotionSchool, user) -> None:
    school = part.school
    rows = list(
        Pupil.objects.select_for_update(of=("self",))
        .filter(school=school, status=PupilStatus.ENROLLED)
        .values_list("pk", "grade", "school_class__number")
    )
    groups: dict[tuple[int, int | None], list[int]] = {}
    stayed: dict[str, int] = {}
    for pk, grade, number in rows:
        if school.next_grade(grade) is None:
            stayed[str(grade)] = stayed.get(str(grade), 0) + 1
        else:
            groups.setdefault((grade, number), []).append(pk)
    classes_before = SchoolClass.objects.filter(school=school).count()
    moved: dict[str, int] = {}
    history = []
    now = timezone.now()
    for (grade, number), pks in sorted(groups.items(), key=lambda item: (-item[0][0], item[0][1] or 0)):
        target = grade + 1
        new_class = class_for(school, target, number) if number is not None else None
        Pupil.objects.filter(pk__in=pks).update(grade=target, school_class=new_class, updated_at=now)
        key = f"{grade}→{target}"
        moved[key] = moved.get(key, 0) + len(pks)
        summary = str(_("%(year)s学年升级：%(old)s → %(new)s")
                      % {"year": part.school_year, "old": GRADE_NAMES[grade], "new": GRADE_NAMES[target]})
        history += [
            history_entry(pupil_id=pk, kind="promoted", summary=summary, school_id=school.pk, at=now,
                          data={"school_year": part.school_year, "from": grade, "to": target}, user=user)
            for pk in pks
        ]
    HistoryEntry.objects.bulk_create(history, batch_size=2000)
    part.moved = sum(moved.values())
    part.stayed = sum(stayed.values())
    part.report = {
        "moved": moved,
        "stayed": stayed,
        "classes_created": SchoolClass.objects.filter(school=school).count() - classes_before,
    }
    part.status = PromotionSchool.Status.DONE
    part.error = ""
    part.done_at = now
    part.save()
    log.info("promotion %s of school %s: %s moved, %s stayed", part.school_year, school.code, part.moved, part.stayed)


def promotion_school_failed(*, part_id: int, error: str) -> None:
    PromotionSchool.objects.filter(pk=part_id).exclude(status=PromotionSchool.Status.DONE).update(
        status=PromotionSchool.Status.FAILED, error=error[:300]
    )


def _finish_run(run_id: int) -> None:
    """Mark a run done once no school is left (conditional update: one writer wins)."""
    if not PromotionSchool.objects.filter(run_id=run_id).exclude(status=PromotionSchool.Status.DONE).exists():
        PromotionRun.objects.filter(pk=run_id, status=PromotionRun.Status.RUNNING).update(
            status=PromotionRun.Status.DONE, finished_at=timezone.now()
        )


__all__ = [
    "change_request_open", "change_request_submit", "change_request_approve", "change_request_refuse",
    "change_request_withdraw", "evidence_add", "graduation_propose", "graduation_submit", "graduation_approve",
    "graduation_refuse", "graduation_withdraw", "promotion_start", "promotion_school_apply",
]
