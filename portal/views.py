"""Pages that show several apps' records together: 首页 (the user's 待办) and the pupil's page
(the record with its open business, history, audit and photo)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from kernel.errors import RegistryError
from portal import audit as audit_trail
from registry import nohukou, selectors
from workflow import business, engine, queue, workitems


@login_required
def home(request):
    """待办 per person: what I can act on now (with what was sent back to me to correct,
    退回修改), what waits in my unit for someone else (and who), and 我发起的 — what I filed
    and where it stands."""
    items = queue.for_person(request.user, workitems.workitems_for(request.user).order_by("due_on", "id")[:200])
    mine = [entry for entry in items if entry.can_act]
    returned = engine.returned_to(request.user)
    return render(
        request,
        "portal/home.html",
        {
            "mine": mine[:50],
            "others": [entry for entry in items if not entry.can_act][:50],
            "returned": returned,
            "total": len(mine) + len(returned),
            "started": engine.started_by(request.user),
            "overdue_count": workitems.overdue_for(request.user).count(),
            "today": timezone.localdate(),
        },
    )


@login_required
def pupil_detail(request, national_number: str):
    try:
        pupil = selectors.pupil_get(request.user, national_number)
    except RegistryError as exc:
        return render(request, "registry/error.html", {"error": exc}, status=exc.status)
    current = business.open_business_of(pupil)
    return render(
        request,
        "portal/pupil.html",
        {
            "business_label": business.BUSINESS_LABELS.get(current.kind, current.kind) if current else "",
            "pupil": pupil,
            "guardians": pupil.guardians.all(),
            "events": selectors.pupil_history(pupil)[:100],
            "audit": selectors.pupil_audit(pupil)[:50],
            "business": current,
            "hukou_authority": nohukou.hukou_authority(pupil),
        },
    )


@login_required
def audit(request):
    """审计查询: the audit trail of the auditor's scope, filtered; ``?export=xlsx`` downloads it."""
    filters = audit_trail.AuditFilter.from_query(request.GET)
    try:
        rows = audit_trail.audit_search(request.user, filters)
    except RegistryError as exc:
        return render(request, "registry/error.html", {"error": exc}, status=exc.status)
    if request.GET.get("export") == "xlsx":
        response = HttpResponse(
            audit_trail.audit_xlsx(rows),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="audit-{timezone.localdate():%Y%m%d}.xlsx"'
        return response
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("export", None)
    return render(request, "portal/audit.html", {
        "page": page, "filters": filters, "kinds": audit_trail.KINDS.items(), "query": query.urlencode(),
        "limit": audit_trail.LIMIT,
    })
