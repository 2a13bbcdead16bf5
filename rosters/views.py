"""Roster pages (花名册): upload → preview (dry run) → confirm; export; the template.

Each view parses input, calls one service or selector of ``schools.roster`` and renders.
"""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import membership_of, recorded_read
from kernel.errors import RegistryError, ValidationFailed
from rosters import columns, exporting, jobs, reading, reports
from rosters.models import RosterImport
from rosters.tasks import roster_check_start, roster_export_start, roster_import_start

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PREVIEW_ROWS = 500


def _error_page(request, exc: RegistryError):
    return render(request, "registry/error.html", {"error": exc}, status=exc.status)


def _download(content: bytes, file_name: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(file_name)}"
    return response


def read_upload(upload) -> bytes:
    """The uploaded bytes, refusing a missing or oversized file before reading it."""
    if upload is None:
        raise ValidationFailed(_("请选择要上传的花名册文件（xlsx 或 CSV）"), code="file_required", field="file")
    if upload.size > columns.MAX_BYTES:
        reading.sniff_format(b"x" * (columns.MAX_BYTES + 1))  # raises file_too_large with the sizes
    return upload.read()


@login_required
@require_http_methods(["GET", "POST"])
def roster_import(request):
    """花名册: upload a roster for a dry run; earlier imports; the export form."""
    error = None
    if request.method == "POST":
        try:
            upload = request.FILES.get("file")
            job = jobs.roster_upload(
                user=request.user,
                content=read_upload(upload),
                file_name=upload.name or "",
                keep_likely_duplicates=bool(request.POST.get("keep_likely_duplicates")),
            )
            roster_check_start(job)
        except RegistryError as exc:
            error = exc
        else:
            return redirect("rosters:roster_import_detail", job_id=job.pk)
    membership = membership_of(request.user)
    return render(
        request,
        "rosters/import.html",
        {
            "error": error,
            "jobs": jobs.roster_imports_visible_to(request.user).select_related("school")[:20],
            "exports": exporting.roster_exports_of(request.user)[:10],
            "school": membership.school if membership and membership.school_id else None,
            "division": membership.division_id if membership and not membership.school_id else "",
        },
        status=error.status if error else 200,
    )


@login_required
@require_GET
def roster_import_detail(request, job_id: int):
    """Progress while checking or importing; then the preview with every refused row."""
    try:
        job = jobs.roster_import_get(request.user, job_id)
    except RegistryError as exc:
        return _error_page(request, exc)
    return render(
        request,
        "rosters/import_detail.html",
        {
            "job": job,
            "refused": job.refused[:PREVIEW_ROWS],
            "more_refused": max(0, len(job.refused) - PREVIEW_ROWS),
            "modes": RosterImport.Mode.choices,
            "can_confirm": job.status == RosterImport.Status.CHECKED and job.created_by_id == request.user.pk,
        },
    )


@login_required
@require_POST
def roster_confirm(request, job_id: int):
    try:
        job = jobs.roster_confirm(user=request.user, job_id=job_id, mode=request.POST.get("mode", ""))
        roster_import_start(job)
    except RegistryError as exc:
        messages.error(request, exc.as_html())
    return redirect("rosters:roster_import_detail", job_id=job_id)


@login_required
@require_GET
def roster_report(request, job_id: int, file_format: str):
    """The row report of a job (every row's outcome and every reason) as CSV or xlsx."""
    try:
        job = jobs.roster_import_get(request.user, job_id)
    except RegistryError as exc:
        return _error_page(request, exc)
    file_format = reading.XLSX if file_format == "xlsx" else reading.CSV
    content = reports.report_bytes(job, file_format=file_format)
    content_type = XLSX_TYPE if file_format == reading.XLSX else "text/csv; charset=utf-8"
    return _download(content, f"花名册导入结果_{job.pk}.{file_format}", content_type)


@login_required
@require_http_methods(["GET", "POST"])
@recorded_read
def roster_export(request):
    """Download the 花名册 of a county, school, grade or class (xlsx). Every export is recorded,
    so it is a POST; a GET (an old link) shows the same filters with the button and exports nothing."""
    data = request.POST if request.method == "POST" else request.GET
    filters = exporting.RosterFilter(
        county=data.get("county", "").strip(),
        school=data.get("school", "").strip(),
        grade=_int(data.get("grade")),
        class_number=_int(data.get("class_number")),
        status=data.get("status", "").strip(),
    )
    if request.method != "POST":
        return render(request, "rosters/export_confirm.html", {"filters": filters})
    try:
        exported = roster_export_start(user=request.user, filters=filters,
                                       request_id=getattr(request, "request_id", ""))
    except RegistryError as exc:
        return _error_page(request, exc)
    if exported.job is not None:
        return redirect("rosters:roster_export_detail", export_id=exported.job.pk)
    return _download(exported.content, exported.file_name, XLSX_TYPE)


@login_required
@require_GET
def roster_export_detail(request, export_id: int):
    """A large export being built by a worker; its download once it is ready."""
    try:
        export = exporting.roster_export_get(request.user, export_id)
    except RegistryError as exc:
        return _error_page(request, exc)
    return render(request, "rosters/export_detail.html", {"export": export})


@login_required
@require_GET
def roster_export_download(request, export_id: int):
    try:
        export = exporting.roster_export_ready(request.user, export_id)
    except RegistryError as exc:
        return _error_page(request, exc)
    return FileResponse(export.file.open("rb"), as_attachment=True, filename=export.file_name,
                        content_type=XLSX_TYPE)


@login_required
@require_GET
def roster_template(request):
    return _download(reports.roster_template(), "花名册模板.xlsx", XLSX_TYPE)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
