"""Writing many rows at once: one INSERT per batch, the column values given directly.

Django's ``bulk_create`` spends most of its time building model instances and preparing
each value through its field; a roster import writes tens of thousands of pupils, family
members, reviews, log rows and 待办 in one go. These helpers take plain values by each
field's ``attname`` (``school_id``, not ``school``), fill the rest from the model's field
defaults, and return the new ids in order. Database triggers (the audit trail, append-only
guards) fire as for any insert; Django signals do not, as with ``bulk_create``.
"""

from __future__ import annotations

import json

from django.db import connection, models
from django.utils import timezone

#: Rows per statement: PostgreSQL takes at most 65,535 parameters in one.
MAX_PARAMETERS = 60_000


def insert_rows(model: type[models.Model], rows: list[dict], *, returning: bool = True) -> list[int]:
    """INSERT ``rows`` (dicts by attname) into ``model``'s table; their new ids, in order
    (none with ``returning=False``). A primary key the database does not generate (a
    one-to-one key) is one of the values."""
    if not rows:
        return []
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField))]
    defaults = {}
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults[f.attname] = now
        elif f.has_default():
            defaults[f.attname] = f.get_default()
        else:
            defaults[f.attname] = None if f.null else ""
    json_fields = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, MAX_PARAMETERS // len(fields))
    ids: list[int] = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        params: list = []
        for row in chunk:
            for f in fields:
                value = row.get(f.attname, defaults[f.attname])
                if f.attname in json_fields:
                    value = json.dumps(value, ensure_ascii=False, default=str)
                params.append(value)
        sql = (f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) VALUES "
               + ", ".join([one] * len(chunk)))
        if returning:
            sql += f" RETURNING {connection.ops.quote_name(model._meta.pk.column)}"
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if returning:
                ids += [r[0] for r in cursor.fetchall()]
    return ids


def insert_objects(objects: list[models.Model]) -> None:
    """INSERT unsaved instances of one model; each gets its new ``pk``."""
    if not objects:
        return
    model = type(objects[0])
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    stamped = {f.attname for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)}
    now = timezone.now()
    rows = [{f.attname: (now if f.attname in stamped and getattr(obj, f.attname) is None else getattr(obj, f.attname))
             for f in fields} for obj in objects]
    for obj, pk in zip(objects, insert_rows(model, rows)):
        obj.pk = pk
        obj._state.adding = False
