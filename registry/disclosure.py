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

A refusal is often raised inside a transaction, which then rolls back and would take the
record with it. Inside ``records_survive()`` (each request, each Celery task) a record
written inside a transaction is remembered, and one that a rollback took is written again
when the request or task is over (``records_restore``).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection
from django.utils.translation import gettext_lazy as _

from accounts.permissions import membership_of
from accounts.scope import scope_of
from kernel.errors import RegistryError
from provinces.models import ProvincePolicy

log = logging.getLogger("registry.disclosure")
#: The records written inside a transaction during the current request or task.
_in_transaction: contextvars.ContextVar[list | None] = contextvars.ContextVar("disclosure_records", default=None)


class LookupThrottled(RegistryError):
    """The user asked about other units' pupils more often than the province allows."""

    status = 429
    default_code = "lookup_throttled"


@dataclass
class _Hooks:
    record: Callable[..., None] | None = None
    recent: Callable[..., int] | None = None


_hooks = _Hooks()


def register(*, record: Callable[..., object], recent: Callable[..., int]) -> None:
    """``record(user=, pupil=, kind=, name=, id_number=, found=)`` writes one answer's record
    (and returns the saved row, or ``None`` when it records nothing);
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
    if _hooks.record is None:
        return
    row = _hooks.record(user=user, pupil=pupil, kind=kind, name=name, id_number=id_number,
                        origin_school=origin_school if origin_school is not None else getattr(pupil, "school", None),
                        found=found)
    remembered = _in_transaction.get()
    if row is not None and remembered is not None and connection.in_atomic_block:
        remembered.append(row)


@contextmanager
def records_survive() -> Iterator[None]:
    """Around a request or a task: records of answers that a rolled-back transaction took
    are written again at the end."""
    records_begin()
    try:
        yield
    finally:
        records_end()


def records_begin() -> None:
    _in_transaction.set([])


def records_end() -> None:
    remembered = _in_transaction.get() or []
    _in_transaction.set(None)
    records_restore(remembered)


def records_restore(rows: list) -> None:
    """Writes again, with their own ids, the rows among ``rows`` that are not in the database."""
    if not rows or connection.needs_rollback:
        return
    model = type(rows[0])
    kept = set(model.objects.filter(pk__in=[row.pk for row in rows]).values_list("pk", flat=True))
    for row in rows:
        if row.pk not in kept:
            row._state.adding = True
            row.save(force_insert=True)
            log.info("lookup record %s written again after a rollback", row.pk)
