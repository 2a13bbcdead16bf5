"""Duplicate check at entry (查重). Placeholder until the matching engine is wired in."""

from __future__ import annotations

from registry.records import PupilData


def likely_duplicates(data: PupilData, *, exclude_pk: int | None = None) -> list[dict]:
    """Existing pupils that are probably the same child as ``data`` (score, reasons)."""
    return []


def record_entry_override(*, pupil, likely: list[dict], reason: str, user) -> None:
    """The operator saved despite likely matches: the pairs become cases for the county."""
