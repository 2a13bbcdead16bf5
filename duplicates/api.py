"""The province's duplicate work (``/api/v1``): sweeps, cases, identity checks and L→G
promotion. Paths are a contract for integrators."""

from __future__ import annotations

import datetime as dt

from ninja import File, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from accounts.scope import get_in_scope
from duplicates import deletion, identity, peers, promotion, selectors, sweeps
from duplicates.models import DeletionRequest as DeletionRequestModel
from duplicates.models import DuplicateCase
from kernel.errors import NotFound

router = Router(tags=["duplicates"])


# --- duplicate sweeps (查重) ---------------------------------------------------------------------

class SweepIn(Schema):
    province: str
    partitions: int = sweeps.DEFAULT_PARTITIONS
    incremental: bool = False  # only records written since the previous sweep started
    ask_peers: bool = False  # a full sweep also asks the peer registries (跨省在籍): every active ID to every peer


class SweepOut(Schema):
    id: int
    province: str
    status: str
    mode: str
    ask_peers: bool  # a full sweep that also asks the peer registries (an incremental one always does)
    since: str | None
    partitions_done: int
    partitions_total: int
    blocks_done: int
    pairs_scored: int
    cases_found: int
    started_at: str
    finished_at: str | None
    eta_seconds: int | None


@router.post("/duplicate-sweeps", response={201: SweepOut}, tags=["duplicates"])
def sweep_create(request, payload: SweepIn):
    sweep = sweeps.sweep_start(user=request.user, province_code=payload.province, partitions=payload.partitions,
                               incremental=payload.incremental, ask_peers=payload.ask_peers)
    return Status(201, selectors.sweep_progress(sweep))


@router.get("/duplicate-sweeps", response=list[SweepOut], tags=["duplicates"])
def sweep_list(request):
    return [selectors.sweep_progress(s) for s in selectors.sweeps_visible_to(request.user)[:50]]


@router.get("/duplicate-sweeps/{sweep_id}", response=SweepOut, tags=["duplicates"])
def sweep_detail(request, sweep_id: int):
    sweep = selectors.sweeps_visible_to(request.user).filter(pk=sweep_id).first()
    if sweep is None:
        raise NotFound("未找到该查重批次，或不在您的管理范围内")
    return selectors.sweep_progress(sweep)


@router.post("/duplicate-sweeps/{sweep_id}/resume", response=list[int], tags=["duplicates"])
def sweep_resume(request, sweep_id: int):
    return sweeps.sweep_resume(user=request.user, sweep_id=sweep_id)


# --- cases ----------------------------------------------------------------------------------

class MemberOut(Schema):
    national_number: str
    name: str
    sex: str
    birth_date: dt.date
    school_code: str
    school_name: str
    grade: int
    county_code: str
    status: str


class CaseOut(Schema):
    id: int
    score: float
    kind: str
    reasons: list[str]
    source: str
    status: str
    resolution: str
    change_request: int | None
    note: str
    graduating: bool = False
    deletion_request: int | None = None
    members: list[MemberOut]


def case_out(case: DuplicateCase) -> dict:
    return {
        "id": case.pk, "score": case.score, "kind": case.kind, "reasons": case.reasons, "source": case.source,
        "status": case.status, "resolution": case.resolution, "change_request": case.change_request_id,
        "note": case.note, "graduating": getattr(case, "graduating", False),
        "deletion_request": case.deletions.filter(state="county_review").values_list("pk", flat=True).first(),
        "members": [
            {"national_number": m.pupil.national_number, "name": m.pupil.name, "sex": m.pupil.sex,
             "birth_date": m.pupil.birth_date, "school_code": m.pupil.school.code, "school_name": m.pupil.school.name,
             "grade": m.pupil.grade, "county_code": m.county_code, "status": m.pupil.status}
            for m in case.memberships.all()
        ],
    }


