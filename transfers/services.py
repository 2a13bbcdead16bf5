"""Services of the transfer chain (转学). Each takes the acting user, checks scope, role and
the national and province rules, writes in one transaction and records the audit.

- ``transfer_lookup``  — the destination finds a pupil at the origin school (audited, minimal)
- ``transfer_apply``   — destination operator fills in (draft)
- ``transfer_submit``  — destination approver (another person) submits: 学校审核
- ``transfer_approve`` / ``transfer_refuse`` — the party of the current step
- ``transfer_cancel``  — destination school, while the chain is open
- ``transfer_attach``  — proof material (``kernel.proof``: JPG/PNG/PDF ≤ 2 MB, by bytes)

Every step locks the transfer row (``select_for_update``) and checks the state against
``transfers.states.TRANSITIONS``: a second click, a retry or a lost race gets ``Conflict``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models.fields.files import FieldFile
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.audit import acting_as
from accounts.models import Membership
from accounts.permissions import require_role
from duplicates.problems import pupil_problem_reasons
from kernel import identity, matching
from kernel.errors import BusinessRefused, Conflict, Forbidden, NotFound, ValidationFailed
from kernel.proof import ProofFile, check_proofs, require_room
from provinces.divisions import division_full_name
from provinces.models import ProvincePolicy
from registry.history import record_event
from registry.models import Pupil, PupilStatus
from schools.classes import class_for
from schools.models import GRADE_NAMES, School
from transfers import selectors
from transfers.models import Transfer, TransferAttachment, TransferLookup, TransferSnapshot, TransferStep
from transfers.states import PARTY, STEP_STATES, State, chain_steps, target_of
from workflow import business, workitems

log = logging.getLogger("registry.transfers")

Role = Membership.Role

LOOKUP_SALT = "transfers.lookup"
LOOKUP_MAX_AGE = 2 * 3600
MAX_CLOSE_MATCHES = 5

#: Shown when a lookup finds nobody: the three usual causes (seed 004, 学校操作步骤).
NOT_FOUND_HINT = _(
    "未查到该学生。请确认：（1）原学校是否已为该生建立电子学籍；（2）所选转出学校是否正确"
    "（教学点的学生可能登记在村本部学校）；（3）姓名是否录入有误（如“淞”误录为“凇”）。"
)
#: Shown when a lookup by a parent's ID number finds nobody.
NOT_FOUND_BY_PARENT_HINT = _(
    "未查到该学生。按父母身份证号查找只适用于没有居民身份证号的学生（无户籍学生）。请确认：（1）所选转出学校是否正确；"
    "（2）父亲、母亲或法定监护人的身份证号是否与原学校登记的一致；（3）学生有身份证号的，请按学生姓名和身份证号查找。"
)


# --- the origin-school lookup --------------------------------------------------------

@dataclass
class PupilCard:
    """The minimal answer of a lookup: never more than these fields."""

    ref: str
    name: str
    sex: str
    birth_date: dt.date
    grade: int
    class_number: int | None


@dataclass
class LookupResult:
    origin_school: School
    found: list[PupilCard] = field(default_factory=list)
    close: list[PupilCard] = field(default_factory=list)
    kind: str = TransferLookup.Kind.PUPIL

    @property
    def hint(self):
        """Why nothing was found (``None`` when something was)."""
        if self.found:
            return None
        return NOT_FOUND_BY_PARENT_HINT if self.kind == TransferLookup.Kind.PARENT else NOT_FOUND_HINT


def _card(pupil: Pupil, user) -> PupilCard:
    return PupilCard(
        ref=signing.dumps({"p": pupil.pk, "u": user.pk}, salt=LOOKUP_SALT),
        name=pupil.name,
        sex=pupil.sex,
        birth_date=pupil.birth_date,
        grade=pupil.grade,
        class_number=pupil.school_class.number if pupil.school_class_id else None,
    )


def _school_member(user) -> Membership:
    membership = require_role(user, Role.OPERATOR, Role.APPROVER)
    if not membership.school_id:
        raise Forbidden(_("只有转入学校可以办理转学申请"), code="school_only")
    return membership


def _origin_school(code: str) -> School:
    school = School.objects.select_related("county").filter(code=(code or "").strip()).first()
    if school is None:
        raise ValidationFailed(
            _("未找到学校标识码为“%(code)s”的转出学校") % {"code": code}, code="origin_school_unknown",
            field="origin_school_code",
        )
    return school


def transfer_lookup(
    *, user, origin_school_code: str, name: str = "", id_number: str = "", parent_id_number: str = ""
) -> LookupResult:
    """Find a pupil at the chosen origin school, only to start a transfer.

    Two ways, both recorded (``TransferLookup``) and both answering only name, sex, birth
    date, grade and class, plus a signed reference for ``transfer_apply``:

    - by the pupil's exact name (+ ID number when known). When nothing matches and an ID
      number was given, pupils of that school born that day whose names sound or look
      alike (李娜/李纳, 淞/凇) are offered as close matches;
    - for a pupil without a resident ID (无户籍, seed 004): by a parent's or the legal
      guardian's resident ID number (``parent_id_number``), the name optional. Only pupils
      without a resident ID number are found this way. With a name that matches none of
      that parent's children there, the ones whose names sound or look alike are offered.
    """
    membership = _school_member(user)
    origin = _origin_school(origin_school_code)
    if origin.pk == membership.school_id:
        raise BusinessRefused(_("转出学校与转入学校不能相同"), code="same_school", field="origin_school_code")
    name = (name or "").strip()
    id_number = identity.normalize_id_number(id_number) if id_number else ""
    parent_id_number = identity.normalize_id_number(parent_id_number) if parent_id_number else ""
    if parent_id_number:
        result = _lookup_by_parent(user, origin, name=name, id_number=id_number, parent_id_number=parent_id_number)
    else:
        result = _lookup_by_name(user, origin, name=name, id_number=id_number)
    TransferLookup.objects.create(
        school_id=membership.school_id,
        county_code=membership.school.county_id,
        origin_school=origin,
        kind=result.kind,
        name=name,
        id_number=id_number,
        parent_id_number=parent_id_number,
        found=len(result.found),
        close_matches=len(result.close),
        actor=user,
        actor_name=user.get_username(),
    )
    log.info(
        "transfer lookup (%s) by %s at %s: %s found, %s close",
        result.kind, user, origin.code, len(result.found), len(result.close),
    )
    return result


def _lookup_by_name(user, origin: School, *, name: str, id_number: str) -> LookupResult:
    if not name:
        raise ValidationFailed(
            _("请输入学生姓名；没有身份证号的学生也可按父母身份证号查找"), code="name_required", field="name"
        )
    born = identity.validate_resident_id(id_number, today=timezone.localdate()).birth_date if id_number else None
    candidates = selectors.origin_pupils(origin)
    exact = candidates.filter(name=name)
    if id_number:
        exact = exact.filter(id_number=id_number)
    result = LookupResult(origin_school=origin, found=[_card(p, user) for p in exact.order_by("id")[:20]])
    if not result.found and born is not None:
        near = [
            p for p in candidates.filter(birth_date=born).order_by("id")[:200]
            if p.name != name and _close_name(p.name, name)
        ]
        result.close = [_card(p, user) for p in near[:MAX_CLOSE_MATCHES]]
    return result


def _lookup_by_parent(user, origin: School, *, name: str, id_number: str, parent_id_number: str) -> LookupResult:
    if id_number:
        raise ValidationFailed(
            _("按父母身份证号查找只适用于没有身份证号的学生：请不要同时填写学生的身份证件号"),
            code="parent_id_with_pupil_id",
            field="id_number",
        )
    try:
        identity.validate_resident_id(parent_id_number, today=timezone.localdate())
    except ValidationFailed as exc:
        raise ValidationFailed(
            _("父母（或法定监护人）的身份证号有误：%(reason)s") % {"reason": exc.message},
            code=exc.code,
            field="parent_id_number",
        ) from None
    children = list(selectors.no_id_pupils_of_parent(origin, parent_id_number).order_by("id")[:20])
    exact = [p for p in children if not name or p.name == name]
    result = LookupResult(
        origin_school=origin, found=[_card(p, user) for p in exact], kind=TransferLookup.Kind.PARENT
    )
    if not result.found:
        near = [p for p in children if _close_name(p.name, name)]
        result.close = [_card(p, user) for p in near[:MAX_CLOSE_MATCHES]]
    return result


def _close_name(candidate: str, typed: str) -> bool:
    if matching.sounds_alike(candidate, typed):
        return True
    a, b = matching.simplified_name(candidate), matching.simplified_name(typed)
    return len(a) == len(b) and all(x == y or matching.chars_look_alike(x, y) for x, y in zip(a, b))


# --- start rules ---------------------------------------------------------------------

def _policies(*schools: School) -> list[ProvincePolicy]:
    codes = sorted({s.county_id[:2] for s in schools})
    return [ProvincePolicy.for_province(code) for code in codes]


def start_refusal(
    pupil: Pupil, *, origin: School, dest: School, dest_grade: int, today: dt.date
) -> BusinessRefused | None:
    """The first rule that refuses this transfer at start, or ``None``.

    A province rule applies when the province of either school has it on: a cross-province
    chain has to satisfy both provinces.
    """
    if origin.pk == dest.pk:
        return BusinessRefused(_("转出学校与转入学校不能相同"), code="same_school", field="origin_school_code")
    policies = _policies(origin, dest)
    if pupil.status == PupilStatus.SUSPENDED and any(p.transfer_refuse_suspended for p in policies):
        return BusinessRefused(_("该学生正在休学，休学期间不得转学"), code="pupil_suspended")
    if pupil.status not in (PupilStatus.ENROLLED, PupilStatus.SUSPENDED):
        return BusinessRefused(
            _("该学生学籍状态为“%(status)s”，只有在读学生可以转学") % {"status": pupil.get_status_display()},
            code="pupil_not_enrolled",
            details={"status": pupil.status},
        )
    reasons = pupil_problem_reasons(pupil)
    if reasons:
        return BusinessRefused(
            _("该学生为问题学籍，须先由区县处理：%(reasons)s") % {"reasons": "；".join(reasons)},
            code="problem_record",
            details={"reasons": reasons},
        )
    if any(p.transfer_same_grade_only for p in policies) and dest_grade != pupil.grade:
        return BusinessRefused(
            _("只能转入同一年级：该学生在读%(grade)s，申请转入%(dest)s")
            % {"grade": GRADE_NAMES.get(pupil.grade, pupil.grade), "dest": GRADE_NAMES.get(dest_grade, dest_grade)},
            code="grade_mismatch",
            field="dest_grade",
        )
    if any(p.transfer_refuse_graduating for p in policies) and pupil.grade in origin.graduating_grades():
        return BusinessRefused(_("毕业年级学生不得转学"), code="graduating_grade")
    for policy in policies:
        if policy.in_freeze_window(today):
            return BusinessRefused(
                _("%(start)s至%(end)s为年度升级期间，暂停办理转学")
                % {"start": policy.freeze_start, "end": policy.freeze_end},
                code="freeze_window",
            )
    return None


def _pupil_for_apply(*, user, origin: School, national_number: str, pupil_ref: str) -> Pupil:
    """The pupil, locked. Found by the lookup's signed reference or by the national number."""
    pupils = Pupil.objects.select_for_update(of=("self",)).select_related("school_class", "school")
    if pupil_ref:
        try:
            ref = signing.loads(pupil_ref, salt=LOOKUP_SALT, max_age=LOOKUP_MAX_AGE)
        except signing.BadSignature:
            raise ValidationFailed(_("查询结果已失效，请重新查询学生"), code="lookup_expired", field="pupil_ref") from None
        if ref.get("u") != user.pk:
            raise ValidationFailed(_("查询结果已失效，请重新查询学生"), code="lookup_expired", field="pupil_ref")
        pupil = pupils.filter(pk=ref.get("p"), school=origin).first()
    else:
        number = identity.normalize_id_number(national_number or "")
        pupil = pupils.filter(national_number=number, school=origin).first() if number else None
    if pupil is None:
        raise NotFound(
            _("在转出学校“%(school)s”未找到该学生") % {"school": origin.name},
            code="pupil_not_found",
            field="national_number",
        )
    return pupil


