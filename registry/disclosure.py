"""Answers that name another unit's pupil (外单位学生): what a foreign unit may learn, how
often, and the record each answer leaves.

A unit learns of a pupil outside its scope only to start a transfer: the transfer lookup
(``transfers.lookup``), a refusal because an ID number is held elsewhere (it names the
holder's school and county, never the national number) and the minimal card of a likely
duplicate. Each such answer

- is counted against the user's hourly allowance (the province's
  ``foreign_lookups_per_hour``); past it the answer is withheld (``lookup_throttled``);
- is recorded as a transfer lookup (``TransferLookup``: who asked, which ID, which school
  answered). The recording lives with the lookup, above this layer: ``transfers`` registers
  it at start-up (``register``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from accounts.permissions import membership_of
from accounts.scope import scope_of
from kernel.errors import RegistryError
from provinces.models import ProvincePolicy


class LookupThrottled(RegistryError):
    """The user asked about other units' pupils more often than the province allows."""

    status = 429
    default_code = "lookup_throttled"


@dataclass
class _Hooks:
    record: Callable[..., None] | None = None
    recent: Callable[..., int] | None = None


_hooks = _Hooks()


def register(*, record: Callable[..., None], recent: Callable[..., int]) -> None:
    """``record(user=, pupil=, kind=, name=, id_number=, found=)`` writes one answer's record;
    ``recent(user)`` counts the user's recorded answers of the last hour."""
    _hooks.record, _hooks.recent = record, recent


def is_foreign(user, pupil) -> bool:
    """Whether ``pupil`` lies outside the user's scope."""
    scope = scope_of(user)
    return scope is None or not scope.covers_school(pupil.school)


def allowance(user) -> int:
    membership = membership_of(user)
    code = ""
    if membership is not None:
        code = membership.school.county_id if membership.school_id else (membership.division_id or "")
    return ProvincePolicy.for_province(code[:2] or "00").foreign_lookups_per_hour


def throttled(user) -> bool:
    """Whether the user has used up the hour's allowance of answers naming foreign pupils."""
    if _hooks.recent is None:
        return False
    return _hooks.recent(user) >= allowance(user)


def throttle_error() -> LookupThrottled:
    return LookupThrottled(_("查询外单位学生的次数已达每小时上限，请稍后再试"), code="lookup_throttled")


def require_allowance(user) -> None:
    if throttled(user):
        raise throttle_error()


def record(*, user, pupil=None, kind: str, name: str = "", id_number: str = "", origin_school=None,
           found: int = 1) -> None:
    """Record one answer naming a foreign pupil (or refusing to) as a transfer lookup."""
    if _hooks.record is not None:
        _hooks.record(user=user, pupil=pupil, kind=kind, name=name, id_number=id_number,
                      origin_school=origin_school if origin_school is not None else getattr(pupil, "school", None),
                      found=found)