@router.get("/duplicate-cases", response=list[CaseOut], tags=["duplicates"])
def case_list(request, status: str = "open"):
    return [case_out(c) for c in selectors.case_list_for(request.user, status=status or None)]


@router.get("/duplicate-cases/{case_id}", response=CaseOut, tags=["duplicates"])
def case_detail(request, case_id: int):
    return case_out(selectors.case_detail_for(request.user, case_id))


# --- identity checks and L→G promotion ----------------------------------------------------------

class IdentityCheckOut(Schema):
    id: int
    province: str
    status: str
    source_name: str
    extract_rows: int
    total: int
    processed: int
    checked: int
    passed: int
    not_found: int
    mismatched: int
    match_share: float
    threshold: float
    created_at: dt.datetime
    finished_at: dt.datetime | None


def identity_check_out(run) -> dict:
    return {"id": run.pk, "province": run.province_id, "status": run.status, "source_name": run.source_name,
            "extract_rows": run.extract_rows, "total": run.total, "processed": run.processed, "checked": run.checked,
            "passed": run.passed, "not_found": run.not_found, "mismatched": run.mismatched,
            "match_share": round(run.match_share, 4), "threshold": run.threshold, "created_at": run.created_at,
            "finished_at": run.finished_at}


@router.post("/identity-checks", response={202: IdentityCheckOut}, tags=["duplicates"])
def identity_check(request, extract_file: File[UploadedFile]):
    """Check the extract's shape (422 when wrong, nothing changed) and queue the check; poll
    ``GET /identity-checks/{id}``: ``preview`` waits for ``confirm``, ``done`` can be undone that day."""
    run = identity.identity_check_upload(user=request.user, extract_file=extract_file)
    return Status(202, identity_check_out(run))


@router.get("/identity-checks/{run_id}", response=IdentityCheckOut, tags=["duplicates"])
def identity_check_detail(request, run_id: int):
    return identity_check_out(identity.identity_check_for(request.user, run_id))


@router.post("/identity-checks/{run_id}/confirm", response={202: IdentityCheckOut}, tags=["duplicates"])
def identity_check_confirm(request, run_id: int):
    return Status(202, identity_check_out(identity.identity_check_confirm(user=request.user, run_id=run_id)))


@router.post("/identity-checks/{run_id}/undo", response={202: IdentityCheckOut}, tags=["duplicates"])
def identity_check_undo(request, run_id: int):
    return Status(202, identity_check_out(identity.identity_check_undo(user=request.user, run_id=run_id)))


class NumberPromotionIn(Schema):
    pupils: list[str] | None = None


class PromotionOut(Schema):
    id: int
    status: str
    total: int
    processed: int
    promoted_count: int
    refused_count: int
    promoted: list[dict]
    refused: list[dict]
    created_at: dt.datetime
    finished_at: dt.datetime | None


def promotion_out(run) -> dict:
    return {"id": run.pk, "status": run.status, "total": run.total, "processed": run.processed,
            "promoted_count": run.promoted_count, "refused_count": run.refused_count, "promoted": run.promoted,
            "refused": run.refused, "created_at": run.created_at, "finished_at": run.finished_at}


@router.post("/promotions-g", response={202: PromotionOut}, tags=["duplicates"])
def promotion_g(request, payload: NumberPromotionIn):
    """Queue an L→G promotion job (``pupils`` omitted: every eligible pupil of the province);
    poll ``GET /promotions-g/{id}``."""
    return Status(202, promotion_out(promotion.promotion_start(user=request.user, pupils=payload.pupils)))


@router.get("/promotions-g/{run_id}", response=PromotionOut, tags=["duplicates"])
def promotion_detail(request, run_id: int):
    return promotion_out(promotion.promotion_for(request.user, run_id))


# --- 删除: two persons -------------------------------------------------------------------------