# --- attachments ---------------------------------------------------------------------

def _store_proofs(transfer: Transfer, proofs: list[ProofFile], user) -> None:
    for proof in proofs:
        stored = default_storage.save(f"transfers/{transfer.pk}/{proof.stored_name()}", ContentFile(proof.content))
        TransferAttachment.objects.create(
            transfer=transfer,
            file=stored,
            kind=proof.extension,
            size=len(proof.content),
            label=proof.original_name[:100],
            uploaded_by=user,
        )
        log.info("transfer %s: attachment %s stored by %s", transfer.pk, stored, user)


# --- work items, log ------------------------------------------------------------------

def _title(transfer: Transfer) -> str:
    return str(
        _("转学%(state)s：%(name)s（%(origin)s → %(dest)s）")
        % {
            "state": State(transfer.state).label,
            "name": transfer.pupil.name,
            "origin": transfer.origin_school.name,
            "dest": transfer.dest_school.name,
        }
    )


def _open_step_item(transfer: Transfer) -> None:
    level, side = PARTY[transfer.state]
    school = transfer.dest_school if side == "dest" else transfer.origin_school
    kwargs: dict = {}
    if level == "school":
        kwargs["school"] = school
    elif level == "county":
        kwargs["division_code"] = school.county_id
    else:
        kwargs["division_code"] = school.county_id[:2]
    workitems.workitem_open(
        subject=transfer,
        kind="transfer",
        title=_title(transfer),
        url=reverse("transfers:detail", args=[transfer.pk]),
        role=Role.APPROVER,
        **kwargs,
    )
    if getattr(settings, "TRANSFER_NOTIFY_EMAIL", False):
        from transfers.tasks import step_notify

        transaction.on_commit(lambda: step_notify.delay(transfer.pk), robust=True)


