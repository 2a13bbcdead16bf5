"""Pupils without household registration (无户籍, seed 004 篇十).

Placeholder for the guardian rules; ``guardian_rule_problems`` is called by the record
validator for every pupil.
"""

from __future__ import annotations

from registry.errors import ValidationFailed
from registry.records import PupilData


def guardian_rule_problems(data: PupilData) -> list[ValidationFailed]:
    return []
