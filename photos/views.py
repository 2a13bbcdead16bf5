"""Photo pages (照片): bulk ZIP upload with progress and report, single upload per pupil,
自动规范化 previews, and the scoped photo itself. Each view calls one service and renders."""

from __future__ import annotations

import base64
import binascii

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import membership_of
from accounts.scope import get_in_scope
from kernel.errors import RegistryError, ValidationFailed
from photos import imports, rules, single
from photos.models import PhotoImportEntry
from registry.selectors import pupil_get

REPORT_PAGE_ROWS = 100


def _error_page(request, exc: RegistryError):
    return render(request, "registry/error.html", {"error": exc}, status=exc.status)


@login_required
@require_http_methods(["GET", "POST"])
def photo_upload(request):
    """照片批量导入: upload a ZIP for the user's school; the list of earlier imports."""
    membership = membership_of(request.user)
    if membership is None or not membership.school_id:
        return _error_page(request, RegistryError(_("只有学校用户可以批量上传照片"), code="school_only", status=403))
    error = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ValidationFailed(_("请选择要上传的ZIP压缩包"), code="file_required", field="file")
            job = imports.photo_bulk_start(
                user=request.user, school=membership.school, upload=upload, file_name=upload.name or ""
            )
        except RegistryError as exc:
            error = exc
        else:
            return redirect("photos:photo_import", job_id=job.pk)
    jobs = imports.photo_imports_of(user=request.user, school=membership.school)[:20]
    policy = single.photo_policy_for(membership.school)
    return render(request, "photos/upload.html",
                  {"jobs": jobs, "error": error, "policy": policy, "school": membership.school},
                  status=error.status if error else 200)


@login_required
@require_GET
def photo_import(request, job_id: int):
    """Progress while the job runs; the per-file report when it is done."""
    try:
        job = imports.photo_import_get(user=request.user, job_id=job_id)
    except RegistryError as exc:
        return _error_page(request, exc)
    status = request.GET.get("status", "")
    if status not in dict(PhotoImportEntry.Status.choices):
        status = ""
    # Refusals first: they are what the registrar has to act on.
    refused_first = Case(When(status=PhotoImportEntry.Status.REFUSED, then=Value(0)), default=Value(1),
                         output_field=IntegerField())
    entries = (imports.photo_import_entries(user=request.user, job=job, status=status)
               .select_related(None).order_by(refused_first, "index"))
    page = Paginator(entries, REPORT_PAGE_ROWS).get_page(request.GET.get("page")) if job.finished else None
    return render(request, "photos/import.html", {
        "job": job,
        "status": status,
        "statuses": PhotoImportEntry.Status.choices[1:],
        "entries": page.object_list if page else [],
        "page": page,
    })


@login_required
@require_http_methods(["GET", "POST"])
def photo_entry_normalize(request, job_id: int, entry_id: int):
    """自动规范化 of one refused entry: GET shows the result, POST stores it."""
    try:
        entry = get_in_scope(PhotoImportEntry.objects.select_related("job", "pupil"), request.user,
                             pk=entry_id, job_id=job_id)
        if request.method == "POST":
            imports.photo_entry_normalize(user=request.user, entry=entry)
            messages.success(request, _("已保存规范化后的照片：%(entry)s") % {"entry": entry.entry})
            return redirect("photos:photo_import", job_id=job_id)
        data = imports.photo_entry_preview_normalized(user=request.user, entry=entry)
    except RegistryError as exc:
        return _error_page(request, exc)
    return render(request, "photos/normalize.html", {
        "entry": entry, "pupil": entry.pupil, "preview": _data_uri(data), "size_kb": f"{len(data) / 1024:.1f}",
        "verdict": rules.check_photo(data, single.photo_policy_for(entry.job.school)),
    })


@login_required
@require_GET
def pupil_photo(request, national_number: str):
    """The pupil's current photo, only for users whose scope covers the pupil."""
    try:
        pupil = single.pupil_photo_get(user=request.user, national_number=national_number)
    except RegistryError as exc:
        return HttpResponse(str(exc.message), status=exc.status, content_type="text/plain; charset=utf-8")
    response = FileResponse(single.photo_open(pupil), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def pupil_photo_upload(request, national_number: str):
    """单张上传: the verdict per rule; stored only when every rule passes."""
    try:
        pupil = pupil_get(request.user, national_number)
    except RegistryError as exc:
        return _error_page(request, exc)
    context = {"pupil": pupil, "policy": single.photo_policy_for(pupil.school)}
    if request.method == "POST":
        photo_file = request.FILES.get("photo")
        if photo_file is None:
            context["error"] = ValidationFailed(_("请选择照片文件"), code="file_required", field="photo")
            return render(request, "photos/pupil.html", context, status=422)
        data = single.read_capped(photo_file)
        context["uploaded"] = _data_uri(data) if rules.sniff_format(data) == "JPEG" else None
        try:
            result = single.photo_upload(user=request.user, pupil=pupil, data=data)
        except single.PhotoRefused as exc:
            context.update(error=exc, rules=single.rules_report(exc.verdict))
            if exc.details["normalizable"]:
                context["normalized"] = _normalized_offer(request.user, pupil, data)
            return render(request, "photos/pupil.html", context, status=422)
        except RegistryError as exc:
            context["error"] = exc
            return render(request, "photos/pupil.html", context, status=exc.status)
        context.update(result=result, rules=result.rules, pupil=result.pupil)
    return render(request, "photos/pupil.html", context)


@login_required
@require_POST
def pupil_photo_normalized(request, national_number: str):
    """Store the 自动规范化 photo the user has just looked at (it is re-checked like any upload)."""
    try:
        pupil = pupil_get(request.user, national_number)
        try:
            data = base64.b64decode(request.POST.get("data", ""), validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed(_("规范化照片数据无效，请重新上传"), code="photo_corrupt", field="photo") from None
        single.photo_upload(user=request.user, pupil=pupil, data=data, normalized=True)
    except RegistryError as exc:
        return _error_page(request, exc)
    messages.success(request, _("已保存规范化后的照片"))
    return redirect("photos:pupil_photo_upload", national_number=pupil.national_number)


def _normalized_offer(user, pupil, data: bytes) -> dict | None:
    try:
        out = single.photo_preview_normalized(user=user, pupil=pupil, data=data)
    except RegistryError:
        return None
    return {"uri": _data_uri(out), "b64": base64.b64encode(out).decode(), "size_kb": f"{len(out) / 1024:.1f}"}


def _data_uri(data: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()
