"""The pupil list (学生学籍查询)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.utils.translation import gettext_lazy as _

from accounts.permissions import membership_of
from accounts.scope import restrict
from registry import selectors
from registry.models import ACTIVE_STATUSES, PupilStatus
from registry.partials import render_page
from schools.models import School

#: The list's columns: (sort key or "", heading).
COLUMNS = [
    ("name", _("姓名")),
    ("national_number", _("全国学籍号")),
    ("", _("性别")),
    ("birth_date", _("出生日期")),
    ("school", _("学校")),
    ("grade", _("年级")),
    ("", _("班级")),
    ("", _("状态")),
]

#: A county or city picks a school from a list up to this many schools; a province types.
SCHOOL_PICKER_LIMIT = 400


@login_required
def pupil_list(request):
    closed = request.GET.get("closed") == "1"
    status = request.GET.get("status", "")
    filters = selectors.PupilFilter(
        q=request.GET.get("q", ""),
        school=request.GET.get("school", ""),
        grade=_int(request.GET.get("grade")),
        class_number=_int(request.GET.get("class_number")),
        status=status if status in PupilStatus.values else "",
        # 在读/休学/… by default; finished, closed and deleted records behind the filter.
        statuses=() if closed else ACTIVE_STATUSES,
        sort=request.GET.get("sort", ""),
    )
    pupils = selectors.pupil_search(request.user, filters)
    page = selectors.paginate(pupils, page=_int(request.GET.get("page")) or 1, page_size=20)
    count, exact = selectors.count_capped(pupils, exact=request.GET.get("exact") == "1")
    # Past the cap: the planner's estimate (never below the cap the list has seen).
    estimate = None if exact else max(selectors.count_estimate(pupils), count + 1)
    query = request.GET.copy()
    query.pop("page", None)
    unsorted = query.copy()
    unsorted.pop("sort", None)
    return render_page(
        request,
        "registry/pupil_list.html",
        "registry/_pupil_results.html",
        {
            "page": page,
            "filters": filters,
            "closed": closed,
            "statuses": PupilStatus.choices,
            "query": query.urlencode(),
            "unsorted_query": unsorted.urlencode(),
            "columns": COLUMNS,
            "count": count,
            "count_exact": exact,
            "count_estimate": estimate,
            "schools": _school_choices(request.user),
            "export_fields": _export_fields(request.user, filters),
        },
    )


def _school_choices(user) -> list[School] | None:
    """The schools of a county's or city's scope for the picker; ``None`` for a school user
    (its own school) and for a scope too large to list."""
    membership = membership_of(user)
    if membership is None or membership.school_id:
        return None
    schools = restrict(School.objects.order_by("code"), user).only("code", "name")[: SCHOOL_PICKER_LIMIT + 1]
    schools = list(schools)
    return schools if len(schools) <= SCHOOL_PICKER_LIMIT else None


def _export_fields(user, filters: selectors.PupilFilter) -> dict[str, str]:
    """The fields of the 花名册 export (recorded, a POST) of what the list shows, when it is
    one school or county; empty otherwise."""
    membership = membership_of(user)
    if membership is None:
        return {}
    fields = {}
    if filters.school:
        fields["school"] = filters.school.strip()
    elif membership.school_id:
        fields["school"] = membership.school.code
    elif membership.level == "county":
        fields["county"] = membership.division_id
    else:
        return {}
    if fields.get("school") and filters.grade:
        fields["grade"] = str(filters.grade)
        if filters.class_number:
            fields["class_number"] = str(filters.class_number)
    return fields


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
