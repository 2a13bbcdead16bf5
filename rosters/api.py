"""Roster import and export (花名册) over the API: ``/api/v1/rosters/...``.

``POST /rosters/imports`` uploads a file and starts its dry run; ``GET
/rosters/imports/{id}`` polls progress and returns the refused rows;
``POST /rosters/imports/{id}/confirm`` imports with ``good_rows`` or ``all_or_nothing``;
``POST /rosters/export`` (recorded, so not a GET) downloads the xlsx (a large one: 202 and a job to poll at
``GET /rosters/exports/{id}``, its workbook at ``/rosters/exports/{id}/file``);
``GET /rosters/template`` the template.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from django.http import FileResponse, HttpResponse
from ninja import Field, File, Form, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from accounts.permissions import recorded_read_path
from kernel.errors import post_required
from rosters import exporting, jobs, reading, reports
from rosters.models import RosterExport, RosterImport
from rosters.tasks import roster_check_start, roster_export_start, roster_import_start
from rosters.views import XLSX_TYPE, read_upload

router = Router(tags=["rosters"])


class RosterProblemOut(Schema):
    column: str
    field: str | None = None
    code: str
    message: str


class RosterRowOut(Schema):
    row: int
    name: str
    problems: list[RosterProblemOut]


class RosterImportOut(Schema):
    id: int
    status: str
    status_label: str
    mode: str
    running: bool
    percent: int
    file_name: str
    file_format: str
    total_rows: int
    processed_rows: int
    new_rows: int
    unchanged_rows: int
    refused_rows: int
    imported_rows: int
    error: dict | None = None
    refused: list[RosterRowOut]
    refused_total: int
    report_url: str


class RosterConfirmIn(Schema):
    mode: str


def _out(job: RosterImport, *, refused_offset: int = 0, refused_limit: int = 1000) -> dict:
    refused_limit = max(0, min(refused_limit, 5000))
    return {
        "id": job.pk,
        "status": job.status,
        "status_label": job.get_status_display(),
        "mode": job.mode,
        "running": job.is_running,
        "percent": job.percent,
        "file_name": job.original_name,
        "file_format": job.file_format,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "new_rows": job.new_rows,
        "unchanged_rows": job.unchanged_rows,
        "refused_rows": job.refused_rows,
        "imported_rows": job.imported_rows,
        "error": job.error,
        "refused": job.refused[refused_offset : refused_offset + refused_limit],
        "refused_total": len(job.refused),
        "report_url": f"/api/v1/rosters/imports/{job.pk}/report.csv",
    }


@router.post("/rosters/imports", response={202: RosterImportOut})
def roster_import_start_endpoint(request, file: UploadedFile = File(...), keep_likely_duplicates: bool = Form(False)):
    job = jobs.roster_upload(
        user=request.user,
        content=read_upload(file),
        file_name=file.name or "",
        keep_likely_duplicates=keep_likely_duplicates,
    )
    job = roster_check_start(job)
    return Status(202, _out(job))


@router.get("/rosters/imports/{job_id}", response=RosterImportOut)
def roster_import_detail(request, job_id: int, refused_offset: int = 0, refused_limit: int = 1000):
    job = jobs.roster_import_get(request.user, job_id)
    return _out(job, refused_offset=max(0, refused_offset), refused_limit=refused_limit)


@router.post("/rosters/imports/{job_id}/confirm", response={202: RosterImportOut})
def roster_import_confirm(request, job_id: int, payload: RosterConfirmIn):
    job = jobs.roster_confirm(user=request.user, job_id=job_id, mode=payload.mode)
    job = roster_import_start(job)
    return Status(202, _out(job))


@router.get("/rosters/imports/{job_id}/report.csv")
def roster_import_report_csv(request, job_id: int):
    job = jobs.roster_import_get(request.user, job_id)
    return _download(reports.report_bytes(job, file_format=reading.CSV), "text/csv; charset=utf-8",
                     f"roster-import-{job.pk}.csv")


@router.get("/rosters/imports/{job_id}/report.xlsx")
def roster_import_report_xlsx(request, job_id: int):
    job = jobs.roster_import_get(request.user, job_id)
    return _download(reports.report_bytes(job, file_format=reading.XLSX), XLSX_TYPE, f"roster-import-{job.pk}.xlsx")


class RosterExportOut(Schema):
    id: int
    status: str
    status_label: str
    rows: int
    file_name: str
    error: str
    at: dt.datetime
    finished_at: dt.datetime | None
    download_url: str | None = Field(description="完成后下载花名册的地址")

    @staticmethod
    def build(export: RosterExport) -> RosterExportOut:
        done = export.status == RosterExport.Status.DONE
        return RosterExportOut(
            id=export.pk, status=export.status, status_label=str(export.get_status_display()),
            rows=export.row_count, file_name=export.file_name, error=export.error, at=export.at,
            finished_at=export.finished_at,
            download_url=f"/api/v1/rosters/exports/{export.pk}/file" if done else None,
        )


class RosterExportIn(Schema):
    school: str = Field("", max_length=20, description="学校标识码")
    county: str = Field("", max_length=20, description="区县代码（6位）")
    grade: int | None = Field(None, ge=1, le=12, description="年级（须同时给学校）")
    class_number: int | None = Field(None, ge=1, le=99, description="班号（须同时给年级）")
    status: str = Field("", max_length=20, description="学籍状态：空为在籍，closed 为已离校，all 为全部，或一个状态值")


@router.post("/rosters/export", response={200: None, 202: RosterExportOut})
def roster_export(request, payload: RosterExportIn):
    """The xlsx at once; or, above ``ROSTER_EXPORT_INLINE_MAX_ROWS`` pupils, 202 with an
    export job built by a worker (poll ``/rosters/exports/{id}``, then fetch its file). Every
    export is recorded, so it is a POST (a read-only role and token may make it)."""
    exported = roster_export_start(
        user=request.user, filters=exporting.RosterFilter(**payload.dict()),
        request_id=getattr(request, "request_id", ""),
    )
    if exported.job is not None:
        return Status(202, RosterExportOut.build(exported.job))
    return _download(exported.content, XLSX_TYPE, exported.file_name)


recorded_read_path("/api/v1/rosters/export")


@router.get("/rosters/export", include_in_schema=False)
def roster_export_by_get(request):
    """The export used to be a GET; a GET writes nothing, so it is refused with how to ask."""
    raise post_required()


@router.get("/rosters/exports/{export_id}", response=RosterExportOut)
def roster_export_status(request, export_id: int):
    return RosterExportOut.build(exporting.roster_export_get(request.user, export_id))


@router.get("/rosters/exports/{export_id}/file")
def roster_export_file(request, export_id: int):
    export = exporting.roster_export_ready(request.user, export_id)
    return FileResponse(export.file.open("rb"), as_attachment=True, filename=export.file_name,
                        content_type=XLSX_TYPE)


@router.get("/rosters/template")
def roster_template(request):
    return _download(reports.roster_template(), XLSX_TYPE, "roster-template.xlsx")


def _download(body: bytes, content_type: str, file_name: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(file_name)}"
    return response
