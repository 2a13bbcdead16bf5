"""The application's own database role: it writes records but can never remove audit.

Migrations run as the database owner. The web server and the workers connect as a second,
non-owner role that :func:`grant_app_role` keeps in step with the schema after every
``migrate``:

- every ordinary table: ``SELECT, INSERT, UPDATE, DELETE``;
- every pghistory event table: ``SELECT, INSERT`` only (no update, no delete);
- ``pghistory_context``: ``SELECT, INSERT, UPDATE`` (pghistory merges the context of one
  transaction), never ``DELETE``;
- the sequences behind the tables: ``USAGE, SELECT``.

The role owns nothing, so it cannot drop the ``append_only`` triggers either. The one path
that moves audit rows out (``archive_audit``) runs as the owner.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from psycopg2 import sql

from accounts.audit_archive import event_models

CONTEXT_TABLE = "pghistory_context"


@dataclass(frozen=True)
class RoleGrants:
    role: str
    tables: int
    event_tables: int
    created: bool


def audit_tables() -> set[str]:
    """The tables no application role may update or delete from."""
    return {model._meta.db_table for model in event_models()} | {CONTEXT_TABLE}


def _tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
        return [row[0] for row in cursor.fetchall()]


def grant_app_role(role: str, *, password: str | None = None) -> RoleGrants:
    """Create ``role`` when missing (with ``password``) and grant it exactly the rights above.

    Idempotent: each run revokes what the role holds on the schema's tables and grants again,
    so a table added by a later migration is covered and nothing extra survives.
    """
    name = sql.Identifier(role)
    events = audit_tables()
    created = False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            statement = sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(name)
            if password:
                statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
            cursor.execute(statement)
            created = True
        elif password:
            cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(name, sql.Literal(password)))
        cursor.execute("SELECT current_database(), current_schema()")
        database, schema = cursor.fetchone()
        cursor.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), name))
        cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), name))
        cursor.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(sql.Identifier(schema), name))
        tables = _tables()
        for table in tables:
            if table == CONTEXT_TABLE:
                rights = sql.SQL("SELECT, INSERT, UPDATE")
            elif table in events:
                rights = sql.SQL("SELECT, INSERT")
            else:
                rights = sql.SQL("SELECT, INSERT, UPDATE, DELETE")
            cursor.execute(sql.SQL("GRANT {} ON TABLE {} TO {}").format(rights, sql.Identifier(table), name))
        cursor.execute(sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}")
                       .format(sql.Identifier(schema), name))
    return RoleGrants(role=role, tables=len(tables), event_tables=len(events & set(tables)), created=created)