def _log(transfer: Transfer, *, user, action: str, from_state: str, to_state: str, reason: str = "") -> None:
    membership = user.membership
    TransferStep.objects.create(
        transfer=transfer,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor=user,
        actor_name=user.get_full_name() or user.get_username(),
        unit_code=membership.unit_code,
        unit_name=str(membership.unit_name),
        role=membership.role,
        reason=reason,
    )
    log.info("transfer %s: %s %s → %s by %s (%s)", transfer.pk, action, from_state, to_state, user,
             membership.unit_code)


# --- apply ---------------------------------------------------------------------------

def transfer_apply(
    *,
    user,
    origin_school_code: str,
    dest_grade: int,
    dest_class_number: int,
    reason: str,
    national_number: str = "",
    pupil_ref: str = "",
    dest_school_code: str = "",
    transfer_date: dt.date | None = None,
    attachments: list | None = None,
    today: dt.date | None = None,
) -> Transfer:
    """转学申请: the destination operator fills in; the chain waits for the school approver."""
    membership = require_role(user, Role.OPERATOR)
    if not membership.school_id:
        raise Forbidden(_("只有转入学校可以办理转学申请"), code="school_only")
    dest = membership.school
    if dest_school_code and dest_school_code.strip() != dest.code:
        raise ValidationFailed(
            _("转入学校须为您所在的学校（%(code)s）") % {"code": dest.code}, code="not_destination",
            field="dest_school_code",
        )
    origin = _origin_school(origin_school_code)
    today = today or timezone.localdate()
    if origin.pk == dest.pk:
        raise BusinessRefused(_("转出学校与转入学校不能相同"), code="same_school", field="origin_school_code")
    if dest_grade not in dest.grades:
        raise ValidationFailed(
            _("%(school)s没有%(grade)s") % {"school": dest.name, "grade": GRADE_NAMES.get(dest_grade, dest_grade)},
            code="grade_not_offered",
            field="dest_grade",
        )
    if not 1 <= int(dest_class_number) <= 99:
        raise ValidationFailed(_("班号应为1到99"), code="invalid_class_number", field="dest_class_number")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写转学原因"), code="reason_required", field="reason")
    proofs = check_proofs(attachments or ())

    with transaction.atomic(), acting_as(user, business="transfer"):
        pupil = _pupil_for_apply(user=user, origin=origin, national_number=national_number, pupil_ref=pupil_ref)
        refusal = start_refusal(pupil, origin=origin, dest=dest, dest_grade=dest_grade, today=today)
        if refusal is not None:
            raise refusal
        business.require_no_open_business(pupil)
        try:
            with transaction.atomic():
                transfer = Transfer.objects.create(
                    pupil=pupil,
                    origin_school=origin,
                    dest_school=dest,
                    origin_county_code=origin.county_id,
                    dest_county_code=dest.county_id,
                    origin_grade=pupil.grade,
                    origin_class_number=pupil.school_class.number if pupil.school_class_id else None,
                    dest_grade=dest_grade,
                    dest_class_number=dest_class_number,
                    transfer_date=transfer_date or today,
                    reason=reason[:200],
                    applied_by=user,
                )
        except IntegrityError as exc:
            if "one_open_transfer_per_pupil" not in str(exc):
                raise
            raise BusinessRefused(_("该学生已有正在办理的转学申请"), code="open_business") from None
        business.business_begin(pupil=pupil, kind="transfer", subject=transfer)
        _log(transfer, user=user, action="apply", from_state="", to_state=State.DRAFT, reason=reason)
        _store_proofs(transfer, proofs, user)
        _open_step_item(transfer)
    return transfer


