"""Reads of pupil data, every one already restricted to what the user may see."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import connections
from django.db.models import QuerySet

from accounts.scope import get_in_scope, restrict
from kernel import identity
from registry.models import HistoryEntry, Pupil

MAX_PAGE_SIZE = 100


@dataclass
class PupilFilter:
    q: str = ""
    name: str = ""
    national_number: str = ""
    id_number: str = ""
    school: str = ""
    grade: int | None = None
    class_number: int | None = None
    status: str = ""
    #: Statuses shown when no ``status`` is chosen (empty: every status).
    statuses: tuple[str, ...] = ()
    #: A column of ``SORTS``, ``-`` in front for descending; newest first when empty.
    sort: str = ""


#: The columns a list may be sorted by, and the ordering each stands for (``id`` keeps
#: pages stable between equal values).
SORTS = {
    "name": ("name", "id"),
    "national_number": ("national_number",),
    "birth_date": ("birth_date", "id"),
    "school": ("school__code", "grade", "school_class__number", "name", "id"),
    "grade": ("grade", "school_class__number", "name", "id"),
}

#: Above this many rows a list says "more than …" unless the exact count is asked for.
COUNT_CAP = 10_000


@dataclass
class Page:
    items: list
    page: int
    page_size: int
    has_next: bool


def pupils_visible_to(user) -> QuerySet[Pupil]:
    return restrict(Pupil.objects.all(), user)


def pupil_search(user, filters: PupilFilter) -> QuerySet[Pupil]:
    """Pupils in scope matching the filters, newest first. ``q`` guesses what was typed."""
    pupils = pupils_visible_to(user).select_related("school", "school_class")
    q = filters.q.strip()
    if q:
        normalized = identity.normalize_id_number(q)
        if len(normalized) == 19 and normalized[0] in "GLJ":
            pupils = pupils.filter(national_number=normalized)
        elif len(normalized) == 18 and normalized[:17].isdigit():
            pupils = pupils.filter(id_number=normalized)
        elif normalized.isdigit() and len(normalized) == 10:
            pupils = pupils.filter(school__code=normalized)
        else:
            pupils = pupils.filter(name__startswith=q)
    if filters.name:
        pupils = pupils.filter(name__startswith=filters.name.strip())
    if filters.national_number:
        pupils = pupils.filter(national_number=identity.normalize_id_number(filters.national_number))
    if filters.id_number:
        pupils = pupils.filter(id_number=identity.normalize_id_number(filters.id_number))
    if filters.school:
        pupils = pupils.filter(school__code=filters.school.strip())
    if filters.grade:
        pupils = pupils.filter(grade=filters.grade)
    if filters.class_number:
        pupils = pupils.filter(school_class__number=filters.class_number)
    if filters.status:
        pupils = pupils.filter(status=filters.status)
    elif filters.statuses:
        pupils = pupils.filter(status__in=filters.statuses)
    return pupils.order_by(*_ordering(filters.sort))


def _ordering(sort: str) -> tuple[str, ...]:
    descending = sort.startswith("-")
    columns = SORTS.get(sort.lstrip("-"))
    if columns is None:
        return ("-id",)
    return tuple(f"-{c}" for c in columns) if descending else columns


def count_capped(queryset: QuerySet, *, exact: bool = False, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many rows ``queryset`` has, counting at most ``cap`` unless ``exact``: a county's
    list answers at once; a province-wide count of millions is done only on demand.
    Returns ``(count, is_exact)``."""
    if exact:
        return queryset.order_by().count(), True
    count = queryset.order_by()[: cap + 1].count()
    return min(count, cap), count <= cap


def count_estimate(queryset: QuerySet) -> int:
    """PostgreSQL's planner estimate of the rows of ``queryset`` (EXPLAIN, nothing run): the
    "约 …" of a list past the cap, whose exact count is done only on demand."""
    sql, params = queryset.order_by().query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def paginate(queryset: QuerySet, *, page: int = 1, page_size: int = 20) -> Page:
    """One page without COUNT(*): fetch one row more to know whether a next page exists."""
    page = max(1, page)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    offset = (page - 1) * page_size
    rows = list(queryset[offset : offset + page_size + 1])
    return Page(items=rows[:page_size], page=page, page_size=page_size, has_next=len(rows) > page_size)


def pupil_get(user, national_number: str) -> Pupil:
    return get_in_scope(
        Pupil.objects.select_related("school__county", "school_class", "hukou_division"),
        user,
        national_number=identity.normalize_id_number(national_number),
    )


def pupil_history(pupil: Pupil) -> QuerySet[HistoryEntry]:
    """The pupil's history in words (the caller has already checked scope on the pupil)."""
    return pupil.history.select_related("school").all()


def pupil_audit(pupil: Pupil):
    """Field-level audit of the record (pghistory events with who and which unit)."""
    return (
        Pupil.pgh_event_model.objects.filter(pgh_obj=pupil)
        .select_related("pgh_context")
        .order_by("-pgh_created_at")
    )
