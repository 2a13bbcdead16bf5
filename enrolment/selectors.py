"""Reads of progressions (升学接收), allocation lists and registrations under review (新生注册审核),
always through the scope."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from accounts.scope import get_in_scope, restrict
from enrolment.chains import PROGRESSION, REGISTRATION
from enrolment.models import Allocation, Progression, Registration
from workflow import engine


def progressions_visible_to(user, *, state: str = "", open_only: bool = False) -> QuerySet[Progression]:
    rows = restrict(Progression.objects.select_related("school", "allocation"), user).annotate(
        entry_count=Count("entries"))
    if state:
        rows = rows.filter(state=state)
    if open_only:
        rows = rows.filter(state__in=PROGRESSION.open_states)
    return rows.order_by("-id")


def progression_get(user, progression_id: int) -> Progression:
    return get_in_scope(
        Progression.objects.select_related("school__county", "allocation", "initiator", "accepted_by",
                                           "school_approver", "county_approver"),
        user,
        pk=progression_id,
    )


def entries_of(progression: Progression):
    return progression.entries.select_related("pupil", "origin_school").order_by("class_number", "pupil__name", "pk")


def actions_for(user, progression: Progression) -> list[str]:
    return engine.actions_for(PROGRESSION, user, progression)


def timeline(progression: Progression):
    return engine.timeline(PROGRESSION, progression)


def progress(progression: Progression):
    return engine.progress(PROGRESSION, progression)


def current_step(progression: Progression) -> engine.Current | None:
    """Where the progression waits (state, acting unit, due date), None once closed."""
    return engine.current_steps(PROGRESSION, [progression])[progression.pk]


def allocations_visible_to(user) -> QuerySet[Allocation]:
    return restrict(Allocation.objects.select_related("division"), user).order_by("-id")


def allocation_get(user, allocation_id: int) -> Allocation:
    return get_in_scope(Allocation.objects.select_related("division"), user, pk=allocation_id)


# --- registration review (新生注册审核) ------------------------------------------------

def registrations_visible_to(user, *, state: str = "", open_only: bool = False,
                             waiting: bool = False) -> QuerySet[Registration]:
    """Registrations in the user's scope; ``waiting``: only those at the user's own unit's step."""
    rows = restrict(Registration.objects.select_related("school", "pupil"), user)
    if state:
        rows = rows.filter(state=state)
    if open_only:
        rows = rows.filter(state__in=REGISTRATION.open_states)
    if waiting:
        rows = rows.filter(engine.waiting_for(REGISTRATION, user))
    return rows.order_by("-id")


def registration_get(user, registration_id: int) -> Registration:
    return get_in_scope(
        Registration.objects.select_related("school__county", "pupil", "initiator", "school_approver",
                                            "county_approver"),
        user,
        pk=registration_id,
    )