def transfer_attach(*, user, transfer_id: int, attachments: list) -> list[TransferAttachment]:
    """Add proof material while the chain is open (destination school only)."""
    membership = require_role(user, Role.OPERATOR, Role.APPROVER)
    proofs = check_proofs(attachments)
    with transaction.atomic(), acting_as(user, business="transfer"):
        transfer = selectors.transfer_get(user, transfer_id, for_update=True)
        if membership.school_id != transfer.dest_school_id:
            raise Forbidden(_("只有转入学校可以上传证明材料"), code="not_destination")
        if not transfer.is_open:
            raise _state_conflict(transfer)
        require_room(already=transfer.attachments.count(), adding=len(proofs))
        before = set(transfer.attachments.values_list("pk", flat=True))
        _store_proofs(transfer, proofs, user)
        return list(transfer.attachments.exclude(pk__in=before))


# --- the steps -----------------------------------------------------------------------

def party_states(membership: Membership, transfer: Transfer) -> set[str]:
    """The open states of this chain at which the user's own unit is the acting party."""
    states: set[str] = set()
    if membership.school_id:
        if membership.school_id == transfer.dest_school_id:
            states.add(State.DRAFT)
        if membership.school_id == transfer.origin_school_id:
            states.add(State.ORIGIN_SCHOOL)
        return states
    code = membership.division_id
    if code == transfer.dest_county_code:
        states.add(State.DEST_COUNTY)
    if code == transfer.origin_county_code:
        states.add(State.ORIGIN_COUNTY)
    if code == transfer.dest_county_code[:2]:
        states.add(State.DEST_PROVINCE)
    if code == transfer.origin_county_code[:2]:
        states.add(State.ORIGIN_PROVINCE)
    return states


