"""Pages of the registry core: home (首页), pupil list, pupil detail, registration."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kernel.errors import RegistryError
from registry import nohukou, selectors, services
from registry.forms import PupilRegisterForm
from registry.models import PupilStatus
from workflow import business, workitems


@login_required
def home(request):
    items = workitems.workitems_for(request.user).order_by("due_on")
    counts: dict[str, int] = {}
    for item in items:
        counts[item.kind] = counts.get(item.kind, 0) + 1
    return render(
        request,
        "registry/home.html",
        {
            "items": items[:50],
            "total": sum(counts.values()),
            "counts": counts,
            "overdue_count": workitems.overdue_for(request.user).count(),
        },
    )


@login_required
def overdue(request):
    items = list(workitems.overdue_for(request.user).order_by("due_on")[:500])
    for item in items:
        item.days_overdue = workitems.days_overdue(item)
    return render(request, "registry/overdue.html", {"items": items})


@login_required
def pupil_list(request):
    filters = selectors.PupilFilter(
        q=request.GET.get("q", ""),
        school=request.GET.get("school", ""),
        grade=_int(request.GET.get("grade")),
        class_number=_int(request.GET.get("class_number")),
        status=request.GET.get("status", ""),
    )
    page = selectors.paginate(
        selectors.pupil_search(request.user, filters), page=_int(request.GET.get("page")) or 1, page_size=20
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "registry/pupil_list.html",
        {"page": page, "filters": filters, "statuses": PupilStatus.choices, "query": query.urlencode()},
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
        "registry/pupil_detail.html",
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
@require_http_methods(["GET", "POST"])
def pupil_register(request):
    membership = getattr(request.user, "membership", None)
    if membership is None or not membership.school_id:
        return render(
            request, "registry/error.html", {"error": RegistryError(_("只有学校用户可以注册新生"), code="school_only")},
            status=403,
        )
    form = PupilRegisterForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            pupil = services.pupil_register(
                user=request.user,
                data=form.to_record(school_code=membership.school.code),
                duplicate_reason=form.cleaned_data["duplicate_reason"],
            )
        except RegistryError as exc:
            error = exc
            _attach_errors(form, exc)
        else:
            messages.success(request, _("已建立学籍，全国学籍号 %(n)s") % {"n": pupil.national_number})
            return redirect("pupil_detail", national_number=pupil.national_number)
    return render(request, "registry/pupil_register.html", {"form": form, "error": error})


def _attach_errors(form, exc: RegistryError) -> None:
    details = exc.details if isinstance(exc.details, list) else [exc.as_dict()]
    for detail in details:
        field = (detail.get("field") or "") if isinstance(detail, dict) else ""
        if field.startswith("guardians["):
            index, _dot, sub = field[len("guardians[") :].partition("].")
            field = f"g{index}_{sub}"
        if field in form.fields and isinstance(detail, dict) and "message" in detail:
            form.add_error(field, detail["message"])


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
