"""Photo endpoints (照片): single upload and download, bulk ZIP import with its report."""

from __future__ import annotations

from django.http import FileResponse, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from accounts.permissions import membership_of, school_for_write
from kernel.errors import ValidationFailed
from photos import imports, reports, single
from photos.models import PhotoImport
from registry.selectors import pupil_get
from schools.models import School

router = Router(tags=["photos"])


class PhotoCheck(Schema):
    code: str
    message: str


class PhotoOut(Schema):
    national_number: str
    unchanged: bool
    url: str
    width: int
    height: int
    size_bytes: int
    warnings: list[PhotoCheck]


class PhotoImportEntryOut(Schema):
    index: int
    entry: str
    status: str
    code: str
    message: str
    national_number: str
    name: str


class PhotoImportOut(Schema):
    id: int
    school: str
    file_name: str
    state: str
    total: int
    processed: int
    percent: int
    accepted: int
    unchanged: int
    refused: int
    ignored: int
    error_code: str
    error_message: str
    report_csv: str
    report_xlsx: str


class PhotoImportDetail(PhotoImportOut):
    entries: list[PhotoImportEntryOut]


def _job_out(job: PhotoImport) -> dict:
    base = f"/api/v1/photos/imports/{job.pk}"
    return {
        "id": job.pk, "school": job.school.code, "file_name": job.file_name, "state": job.state,
        "total": job.total, "processed": job.processed, "percent": job.percent, "accepted": job.accepted,
        "unchanged": job.unchanged, "refused": job.refused, "ignored": job.ignored,
        "error_code": job.error_code, "error_message": job.error_message,
        "report_csv": f"{base}/report.csv", "report_xlsx": f"{base}/report.xlsx",
    }


@router.post("/pupils/{national_number}/photo", response=PhotoOut)
def photo_upload(request, national_number: str, file: UploadedFile = File(...)):
    pupil = pupil_get(request.user, national_number)
    result = single.photo_upload(user=request.user, pupil=pupil, data=single.read_capped(file))
    v = result.verdict
    return {
        "national_number": pupil.national_number, "unchanged": result.unchanged,
        "url": f"/api/v1/pupils/{pupil.national_number}/photo", "width": v.width, "height": v.height,
        "size_bytes": v.size_bytes, "warnings": [{"code": w.code, "message": str(w.message)} for w in v.warnings],
    }


@router.get("/pupils/{national_number}/photo")
def photo_download(request, national_number: str):
    pupil = single.pupil_photo_get(user=request.user, national_number=national_number)
    response = FileResponse(single.photo_open(pupil), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=300"
    return response


@router.post("/photos/imports", response={202: PhotoImportOut})
def photo_import_start(request, file: UploadedFile = File(...), school: str = Form("")):
    target = _school_of(request.user, school)
    job = imports.photo_bulk_start(user=request.user, school=target, upload=file, file_name=file.name or "")
    return Status(202, _job_out(job))


@router.get("/photos/imports/{job_id}", response=PhotoImportDetail)
def photo_import_detail(request, job_id: int, status: str = "", offset: int = 0, limit: int = 1000):
    job = imports.photo_import_get(user=request.user, job_id=job_id)
    limit = max(1, min(limit, 5000))
    entries = imports.photo_import_entries(user=request.user, job=job, status=status).order_by("index")
    out = _job_out(job)
    out["entries"] = [
        {"index": e.index, "entry": e.entry, "status": e.status, "code": e.code, "message": e.message,
         "national_number": e.national_number, "name": e.pupil_name}
        for e in entries[max(0, offset) : max(0, offset) + limit]
    ]
    return out


@router.get("/photos/imports/{job_id}/report.csv")
def photo_import_report_csv(request, job_id: int):
    job = imports.photo_import_get(user=request.user, job_id=job_id)
    body = reports.report_as_csv(reports.photo_import_report(user=request.user, job=job))
    return _download(body, "text/csv; charset=utf-8", f"photo-import-{job.pk}.csv")


@router.get("/photos/imports/{job_id}/report.xlsx")
def photo_import_report_xlsx(request, job_id: int):
    job = imports.photo_import_get(user=request.user, job_id=job_id)
    body = reports.report_as_xlsx(reports.photo_import_report(user=request.user, job=job))
    return _download(body, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     f"photo-import-{job.pk}.xlsx")


def _download(body: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _school_of(user, code: str) -> School:
    """The school named by ``code`` (in the user's scope), or the user's own school."""
    if code:
        return school_for_write(user=user, school_code=code.strip())
    membership = membership_of(user)
    if membership is None or not membership.school_id:
        raise ValidationFailed(_("请指定学校标识码（school）"), code="school_required", field="school")
    return membership.school
