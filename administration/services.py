"""Services of province administration: each takes the acting user, checks that it is the
province's admin, writes in one transaction and records the audit."""

from __future__ import annotations

import logging

from django.db import transaction

from accounts.audit import acting_as
from accounts.permissions import require_province_admin
from provinces.models import CalendarOverride, ProvincePolicy

log = logging.getLogger(__name__)


def policy_for_admin(*, user) -> ProvincePolicy:
    """The policy of the admin's province (unsaved defaults when never set)."""
    membership = require_province_admin(user)
    return ProvincePolicy.stored(membership.division_id)


def policy_save(*, user, form) -> None:
    membership = require_province_admin(user)
    with transaction.atomic(), acting_as(user):
        policy = form.save(commit=False)
        policy.province_id = membership.division_id
        policy.save()
    log.info("province policy %s saved by %s", membership.division_id, user)


def calendar_override_set(*, user, day, is_working_day: bool, note: str = "") -> CalendarOverride:
    membership = require_province_admin(user)
    with transaction.atomic(), acting_as(user):
        override, _created = CalendarOverride.objects.update_or_create(
            province_id=membership.division_id, day=day, defaults={"is_working_day": is_working_day, "note": note}
        )
    log.info("calendar override %s %s by %s", day, is_working_day, user)
    return override


def calendar_overrides_of(*, user):
    membership = require_province_admin(user)
    return CalendarOverride.objects.filter(province_id=membership.division_id).order_by("-day")[:50]
