"""The 升学接收 pages: find and receive graduates, a progression's detail with its steps,
the allocation lists of a county or city, and the county's unreceived graduates."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import membership_of
from enrolment import allocation, receiving, selectors, unreceived
from enrolment.chains import PROGRESSION
from enrolment.models import ProgressionState
from kernel.errors import RegistryError, ValidationFailed
from workflow import engine

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _error_page(request, exc: RegistryError):
    return render(request, "registry/error.html", {"error": exc}, status=exc.status)


@login_required
@require_GET
def progression_find(request):
    """升学接收: a school finds graduates (by number and name) and receives them; everyone
    sees the progressions of their scope."""
    membership = membership_of(request.user)
    is_school = membership is not None and bool(membership.school_id)
    number, name = request.GET.get("q", "").strip(), request.GET.get("name", "").strip()
    cards, error = [], None
    if is_school and (number or name):
        try:
            cards = receiving.graduate_find(user=request.user, number=number, name=name)
        except RegistryError as exc:
            error = exc
    rows = selectors.progressions_visible_to(request.user, state=request.GET.get("state", ""))[:200]
    return render(request, "enrolment/progressions.html", {
        "is_school": is_school, "number": number, "name": name, "cards": cards, "error": error,
        "searched": is_school and bool(number or name), "rows": rows, "states": ProgressionState.choices,
        "state": request.GET.get("state", ""),
        "is_bureau": membership is not None and not membership.school_id,
    })


@login_required
@require_POST
def progression_start(request):
    try:
        row = receiving.progression_start(user=request.user, refs=request.POST.getlist("ref"),
                                          class_number=request.POST.get("class_number") or 1)
    except RegistryError as exc:
        messages.error(request, exc.as_html())
        return redirect("progression_find")
    messages.success(request, _("已接收，待本校审核人审核"))
    return redirect("progression_detail", row.pk)


@login_required
@require_GET
def progression_detail(request, progression_id: int):
    try:
        row = selectors.progression_get(request.user, progression_id)
    except RegistryError as exc:
        return _error_page(request, exc)
    membership = membership_of(request.user)
    return render(request, "enrolment/progression_detail.html", {
        "row": row,
        "entries": selectors.entries_of(row),
        "actions": selectors.actions_for(request.user, row),
        "progress": selectors.progress(row),
        "current": selectors.current_step(row),
        "log": selectors.timeline(row),
        "action_labels": engine.action_labels(PROGRESSION),
        "can_edit": row.state in (ProgressionState.OFFERED, ProgressionState.SCHOOL_REVIEW)
        and membership is not None and membership.school_id == row.school_id,
    })


@login_required
@require_POST
def progression_act(request, progression_id: int, action: str):
    reason = request.POST.get("reason", "")
    done = {"accept": _("已接收，待本校审核人审核"), "approve": _("已审核通过"), "withdraw": _("已撤回"),
            "refuse": _("已审核不通过"), "decline": _("已退回，不接收")}
    if action not in receiving.PROGRESSION_ACTIONS:
        raise Http404
    try:
        receiving.progression_act(user=request.user, progression_id=progression_id, action=action, reason=reason)
    except RegistryError as exc:
        messages.error(request, exc.as_html())
    else:
        messages.success(request, done[action])
    return redirect("progression_detail", progression_id)


@login_required
@require_POST
def progression_classes(request, progression_id: int):
    classes = {}
    for key, value in request.POST.items():
        if key.startswith("class-") and value.strip():
            try:
                classes[int(key[6:])] = int(value)
            except ValueError:
                messages.error(request, _("班号应为1到99之间的整数"))
                return redirect("progression_detail", progression_id)
    spread = request.POST.get("spread_over", "").strip()
    try:
        receiving.progression_set_classes(user=request.user, progression_id=progression_id, classes=classes,
                                          spread_over=int(spread) if spread.isdigit() else None)
    except RegistryError as exc:
        messages.error(request, exc.as_html())
    else:
        messages.success(request, _("已保存分班"))
    return redirect("progression_detail", progression_id)


@login_required
@require_POST
def progression_remove(request, progression_id: int, entry_id: int):
    try:
        receiving.progression_remove(user=request.user, progression_id=progression_id, entry_id=entry_id)
    except RegistryError as exc:
        messages.error(request, exc.as_html())
    else:
        messages.success(request, _("已从名单中移除"))
    return redirect("progression_detail", progression_id)


@login_required
@require_http_methods(["GET", "POST"])
def allocation_list(request):
    """升学分配名单: a county or city uploads (or keys in) which graduates go where."""
    error = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        keyed = request.POST.get("keyed", "")
        try:
            if upload is None and not keyed.strip():
                raise ValidationFailed(_("请上传分配名单文件，或录入名单内容"), code="file_required", field="file")
            if upload is not None and upload.size > allocation.MAX_BYTES:
                raise ValidationFailed(_("文件太大，单个分配名单不超过 %(max)s MB")
                                       % {"max": allocation.MAX_BYTES // (1024 * 1024)}, code="file_too_large",
                                       field="file")
            row = allocation.allocation_import(user=request.user, content=upload.read() if upload else b"",
                                               original_name=upload.name if upload else "", keyed=keyed)
        except RegistryError as exc:
            error = exc
        else:
            messages.success(request, _("已分配%(offered)s名毕业生，%(refused)s行有错误")
                             % {"offered": row.offered, "refused": row.refused})
            return redirect("allocation_detail", row.pk)
    membership = membership_of(request.user)
    return render(request, "enrolment/allocations.html", {
        "rows": selectors.allocations_visible_to(request.user)[:100], "error": error,
        "can_upload": membership is not None and not membership.school_id, "keyed": request.POST.get("keyed", ""),
    })


@login_required
@require_GET
def allocation_detail(request, allocation_id: int):
    try:
        row = selectors.allocation_get(request.user, allocation_id)
    except RegistryError as exc:
        return _error_page(request, exc)
    return render(request, "enrolment/allocation_detail.html", {
        "row": row, "progressions": row.progressions.select_related("school").order_by("school__code"),
    })


@login_required
@require_GET
def allocation_template(request):
    response = HttpResponse(allocation.allocation_template(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(_('升学分配名单模板') + '.xlsx')}"
    return response


def _year(request) -> int:
    value = request.GET.get("year", "")
    year = int(value) if value.isdigit() and len(value) == 4 else timezone.localdate().year
    return min(max(year, 2000), 2100)


@login_required
@require_GET
def progression_unreceived(request):
    """未升学毕业生: the compulsory-age graduates of the user's scope nobody received."""
    year = _year(request)
    pupils = unreceived.unreceived_for(request.user, year=year)
    return render(request, "enrolment/unreceived.html", {
        "year": year, "pupils": pupils[:1000], "count": pupils.count(),
    })


@login_required
@require_GET
def progression_unreceived_export(request):
    year = _year(request)
    response = HttpResponse(unreceived.unreceived_export(request.user, year=year), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(_('未升学毕业生') + f'-{year}.xlsx')}"
    return response
