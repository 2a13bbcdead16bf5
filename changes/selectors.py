"""Reads of change requests, graduation lists, the 控辍保学 list, overdue suspensions and
promotion runs.

Every read of pupil data goes through ``accounts.scope.restrict`` / ``get_in_scope``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.permissions import membership_of
from accounts.scope import get_in_scope, restrict
from changes import rules, suspensions
from changes.chain import CHANGE_REQUEST, GRADUATION
from changes.models import (
    OPEN_STATES,
    ApprovalChain,
    ChangeRequest,
    DropoutFollowUp,
    Evidence,
    GraduationList,
    PromotionRun,
    State,
)
from kernel.errors import NotFound
from registry.models import Pupil
from workflow import engine
from workflow.models import ChainEvent


@dataclass
class ChangeFilter:
    state: str = ""
    kind: str = ""
    pupil: str = ""
    open_only: bool = False


def change_requests_visible_to(user, filters: ChangeFilter | None = None) -> QuerySet[ChangeRequest]:
    requests = restrict(ChangeRequest.objects.select_related("pupil", "school", "initiator"), user)
    filters = filters or ChangeFilter()
    if filters.state:
        requests = requests.filter(state=filters.state)
    if filters.kind:
        requests = requests.filter(kind=filters.kind)
    if filters.pupil:
        requests = requests.filter(pupil__national_number=filters.pupil.strip().upper())
    if filters.open_only:
        requests = requests.filter(state__in=(State.DRAFT, State.SCHOOL_REVIEW, State.COUNTY_REVIEW))
    return requests.order_by("-id")


def change_request_get(user, request_id: int) -> ChangeRequest:
    return get_in_scope(
        ChangeRequest.objects.select_related("pupil__school_class", "school__county", "initiator",
                                             "school_approver", "county_approver"),
        user,
        pk=request_id,
    )


def evidence_get(user, evidence_id: int) -> Evidence:
    """One evidence file, only for parties that see its request."""
    return get_in_scope(Evidence.objects.select_related("request"), user, pk=evidence_id)


def timeline(chain: ApprovalChain) -> list[ChainEvent]:
    """The transitions of a request or list (the caller has checked scope on it)."""
    return engine.timeline(_chain_of(chain), chain)


def sent_back(chain: ApprovalChain):
    """The 退回修改 a draft waits on (its reason), else ``None``."""
    return engine.sent_back(_chain_of(chain), chain)


def actions_for(user, chain: ApprovalChain) -> set[str]:
    """What the UI offers ``user`` on ``chain``; the services decide again on every click."""
    actions = set(engine.actions_for(_chain_of(chain), user, chain))
    membership = membership_of(user)
    if isinstance(chain, ChangeRequest) and chain.is_open and membership is not None and (
        membership.school_id == chain.school_id
        or (chain.initiator_level == "county" and membership.division_id == chain.county_code)
    ):
        actions.add("evidence")
    return actions


@dataclass(frozen=True)
class PayloadRow:
    """One field of a change as the approver reads it: 姓名 林小雨 → 林筱雨."""

    key: str
    label: str
    new: str
    old: str | None = None


def payload_rows(change: ChangeRequest) -> list[PayloadRow]:
    """The change's fields in words, with the value before it (the record's current value
    while it is open, the value it replaced once applied) where the field is the pupil's."""
    before = (change.applied or {}).get("before", {}) if change.applied else {}
    pupil = change.pupil
    rows = []
    for key, value in change.payload.items():
        if before:
            old = before.get(key)
        elif key == "class_number":
            old = pupil.school_class.number if pupil.school_class_id else None
        elif change.kind == ChangeRequest.Kind.RECORD_UPDATE:
            old = rules.record_values(pupil).get(key)
        else:
            old = getattr(pupil, key, None) if key in rules.KEY_CHANGE_FIELDS else None
        rows.append(PayloadRow(key, rules.payload_label(key),
                               _shown(key, value), None if old is None else _shown(key, old)))
    return rows


