"""The pupil's history in words (学籍档案): one entry per event that matters to the record
(registered, transferred, number changed…), with the actor's name and unit as they were.
Field-level changes are pghistory's (``accounts.audit``)."""

from __future__ import annotations

from accounts.permissions import membership_of
from registry.models import HistoryEntry, Pupil

SUMMARY_MAX = HistoryEntry._meta.get_field("summary").max_length


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def history_entry(*, pupil_id: int, kind: str, summary, user=None, school_id: int | None = None,
                  data=None, **extra) -> HistoryEntry:
    """An unsaved entry of a pupil's history in words, with the actor's name and unit as
    they are now (bulk writers collect these for one ``bulk_create``)."""
    acting = user is not None and user.is_authenticated
    membership = membership_of(user) if acting else None
    return HistoryEntry(
        pupil_id=pupil_id,
        kind=kind,
        # The words are built from user input (a reason, a peer's name): cut to the column's
        # length, never refused by the database. ``data`` keeps the full values.
        summary=_cut(str(summary), SUMMARY_MAX),
        data=data or {},
        school_id=school_id,
        actor=user if acting else None,
        actor_name=user.get_username() if acting else "",
        unit_code=membership.unit_code if membership else "",
        **extra,
    )


def record_event(pupil: Pupil, *, kind: str, summary: str, user=None, school=None, data=None) -> HistoryEntry:
    """Add one entry to a pupil's history in words."""
    entry = history_entry(
        pupil_id=pupil.pk, kind=kind, summary=summary, user=user, school_id=(school or pupil.school).pk, data=data
    )
    entry.save()
    return entry
