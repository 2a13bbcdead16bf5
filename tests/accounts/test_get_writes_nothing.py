"""A GET writes nothing: every GET route of the urlconf (pages and API), and the old GET
addresses of lookups and exports, asked by logged-in users of every level, leaves every table
as it was — the audit and event tables (counted row by row) and any other (the database's
own per-transaction counters), the session included."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver

from tests.factories import make_user

#: The records a read leaves when it must leave one (lookups, exports) and the event tables.
AUDIT_MODELS = (
    "transfers.TransferLookup", "enrolment.GraduateLookup", "reports.ReportExport", "rosters.RosterExport",
    "accounts.AccountEvent", "registry.HistoryEntry", "workflow.ChainEvent", "reports.IssuedDocument",
    "portal.AuditExport",
)


def _get_routes(patterns=None, prefix="") -> list[str]:
    routes = []
    for p in patterns if patterns is not None else get_resolver().url_patterns:
        route = str(p.pattern)
        if route.startswith("^") or (prefix + route).startswith("admin/"):
            continue
        if isinstance(p, URLResolver):
            routes += _get_routes(p.url_patterns, prefix + route)
        elif isinstance(p, URLPattern):
            routes.append("/" + prefix + route)
    return sorted(set(routes))


def _fill(route: str, world) -> str:
    def value(match):
        converter, name = match.group(1), match.group(2)
        if name == "national_number":
            return world.pupils["a1"].national_number
        return "1" if converter == "int" or name.endswith("_id") or name in ("pk", "id") else "x1"

    return re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


def _old_writing_gets(world) -> list[str]:
    """The addresses that used to write a record on GET."""
    a1, x = world.school_a1.code, world.school_x.code
    return [
        f"/transfers/new/?origin={x}&name=陈静",
        f"/api/v1/transfers/lookup?origin_school_code={x}&name=陈静",
        f"/schools/roster/export/?school={a1}",
        "/schools/roster/export/?county=440106",
        f"/api/v1/rosters/export?school={a1}",
        "/statistics/?export=population",
        "/statistics/official/?export=comparison",
        "/audit/?export=xlsx",
    ]


def _changed_tables() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables"
            " WHERE n_tup_ins + n_tup_upd + n_tup_del > 0"
        )
        return dict(cursor.fetchall())


def _audit_rows() -> dict[str, int]:
    return {label: apps.get_model(label).objects.count() for label in AUDIT_MODELS}


@pytest.fixture(params=["a1.operator", "a1.approver", "county_a.operator", "province.admin", "auditor"])
def reader(request, world):
    if request.param == "auditor":
        return make_user("440106.auditor", role="auditor", division=world.county_a)
    unit, role = request.param.split(".")
    return getattr(world[unit], role)


def test_the_walk_covers_pages_and_api(world):
    routes = _get_routes()
    assert len(routes) > 60
    assert "/transfers/new/" in routes and "/api/v1/transfers" in routes and "/schools/roster/export/" in routes


@pytest.mark.django_db
def test_no_get_writes_anything(client, login, world, reader):
    login(reader)
    client.get("/")  # the session's first request after the login
    rows_before = _audit_rows()
    offenders = {}
    for path in [_fill(r, world) for r in _get_routes()] + _old_writing_gets(world):
        before = _changed_tables()
        response = client.get(path)
        assert response.status_code < 500 or path == "/readyz", (path, response.status_code)
        after = _changed_tables()
        changed = {t: n - before.get(t, 0) for t, n in after.items() if n != before.get(t, 0)}
        if changed:
            offenders[path] = changed
    assert offenders == {}
    assert _audit_rows() == rows_before
