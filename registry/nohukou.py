"""Pupils without household registration (无户籍, seed 004 篇十).

Placeholder for the guardian rules; ``guardian_rule_problems`` is called by the record
validator for every pupil.
"""

from __future__ import annotations

from registry.errors import ValidationFailed
from registry.records import PupilData


def guardian_rule_problems(data: PupilData) -> list[ValidationFailed]:
    return []


def registration_problems(data: PupilData) -> list[ValidationFailed]:
    """Rules across records for a new no-ID pupil (an existing record of the same child)."""
    return []


def derive_hukou(data: PupilData) -> None:
    """户籍所在地 of a no-ID pupil follows the first guardian."""
