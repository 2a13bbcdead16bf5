"""The pupil list (学生学籍查询)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from registry import selectors
from registry.models import PupilStatus


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


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
