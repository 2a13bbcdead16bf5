"""Province settings shared by every server process: the policy (ProvincePolicy) and the
calendar overrides (CalendarOverride) of each province.

Every step of every chain reads both; a province admin changes them a few times a year.
They are kept in Django's cache (Redis, so web workers and Celery workers share one copy)
under a key naming the database, the kind, the province and the model's fields (a
migration that adds a field starts new entries). Saving or deleting either model drops
that province's entries at once and again when the transaction commits
(``provinces.apps``), so the next read in any process loads the committed rows. Entries
also expire after ``PROVINCE_SETTINGS_CACHE_SECONDS``: the bound on staleness should a
write bypass the signals (a queryset ``update()``) or race a read. When the cache cannot
be reached, reads go to the database.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from functools import cache as memoize
from typing import TypeVar

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from kernel.identity import PROVINCE_CODES

log = logging.getLogger("registry.cache")

#: The cached kinds and the model each is read from.
KINDS = {"policy": "ProvincePolicy", "calendar": "CalendarOverride"}

T = TypeVar("T")


@memoize
def _schema(kind: str) -> str:
    model = apps.get_model("provinces", KINDS[kind])
    names = ",".join(f.attname for f in model._meta.concrete_fields)
    return hashlib.sha256(names.encode()).hexdigest()[:8]


def _key(kind: str, code: str) -> str:
    return f"province:{connection.settings_dict['NAME']}:{kind}:{_schema(kind)}:{code[:2]}"


def province_setting(kind: str, code: str, load: Callable[[], T]) -> T:
    """The cached ``kind`` of the province of ``code``; ``load()`` reads it on a miss."""
    key = _key(kind, code)
    try:
        value = cache.get(key)
    except Exception:  # the cache is an optimisation: never fail a request for it
        log.warning("cache unreachable; reading %s of province %s from the database", kind, code[:2], exc_info=True)
        return load()
    if value is None:
        value = load()
        try:
            cache.set(key, value, settings.PROVINCE_SETTINGS_CACHE_SECONDS)
        except Exception:
            log.warning("cache unreachable; %s of province %s not cached", kind, code[:2], exc_info=True)
    return value


def forget(code: str) -> None:
    try:
        cache.delete_many([_key(kind, code) for kind in KINDS])
    except Exception:  # unreachable: its entries expire within PROVINCE_SETTINGS_CACHE_SECONDS
        log.warning("cache unreachable; settings of province %s not dropped", code[:2], exc_info=True)


def forget_on_change(sender, instance, raw: bool = False, **kwargs) -> None:
    """post_save / post_delete of ProvincePolicy and CalendarOverride."""
    code = instance.province_id
    forget(code)
    transaction.on_commit(lambda: forget(code))


def forget_all() -> None:
    """Drop every province's entries (tests roll back writes without signals)."""
    cache.delete_many([_key(kind, code) for kind in KINDS for code in PROVINCE_CODES])
