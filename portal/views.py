"""Pages that show several apps' records together: 首页 (the user's 待办) and the pupil's page
(the record with its open business, history, audit and photo)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import recorded_read
from kernel.errors import RegistryError
from portal import audit as audit_trail
from portal import exports
from portal.tasks import audit_export_start
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


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _error_page(request, exc: RegistryError):
    return render(request, "registry/error.html", {"error": exc}, status=exc.status)


@login_required
@require_GET
def audit(request):
    """审计查询: the audit trail of the auditor's scope, filtered. The export is a job started
    by a POST (``audit_export_create``); an old ``?export=xlsx`` link shows the page."""
    filters = audit_trail.AuditFilter.from_query(request.GET)
    try:
        rows = audit_trail.audit_search(request.user, filters)
    except RegistryError as exc:
        return _error_page(request, exc)
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("export", None)
    return render(request, "portal/audit.html", {
        "page": page, "filters": filters, "kinds": audit_trail.KINDS.items(), "query": query.urlencode(),
        "limit": audit_trail.LIMIT, "exports": exports.audit_exports_of(request.user)[:10],
    })


@login_required
@require_POST
@recorded_read
def audit_export_create(request):
    """Start the export of the audit trail with the page's filters (recorded: a POST)."""
    filters = audit_trail.AuditFilter.from_query(request.POST)
    try:
        export = audit_export_start(user=request.user, filters=filters, request_id=getattr(request, "request_id", ""))
    except RegistryError as exc:
        return _error_page(request, exc)
    return redirect("audit_export_detail", export_id=export.pk)


@login_required
@require_GET
def audit_export_detail(request, export_id: int):
    """An export being built by a worker (the page polls its status); its download once ready."""
    try:
        export = exports.audit_export_get(request.user, export_id)
    except RegistryError as exc:
        return _error_page(request, exc)
    return render(request, "portal/audit_export.html", {"export": export})


@login_required
@require_GET
def audit_export_status(request, export_id: int):
    """The export's state as JSON, for ``static/js/job-progress.js``."""
    try:
        export = exports.audit_export_get(request.user, export_id)
    except RegistryError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    return JsonResponse({
        "id": export.pk, "status": export.status, "running": export.is_running,
        "processed_rows": export.processed_rows, "total_rows": export.total_rows, "percent": export.percent,
    })


@login_required
@require_GET
def audit_export_download(request, export_id: int):
    try:
        export = exports.audit_export_ready(request.user, export_id)
    except RegistryError as exc:
        return _error_page(request, exc)
    return FileResponse(export.file.open("rb"), as_attachment=True, filename=export.file_name,
                        content_type=XLSX_TYPE)
