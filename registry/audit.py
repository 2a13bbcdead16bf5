"""Audit context: who did a write, for which unit, in which request.

pghistory's triggers record every insert/update/delete of a tracked model (bulk writes
and raw updates included) together with the current context. The middleware sets that
context once per request; tasks and commands use ``acting_as``.
"""

from __future__ import annotations

import contextlib
import uuid

import pghistory
from pghistory.middleware import HistoryMiddleware


def context_for(user, **extra) -> dict:
    membership = getattr(user, "membership", None) if user is not None and user.is_authenticated else None
    context = {
        "user": user.pk if user is not None and user.is_authenticated else None,
        "username": user.get_username() if user is not None and user.is_authenticated else "",
        "unit": membership.unit_code if membership else "",
    }
    context.update(extra)
    return context


class AuditContextMiddleware(HistoryMiddleware):
    """Adds the acting user's name, unit and a request id to every tracked write."""

    def get_context(self, request) -> dict:
        user = getattr(request, "user", None)
        request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
        request.request_id = request_id
        return context_for(user, url=request.path, request_id=request_id)


@contextlib.contextmanager
def acting_as(user, **extra):
    """Attach ``user`` (and e.g. ``task=...``) to every write inside the block."""
    with pghistory.context(**context_for(user, **extra)):
        yield
