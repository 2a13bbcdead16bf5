"""Pages of the registry core: home (首页), pupil list, pupil detail, registration."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from kernel.errors import RegistryError
from registry import nohukou, selectors
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


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