def _shown(key: str, value) -> str:
    return rules.shown_value(key, value)


def current_steps(rows: list[ApprovalChain]) -> dict[int, engine.Current | None]:
    """Where each request or list (all of one kind, read through the scope) waits now: the
    step, its unit and the deadline of its 待办 item (``None`` once closed)."""
    return engine.current_steps(_chain_of(rows[0]), rows) if rows else {}


def _chain_of(row: ApprovalChain):
    return CHANGE_REQUEST if isinstance(row, ChangeRequest) else GRADUATION


def dropout_followups(user, *, open_only: bool = True) -> QuerySet[DropoutFollowUp]:
    """控辍保学: compulsory-age drop-outs of the user's scope (a county sees its own)."""
    items = restrict(DropoutFollowUp.objects.select_related("pupil", "school"), user)
    if open_only:
        items = items.filter(closed_at__isnull=True)
    return items.order_by("-dropped_on", "-id")


def overdue_suspensions(user, *, today: dt.date | None = None) -> QuerySet[Pupil]:
    """休学期满未复学: the user's pupils still 休学 after their end date (a county sees its
    schools'), oldest end date first; ``pending_kind`` is the change under way that would end
    or extend the suspension (复学, 延长休学 …), if any. Computed: reading writes nothing."""
    today = today or timezone.localdate()
    pending = ChangeRequest.objects.filter(
        pupil=OuterRef("pk"), state__in=OPEN_STATES, kind__in=suspensions.ENDING_KINDS
    ).values("kind")[:1]
    return (
        restrict(suspensions.overdue(today), user)
        .select_related("school")
        .annotate(pending_kind=Subquery(pending))
        .order_by("status_until", "id")
    )


def graduation_lists_visible_to(user) -> QuerySet[GraduationList]:
    return restrict(GraduationList.objects.select_related("school", "initiator"), user).order_by("-id")


def graduation_get(user, graduation_id: int) -> GraduationList:
    return get_in_scope(GraduationList.objects.select_related("school__county", "initiator"), user, pk=graduation_id)


def promotion_runs_for(user) -> QuerySet[PromotionRun]:
    """Promotion runs of the user's province (province users only; they hold no pupil data)."""
    membership = membership_of(user)
    if membership is None or membership.level != "province":
        return PromotionRun.objects.none()
    return PromotionRun.objects.filter(province_id=membership.division_id).select_related("started_by")


def promotion_run_get(user, run_id: int) -> PromotionRun:
    run = promotion_runs_for(user).filter(pk=run_id).first()
    if run is None:
        raise NotFound(_("未找到该升级任务，或不在您的管理范围内"))
    return run


def promotion_progress(run: PromotionRun) -> dict:
    """Progress and report of a run: schools done, pupils moved/stayed, per-school rows."""
    parts = list(run.schools.select_related("school").order_by("school__code"))
    done = [p for p in parts if p.status == "done"]
    moved: dict[str, int] = {}
    for part in done:
        for key, n in (part.report.get("moved") or {}).items():
            moved[key] = moved.get(key, 0) + n
    return {
        "id": run.pk,
        "school_year": run.school_year,
        "status": run.status,
        "total": len(parts),
        "done": len(done),
        "failed": sum(1 for p in parts if p.status == "failed"),
        "moved": sum(p.moved for p in done),
        "stayed": sum(p.stayed for p in done),
        "moved_by_grade": dict(sorted(moved.items(), key=lambda kv: int(kv[0].split("→")[0]))),
        "schools": [
            {"code": p.school.code, "name": p.school.name, "status": p.status, "moved": p.moved,
             "stayed": p.stayed, "report": p.report, "error": p.error}
            for p in parts
        ],
    }


def is_province_admin(user) -> bool:
    membership = membership_of(user)
    return membership is not None and membership.level == "province" and membership.role == Membership.Role.ADMIN
