"""The GB/T 2260 division table as every process reads it: names and parents, loaded once.

Reference data: saving or deleting a division clears the table in the process that saved
it (``provinces.apps``); other web and Celery processes see the change after a restart, as
after loading a new divisions fixture.
"""

from __future__ import annotations

from collections.abc import KeysView
from functools import lru_cache

from django.apps import apps


@lru_cache(maxsize=1)
def division_table() -> dict[str, tuple[str, str | None]]:
    """``{code: (name, parent code)}`` of every division."""
    division = apps.get_model("provinces", "Division")
    return {code: (name, parent) for code, name, parent in division.objects.values_list("code", "name", "parent_id")}


def division_codes() -> KeysView[str]:
    """Every division code."""
    return division_table().keys()


def division_full_name(code: str) -> str | None:
    """``广东省广州市海珠区`` for ``440105``; ``None`` for a code not in the table."""
    divisions = division_table()
    if code not in divisions:
        return None
    names = []
    node: str | None = code
    while node is not None and node in divisions:
        name, node = divisions[node]
        names.append(name)
    return join_division_names(reversed(names))


def join_division_names(names) -> str:
    """The names from the province down, joined; a name repeating the one above it is said once.

    A city without counties (不设区的地级市: 东莞市 ``4419``, 中山市 ``4420``, 儋州市 ``4604``,
    嘉峪关市 ``6202``) has one county-level unit of its own name (``441900`` 东莞市), whose full
    name is ``广东省东莞市``, not ``广东省东莞市东莞市``.
    """
    joined: list[str] = []
    for name in names:
        if not joined or joined[-1] != name:
            joined.append(name)
    return "".join(joined)


def county_divisions() -> list[tuple[str, str]]:
    """``(code, full name)`` of every county-level division (区县, and the county-level unit of
    a city without counties), for pickers; sorted by code."""
    return [(code, division_full_name(code)) for code in sorted(division_table()) if len(code) == 6]


def clear_cache(**_signal) -> None:
    division_table.cache_clear()