def _state_conflict(transfer: Transfer) -> Conflict:
    return Conflict(
        _("该转学申请当前状态为“%(state)s”，不能再办理此操作（可能已被他人办理）") % {"state": State(transfer.state).label},
        code="state_conflict",
        details={"state": transfer.state, "state_label": str(State(transfer.state).label)},
    )


def _move(*, user, transfer_id: int, action: str, reason: str = "") -> Transfer:
    """One guarded transition: lock, check party and role, check the table, write, log."""
    membership = getattr(user, "membership", None)
    if membership is None:
        raise Forbidden(_("您的角色不能办理此业务"), code="role_forbidden")
    reason = (reason or "").strip()
    with transaction.atomic(), acting_as(user, business="transfer"):
        transfer = selectors.transfer_get(user, transfer_id, for_update=True)
        parties = party_states(membership, transfer)
        if action in ("submit", "cancel"):
            if State.DRAFT not in parties:
                raise Forbidden(_("只有转入学校可以办理此操作"), code="not_destination")
        elif not parties & set(STEP_STATES):
            raise Forbidden(_("您的单位不是此转学的审核单位"), code="not_a_party")
        steps = planned_steps(transfer)
        target = target_of(action, transfer.state, steps)
        if target is None or (action in ("approve", "refuse") and transfer.state not in parties):
            raise _state_conflict(transfer)
        if action == "cancel":
            require_role(user, Role.OPERATOR, Role.APPROVER)
        else:
            require_role(user, Role.APPROVER, Role.ADMIN)
        if action == "submit" and transfer.applied_by_id == user.pk:
            raise Forbidden(
                _("填写申请与学校审核不能是同一人（谁批准、谁负责），请由学籍主管领导审核"), code="two_person_rule"
            )
        if action == "refuse" and not reason:
            raise ValidationFailed(_("不同意转学须填写理由"), code="reason_required", field="reason")
        if action == "submit":
            transfer.steps = steps
        _transition(transfer, user=user, action=action, target=target, reason=reason)
    return transfer


