"""Audit context: who did a write, for which unit, in which request.

pghistory's triggers record every insert/update/delete of a tracked model (bulk writes
and raw updates included) together with the current context. The middleware sets that
context once per request; tasks and commands use ``acting_as``.
"""

from __future__ import annotations

import contextlib
import uuid

import pghistory
import pgtrigger
from django.db import connection, transaction
from pghistory.middleware import HistoryMiddleware
from pghistory.models import Context


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
        # config.observability.RequestIdMiddleware has set it (the id every log line carries).
        request_id = getattr(request, "request_id", None) or uuid.uuid4().hex
        request.request_id = request_id
        return context_for(user, url=request.path, request_id=request_id)


@contextlib.contextmanager
def acting_as(user, **extra):
    """Attach ``user`` (and e.g. ``task=...``) to every write inside the block."""
    with pghistory.context(**context_for(user, **extra)):
        yield


def record_bulk_inserts(model, pks: list[int], *, user, **extra) -> None:
    """Write the pghistory insert events of rows inserted with their row trigger skipped.

    pghistory's row trigger attaches the request context once per row, each time in a
    subtransaction; for tens of thousands of rows in one transaction that cost grows
    faster than the row count. Bulk writers (the roster import) therefore insert inside
    ``pgtrigger.ignore("<app.Model>:insert_insert")`` and call this once per batch: one
    context row and one ``INSERT … SELECT`` give the same events — the row as inserted,
    label ``insert``, actor, unit — as the trigger would have written.
    """
    if not pks:
        return
    context = Context.objects.create(metadata={**context_for(user, **extra), "bulk_insert": model._meta.label})
    event_model = model.pgh_event_model
    quote = connection.ops.quote_name
    copied = [
        f.column for f in event_model._meta.concrete_fields
        if not f.name.startswith("pgh_") and f.column in {m.column for m in model._meta.concrete_fields}
    ]
    columns = ", ".join(quote(c) for c in copied)
    sql = (
        f"INSERT INTO {quote(event_model._meta.db_table)} "
        f"(pgh_created_at, pgh_label, pgh_obj_id, pgh_context_id, {columns}) "
        f"SELECT NOW(), 'insert', {quote(model._meta.pk.column)}, %s, {columns} "
        f"FROM {quote(model._meta.db_table)} WHERE {quote(model._meta.pk.column)} = ANY(%s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [context.id, list(pks)])


@contextlib.contextmanager
def skip_insert_triggers(*models):
    """Skip pghistory's per-row insert trigger of ``models`` (pair with ``record_bulk_inserts``).

    The block runs in its own savepoint: when an insert fails (a lost race on a unique
    constraint), the savepoint is rolled back before pgtrigger resets its variable, so the
    caller can catch the ``IntegrityError`` and try again.
    """
    with pgtrigger.ignore(*(f"{m._meta.label}:insert_insert" for m in models)), transaction.atomic():
        yield
