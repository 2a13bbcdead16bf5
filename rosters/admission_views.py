"""The 招生名单 pages: upload an admission list, its preview with a box per row, apply."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.scope import get_in_scope, restrict
from kernel.errors import RegistryError
from rosters import admission
from rosters.models import AdmissionList
from rosters.tasks import admission_apply_start, admission_preview_start
from rosters.views import read_upload


@login_required
@require_http_methods(["GET", "POST"])
def admission_upload(request):
    error = None
    if request.method == "POST":
        try:
            upload = request.FILES.get("file")
            row = admission_preview_start(user=request.user, content=read_upload(upload),
                                          original_name=upload.name if upload else "")
        except RegistryError as exc:
            error = exc
        else:
            return redirect("rosters:admission_detail", row.pk)
    rows = restrict(AdmissionList.objects.all(), request.user)[:50]
    return render(request, "rosters/admissions.html", {"rows": rows, "error": error},
                  status=error.status if error else 200)


@login_required
@require_GET
def admission_detail(request, admission_id: int):
    try:
        row = get_in_scope(AdmissionList.objects.all(), request.user, pk=admission_id)
    except RegistryError as exc:
        return render(request, "registry/error.html", {"error": exc}, status=exc.status)
    items = [{**item, "kind_label": admission.KIND_LABELS[item["kind"]],
              "applicable": item["kind"] in admission.APPLICABLE} for item in row.report]
    return render(request, "rosters/admission_detail.html", {
        "row": row, "items": items, "counts": {str(admission.KIND_LABELS[k]): row.count(k) for k in admission.KIND_LABELS},
        "refused": request.session.pop(f"admission-refused-{row.pk}", None) or (row.error or {}).get("details"),
    })


@login_required
@require_POST
def admission_apply(request, admission_id: int):
    try:
        row = admission_apply_start(user=request.user, admission_id=admission_id,
                                    rows=[r for r in request.POST.getlist("row") if r.isdigit()])
    except RegistryError as exc:
        messages.error(request, f"{exc.message}（{exc.code}）")
        if isinstance(exc.details, list):
            request.session[f"admission-refused-{admission_id}"] = exc.details
        return redirect("rosters:admission_detail", admission_id)
    if row.state == AdmissionList.State.APPLIED:
        messages.success(request, _("已导入：新生%(new)s名（待审核），毕业生%(grad)s名转入升学接收")
                         % {"new": len(row.applied.get("registered", [])),
                            "grad": sum(1 for n in row.applied.get("rows", [])
                                        for item in row.report if item["row"] == n and item["kind"] == "graduate")})
    elif row.state == AdmissionList.State.APPLYING:
        messages.info(request, _("正在导入，完成后本页显示结果"))
    return redirect("rosters:admission_detail", admission_id)