def planned_steps(transfer: Transfer) -> list[str]:
    """The approval steps: fixed at submit; before that, what submit would fix."""
    return list(transfer.steps) if transfer.steps else _steps_for(transfer)


def actions_for(user, transfer: Transfer) -> list[str]:
    """The actions the user may take now (for buttons; the services check again)."""
    membership = getattr(user, "membership", None)
    if membership is None or not transfer.is_open:
        return []
    parties = party_states(membership, transfer)
    actions = []
    if transfer.state == State.DRAFT and State.DRAFT in parties and membership.is_approver:
        if transfer.applied_by_id != user.pk:
            actions.append("submit")
    if transfer.state in parties and transfer.state in STEP_STATES and membership.is_approver:
        actions += ["approve", "refuse"]
    if State.DRAFT in parties and membership.role in (Role.OPERATOR, Role.APPROVER):
        actions.append("cancel")
    return actions


def _steps_for(transfer: Transfer) -> list[str]:
    cross = transfer.dest_county_code[:2] != transfer.origin_county_code[:2]
    return chain_steps(
        cross_province=cross,
        dest_province_step=ProvincePolicy.for_province(transfer.dest_county_code).transfer_cross_province_province_step,
        origin_province_step=ProvincePolicy.for_province(
            transfer.origin_county_code
        ).transfer_cross_province_province_step,
    )


def _transition(transfer: Transfer, *, user, action: str, target: str, reason: str) -> None:
    now = timezone.now()
    source = transfer.state
    transfer.state = target
    changed = ["state", "updated_at"]
    if action == "submit":
        transfer.submitted_at = now
        changed += ["submitted_at", "steps"]
    if target == State.ORIGIN_SCHOOL:
        transfer.origin_school_reached_at = now
        changed.append("origin_school_reached_at")
    if target == State.ORIGIN_COUNTY:
        transfer.origin_county_reached_at = now
        changed.append("origin_county_reached_at")
    if not transfer.is_open:
        transfer.closed_at = now
        changed.append("closed_at")
    transfer.save(update_fields=changed)
    _log(transfer, user=user, action=action, from_state=source, to_state=target, reason=reason)
    workitems.workitem_close(subject=transfer)
    if transfer.is_open:
        _open_step_item(transfer)
        return
    if target == State.COMPLETED:
        _complete(transfer, user=user)
    business.business_end(subject=transfer)


def transfer_submit(*, user, transfer_id: int) -> Transfer:
    """学校审核: the destination approver (not the applicant) sends it to the county."""
    return _move(user=user, transfer_id=transfer_id, action="submit")


def transfer_approve(*, user, transfer_id: int, reason: str = "") -> Transfer:
    """The party of the current step agrees; the last approval completes the transfer."""
    return _move(user=user, transfer_id=transfer_id, action="approve", reason=reason)