class DeletionOut(Schema):
    id: int
    case: int
    national_number: str
    name: str
    county_code: str
    note: str
    state: str
    state_label: str
    proposed_by: str
    approved_by: str
    refusal_reason: str
    decided_at: dt.datetime | None
    undo_until: dt.date | None
    undone_at: dt.datetime | None


class DeletionReasonIn(Schema):
    reason: str = ""


def deletion_out(row) -> dict:
    row = DeletionRequestModel.objects.select_related("pupil", "proposed_by", "approved_by").get(pk=row.pk)
    return {"id": row.pk, "case": row.case_id, "national_number": row.pupil.national_number, "name": row.pupil.name,
            "county_code": row.county_code, "note": row.note, "state": row.state,
            "state_label": str(row.get_state_display()),
            "proposed_by": row.proposed_by.get_username() if row.proposed_by else "",
            "approved_by": row.approved_by.get_username() if row.approved_by else "",
            "refusal_reason": row.refusal_reason, "decided_at": row.decided_at,
            "undo_until": deletion.undo_until(row) if row.state == "approved" and not row.undone_at else None,
            "undone_at": row.undone_at}


@router.get("/deletion-requests/{request_id}", response=DeletionOut, tags=["duplicates"])
def deletion_detail(request, request_id: int):
    return deletion_out(get_in_scope(DeletionRequestModel.objects.all(), request.user, pk=request_id))


@router.post("/deletion-requests/{request_id}/approve", response=DeletionOut, tags=["duplicates"])
def deletion_approve(request, request_id: int, payload: DeletionReasonIn = None):
    return deletion_out(deletion.deletion_approve(user=request.user, request_id=request_id,
                                                  reason=payload.reason if payload else ""))


@router.post("/deletion-requests/{request_id}/refuse", response=DeletionOut, tags=["duplicates"])
def deletion_refuse(request, request_id: int, payload: DeletionReasonIn):
    return deletion_out(deletion.deletion_refuse(user=request.user, request_id=request_id, reason=payload.reason))


@router.post("/deletion-requests/{request_id}/withdraw", response=DeletionOut, tags=["duplicates"])
def deletion_withdraw(request, request_id: int, payload: DeletionReasonIn = None):
    return deletion_out(deletion.deletion_withdraw(user=request.user, request_id=request_id,
                                                   reason=payload.reason if payload else ""))


@router.post("/deletion-requests/{request_id}/undo", response=DeletionOut, tags=["duplicates"])
def deletion_undo(request, request_id: int, payload: DeletionReasonIn = None):
    return deletion_out(deletion.deletion_undo(user=request.user, request_id=request_id,
                                               reason=payload.reason if payload else ""))


# --- 跨省在籍 resolved by the county ------------------------------------------------------------

class PeerHoldingResolveIn(Schema):
    reason: str = ""


class PeerHoldingOut(Schema):
    id: int
    national_number: str
    name: str
    county_code: str
    peer_name: str
    card: dict
    status: str
    found_at: dt.datetime
    resolved_at: dt.datetime | None
    resolved_by: str
    resolution_reason: str


def peer_holding_out(holding) -> dict:
    return {"id": holding.pk, "national_number": holding.pupil.national_number, "name": holding.pupil.name,
            "county_code": holding.county_code, "peer_name": holding.peer_name, "card": holding.card,
            "status": holding.status, "found_at": holding.found_at, "resolved_at": holding.resolved_at,
            "resolved_by": holding.resolved_by.get_username() if holding.resolved_by else "",
            "resolution_reason": holding.resolution_reason}


@router.post("/peer-holdings/{holding_id}/resolve", response=PeerHoldingOut, tags=["duplicates"])
def peer_holding_resolve(request, holding_id: int, payload: PeerHoldingResolveIn):
    """已处理: the approver of the pupil's county resolves an open 跨省在籍 with a ``reason``."""
    return peer_holding_out(peers.peer_holding_resolve(user=request.user, holding_id=holding_id,
                                                       reason=payload.reason))
