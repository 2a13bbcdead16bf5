"""Province settings shared by every server process: the policy (ProvincePolicy) and the
calendar overrides (CalendarOverride) of each province.

Every step of every chain reads both; a province admin changes them a few times a year.
They are kept in Django's cache (Redis, so web workers and Celery workers share one copy)
under ``province:<kind>:<province code>``. Saving or deleting either model drops that
province's entries at once and again when the transaction commits (``provinces.apps``),
so the next read in any process loads the committed rows. Entries also expire after
``PROVINCE_SETTINGS_CACHE_SECONDS``: the bound on staleness should a write bypass the
signals (a queryset ``update()``) or race a read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from registry.identity import PROVINCE_CODES

KINDS = ("policy", "calendar")

T = TypeVar("T")


def _key(kind: str, code: str) -> str:
    return f"province:{kind}:{code[:2]}"


def province_setting(kind: str, code: str, load: Callable[[], T]) -> T:
    """The cached ``kind`` of the province of ``code``; ``load()`` reads it on a miss."""
    key = _key(kind, code)
    value = cache.get(key)
    if value is None:
        value = load()
        cache.set(key, value, settings.PROVINCE_SETTINGS_CACHE_SECONDS)
    return value


def forget(code: str) -> None:
    cache.delete_many([_key(kind, code) for kind in KINDS])


def forget_on_change(sender, instance, raw: bool = False, **kwargs) -> None:
    """post_save / post_delete of ProvincePolicy and CalendarOverride."""
    code = instance.province_id
    forget(code)
    transaction.on_commit(lambda: forget(code))


def forget_all() -> None:
    """Drop every province's entries (tests roll back writes without signals)."""
    cache.delete_many([_key(kind, code) for kind in KINDS for code in PROVINCE_CODES])