def transfer_refuse(*, user, transfer_id: int, reason: str) -> Transfer:
    """The party of the current step refuses, with a reason (无正当理由不得拒绝); the chain ends."""
    return _move(user=user, transfer_id=transfer_id, action="refuse", reason=reason)


def transfer_cancel(*, user, transfer_id: int, reason: str = "") -> Transfer:
    """The destination school withdraws an open application; a completed one stays."""
    return _move(user=user, transfer_id=transfer_id, action="cancel", reason=reason)


# --- completion ----------------------------------------------------------------------

def _plain(value):
    return value.name if isinstance(value, FieldFile) else value


def _snapshot_data(pupil: Pupil) -> dict:
    data = {f.attname: _plain(getattr(pupil, f.attname)) for f in pupil._meta.concrete_fields}
    data["school_name"] = pupil.school.name
    data["school_code"] = pupil.school.code
    data["class_name"] = str(pupil.school_class) if pupil.school_class_id else ""
    data["guardians"] = [
        {f.attname: _plain(getattr(g, f.attname)) for f in g._meta.concrete_fields if f.attname not in ("id", "pupil_id")}
        for g in pupil.guardians.all()
    ]
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _complete(transfer: Transfer, *, user) -> None:
    """Move the enrolment: school, class, county code; the national number stays."""
    pupil = Pupil.objects.select_for_update(of=("self",)).select_related("school", "school_class").get(
        pk=transfer.pupil_id
    )
    if pupil.school_id != transfer.origin_school_id:
        raise Conflict(_("该学生已不在转出学校，无法完成转学"), code="pupil_moved")
    origin, dest = transfer.origin_school, transfer.dest_school
    TransferSnapshot.objects.create(transfer=transfer, data=_snapshot_data(pupil))
    pupil.school = dest
    pupil.school_class = class_for(dest, transfer.dest_grade, transfer.dest_class_number)
    pupil.grade = transfer.dest_grade
    pupil.county_code = dest.county_id
    pupil.save(update_fields=["school", "school_class", "grade", "county_code", "updated_at"])
    data = {"transfer": transfer.pk, "origin": origin.code, "dest": dest.code}
    record_event(
        pupil,
        kind="transferred_out",
        summary=_("转学转出：由%(origin)s转至%(dest)s（%(county)s）")
        % {"origin": origin.name, "dest": dest.name, "county": division_full_name(dest.county_id)},
        user=user,
        school=origin,
        data=data,
    )
    record_event(
        pupil,
        kind="transferred_in",
        summary=_("转学转入：由%(origin)s（%(county)s）转入%(dest)s，全国学籍号 %(number)s 不变")
        % {"origin": origin.name, "county": division_full_name(origin.county_id), "dest": dest.name,
           "number": pupil.national_number},
        user=user,
        school=dest,
        data=data,
    )
    log.info("transfer %s completed: pupil %s moved %s → %s", transfer.pk, pupil.pk, origin.code, dest.code)


# --- notification --------------------------------------------------------------------

def transfer_step_notify(*, transfer_id: int) -> int:
    """E-mail the approvers of the unit at the transfer's current step; returns mails sent.

    A system read (no acting user): it reads the chain to address its own party only.
    """
    from django.contrib.auth import get_user_model
    from django.core.mail import send_mail

    transfer = (
        Transfer.objects.select_related("pupil", "origin_school", "dest_school").filter(pk=transfer_id).first()
    )
    if transfer is None or not transfer.is_open:
        return 0
    level, side = PARTY[transfer.state]
    school = transfer.dest_school if side == "dest" else transfer.origin_school
    users = get_user_model().objects.filter(is_active=True, membership__role__in=(Role.APPROVER, Role.ADMIN))
    if level == "school":
        users = users.filter(membership__school=school)
    else:
        users = users.filter(membership__division_id=school.county_id if level == "county" else school.county_id[:2])
    addresses = [u.email for u in users if u.email]
    if not addresses:
        return 0
    url = reverse("transfers:detail", args=[transfer.pk])
    return send_mail(_title(transfer), str(_("请登录系统办理：%(url)s") % {"url": url}), None, addresses)
