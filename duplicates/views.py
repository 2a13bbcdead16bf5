"""Pages of the province's duplicate work (查重): sweeps with progress, the per-county
问题学籍 list, case detail with its resolutions.

Each view parses input, calls one service or selector and renders; refusals are shown with
the service's message (the same text the API returns).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import membership_of
from duplicates import deletion, peers, selectors, sweeps
from duplicates import sweeps as sweeps_module
from kernel.errors import NotFound, RegistryError, ValidationFailed
from registry.partials import render_page, wants_partial


def _error(request, exc: RegistryError):
    return render(request, "registry/error.html", {"error": exc}, status=exc.status)


def _province_of(user) -> str:
    membership = membership_of(user)
    return membership.division_id[:2] if membership and membership.division_id else ""


@login_required
@require_GET
def sweep_list(request):
    sweeps = list(selectors.sweeps_visible_to(request.user)[:20])
    current = next((s for s in sweeps if s.status == "running"), None)
    return render(request, "duplicates/sweeps.html", {
        "sweeps": sweeps, "current": current, "province": _province_of(request.user),
        "default_partitions": sweeps_module.DEFAULT_PARTITIONS,
        "progress": selectors.sweep_progress(current) if current else None,
    })


@login_required
@require_POST
def sweep_start(request):
    try:
        partitions = int(request.POST.get("partitions") or sweeps.DEFAULT_PARTITIONS)
        sweeps.sweep_start(user=request.user, province_code=_province_of(request.user), partitions=partitions,
                           ask_peers=bool(request.POST.get("ask_peers")))
    except ValueError:
        return _error(request, ValidationFailed(_("分区数应为整数"), code="invalid_partitions", field="partitions"))
    except RegistryError as exc:
        return _error(request, exc)
    messages.success(request, _("查重已开始"))
    return redirect("duplicates:sweeps")


@login_required
@require_POST
def sweep_resume(request, sweep_id: int):
    try:
        sweeps.sweep_resume(user=request.user, sweep_id=sweep_id)
    except RegistryError as exc:
        return _error(request, exc)
    messages.success(request, _("已继续未完成的分区"))
    return redirect("duplicates:sweeps")


@login_required
@require_GET
def sweep_progress(request, sweep_id: int):
    sweep = selectors.sweeps_visible_to(request.user).filter(pk=sweep_id).first()
    if sweep is None:
        exc = NotFound(_("未找到该查重批次，或不在您的管理范围内"))
        return JsonResponse(exc.as_dict(), status=404)
    return JsonResponse(selectors.sweep_progress(sweep))


@login_required
@require_GET
def case_list(request):
    """The 问题学籍 list, 50 a page, filtered by status (待处理 by default, 已处理, 全部) and county."""
    status = request.GET.get("status", "open")
    status = status if status in ("open", "resolved", "all") else "open"
    counties = selectors.case_counties(request.user)
    county = request.GET.get("county", "")
    county = county if county in {code for code, _name in counties} else ""
    found = selectors.case_list_for(request.user, status=None if status == "all" else status, county=county,
                                    limit=CASE_LIST_LIMIT)
    page = Paginator(found, CASE_PAGE_SIZE).get_page(request.GET.get("page"))
    cases = list(page.object_list)
    deadlines = selectors.case_deadlines(cases)
    for case in cases:
        case.due_on = deadlines.get(case.pk)
    return render_page(request, "duplicates/cases.html", "duplicates/_case_results.html", {
        "today": timezone.localdate(),
        "cases": cases, "page": page, "status": status, "county": county, "counties": counties,
        "capped": len(found) >= CASE_LIST_LIMIT, "limit": CASE_LIST_LIMIT,
        "holdings": [] if wants_partial(request) else selectors.peer_holdings_visible_to(request.user),
        "can_resolve_holdings": peers.can_resolve_holdings(request.user),
        "reason_max": peers.REASON_MAX,
    })


@login_required
@require_GET
def case_detail(request, case_id: int):
    try:
        case = selectors.case_detail_for(request.user, case_id)
    except RegistryError as exc:
        return _error(request, exc)
    deletions = list(case.deletions.select_related("pupil", "proposed_by", "approved_by").order_by("-pk"))
    return render(request, "duplicates/case_detail.html", {
        "case": case, "deletions": deletions,
        "pending_deletion": any(d.state == "county_review" for d in deletions),
    })


#: The case list: 50 cases a page, of the first 2,000 of the filter (graduating grades first).
CASE_PAGE_SIZE = 50
CASE_LIST_LIMIT = 2000

DELETION_ACTIONS = {
    "approve": (deletion.deletion_approve, _("已同意删除")),
    "refuse": (deletion.deletion_refuse, _("已不同意删除")),
    "withdraw": (deletion.deletion_withdraw, _("已撤回删除申请")),
    "undo": (deletion.deletion_undo, _("已撤销删除，学籍已恢复")),
}


@login_required
@require_POST
def deletion_act(request, request_id: int, action: str):
    """One action on a 删除学籍申请 (approve, refuse, withdraw, undo) from the case page."""
    if action not in DELETION_ACTIONS:
        return _error(request, NotFound(_("未找到该操作")))
    service, done = DELETION_ACTIONS[action]
    try:
        row = service(user=request.user, request_id=request_id, reason=request.POST.get("reason", ""))
    except RegistryError as exc:
        return _error(request, exc)
    messages.success(request, done)
    return redirect("duplicates:case_detail", case_id=row.case_id)


@login_required
@require_POST
def peer_holding_resolve(request, holding_id: int):
    """已处理: the county's approver resolves a 跨省在籍 from the 问题学籍 page, with a reason."""
    try:
        peers.peer_holding_resolve(user=request.user, holding_id=holding_id, reason=request.POST.get("reason", ""))
    except RegistryError as exc:
        return _error(request, exc)
    messages.success(request, _("跨省在籍已处理"))
    return redirect("duplicates:cases")
