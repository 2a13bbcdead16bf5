"""Reads of the province's duplicate data, always scoped through ``accounts.scope``."""

from __future__ import annotations

import datetime as dt

from django.contrib.contenttypes.models import ContentType
from django.db.models import Min, Prefetch

from accounts.scope import get_in_scope, restrict, scope_of
from duplicates.models import CaseMember, DuplicateCase, DuplicateSweep
from provinces.divisions import division_full_name
from workflow.models import WorkItem


def cases_visible_to(user, *, status: str | None = DuplicateCase.Status.OPEN):
    """Cases with at least one member in the user's scope (a county sees its pupils' cases)."""
    cases = restrict(DuplicateCase.objects.all(), user).distinct()
    if status:
        cases = cases.filter(status=status)
    return cases.prefetch_related(
        Prefetch("memberships", queryset=CaseMember.objects.select_related("pupil__school", "pupil__school_class"))
    )


def case_list_for(user, *, status: str | None = DuplicateCase.Status.OPEN, county: str = "",
                  limit: int = 500) -> list[DuplicateCase]:
    """The per-county 问题学籍 list: cases with a member in a graduating grade first, then by
    score; ``county``: only cases with a member in that county. Each case carries its members'
    counties (``counties``: code and name)."""
    cases = cases_visible_to(user, status=status)
    if county:
        cases = cases.filter(memberships__county_code=county)
    cases = list(cases.order_by("-score", "id")[:limit])
    for case in cases:
        case.graduating = any(m.pupil.grade in m.pupil.school.graduating_grades() for m in case.memberships.all())
        codes = dict.fromkeys(m.county_code for m in case.memberships.all())
        case.counties = [(code, division_full_name(code) or code) for code in codes]
    cases.sort(key=lambda c: (not c.graduating, -c.score, c.pk))
    return cases


def case_counties(user) -> list[tuple[str, str]]:
    """The counties of the user's scope that have members of cases (for the list's filter)."""
    codes = restrict(CaseMember.objects.all(), user).values_list("county_code", flat=True).distinct().order_by(
        "county_code")
    return [(code, division_full_name(code) or code) for code in codes]


def case_detail_for(user, case_id: int) -> DuplicateCase:
    case = get_in_scope(DuplicateCase.objects.all(), user, pk=case_id)
    return cases_visible_to(user, status=None).get(pk=case.pk)


def peer_holdings_visible_to(user, *, limit: int = 200) -> list:
    """The open 跨省在籍 records (``PeerHolding``) of the user's scope, newest first: a county
    sees its pupils' (with ``restrict``, as for cases)."""
    from duplicates.models import PeerHolding

    return list(restrict(PeerHolding.objects.filter(status=PeerHolding.Status.OPEN), user)
                .select_related("pupil__school").order_by("-found_at", "-pk")[:limit])


def sweeps_visible_to(user):
    """Sweeps of the user's province (province and its admins only)."""
    scope = scope_of(user)
    if scope is None or scope.is_school or scope.prefix is None:
        return DuplicateSweep.objects.none()
    if scope.prefix == "":
        return DuplicateSweep.objects.all()
    return DuplicateSweep.objects.filter(province_id=scope.prefix[:2]) if len(scope.prefix) == 2 else \
        DuplicateSweep.objects.none()


def sweep_progress(sweep: DuplicateSweep) -> dict:
    return {
        "id": sweep.pk,
        "province": sweep.province_id,
        "status": sweep.status,
        "mode": sweep.mode,
        "ask_peers": sweep.ask_peers,
        "since": sweep.since.isoformat() if sweep.since else None,
        "partitions_done": sweep.partitions_done,
        "partitions_total": sweep.partitions_total,
        "blocks_done": sweep.blocks_total,
        "pairs_scored": sweep.pairs_scored,
        "cases_found": sweep.cases_found,
        "started_at": sweep.started_at.isoformat(),
        "finished_at": sweep.finished_at.isoformat() if sweep.finished_at else None,
        "eta_seconds": sweep.eta_seconds,
    }


def open_cases_export(province_code: str) -> list[dict]:
    """Every open case of a province with its members (``sweep_duplicates --json``)."""
    cases = DuplicateCase.objects.filter(province_id=province_code, status=DuplicateCase.Status.OPEN).prefetch_related(
        Prefetch("memberships", queryset=CaseMember.objects.select_related("pupil__school"))
    ).order_by("id")
    return [
        {
            "case": case.pk,
            "source": case.source,
            "score": case.score,
            "kind": case.kind,
            "reasons": case.reasons,
            "members": [
                {
                    "national_number": m.pupil.national_number,
                    "id_number": m.pupil.id_number,
                    "name": m.pupil.name,
                    "birth_date": m.pupil.birth_date.isoformat(),
                    "school_code": m.pupil.school.code,
                    "county_code": m.county_code,
                }
                for m in case.memberships.all()
            ],
        }
        for case in cases
    ]


def case_deadlines(cases) -> dict[int, dt.date]:
    """The deadline of each open case of ``cases`` (the earliest of its counties' 待办 items)."""
    ids = [case.pk for case in cases]
    if not ids:
        return {}
    items = WorkItem.objects.filter(content_type=ContentType.objects.get_for_model(DuplicateCase), object_id__in=ids,
                                    state=WorkItem.State.OPEN, due_on__isnull=False)
    return dict(items.values("object_id").annotate(due=Min("due_on")).values_list("object_id", "due"))
