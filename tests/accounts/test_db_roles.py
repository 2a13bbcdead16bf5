"""The application's database role writes records but cannot remove or rewrite audit rows,
nor drop the triggers that guard them (accounts.db_roles; run after every migrate)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from accounts.db_roles import audit_tables, grant_app_role
from registry.models import Pupil

ROLE = "test_registry_app_role"  # CREATE ROLE is transactional: it rolls back with the test


def privilege(table: str, right: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_table_privilege(%s, %s, %s)", [ROLE, table, right])
        return cursor.fetchone()[0]


def as_role(statement: str, params=None):
    """Run one statement as the application role, inside a savepoint that is rolled back."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'SET LOCAL ROLE "{ROLE}"')
        cursor.execute(statement, params)
        transaction.set_rollback(True)


def test_event_tables_are_read_and_append_only_for_the_role(db):
    grants = grant_app_role(ROLE, password="a-long-password")
    assert grants.created and grants.event_tables >= 20
    for table in audit_tables() - {"pghistory_context"}:
        assert privilege(table, "SELECT") and privilege(table, "INSERT"), table
        assert not privilege(table, "UPDATE") and not privilege(table, "DELETE"), table
    assert privilege("pghistory_context", "UPDATE")
    assert not privilege("pghistory_context", "DELETE")
    assert all(privilege(Pupil._meta.db_table, r) for r in ("SELECT", "INSERT", "UPDATE", "DELETE"))


def test_the_role_cannot_delete_audit_or_drop_its_trigger(world):
    grant_app_role(ROLE)
    with pytest.raises(DatabaseError, match="permission denied"):
        as_role("DELETE FROM registry_pupilevent")
    with pytest.raises(DatabaseError, match="permission denied"):
        as_role("UPDATE registry_pupilevent SET name = 'x'")
    with pytest.raises(DatabaseError, match="must be owner"):
        as_role("ALTER TABLE registry_pupilevent DISABLE TRIGGER ALL")
    with pytest.raises(DatabaseError, match="permission denied|must be owner"):
        as_role("DROP TABLE registry_pupilevent")
    as_role("SELECT count(*) FROM registry_pupil")  # reading records works as the role
    as_role("UPDATE registry_pupil SET name = name WHERE id = %s", [world.pupils["a1"].pk])


def test_a_second_run_takes_back_rights_granted_by_hand(db):
    grant_app_role(ROLE)
    with connection.cursor() as cursor:
        cursor.execute(f'GRANT DELETE ON registry_pupilevent TO "{ROLE}"')
    assert privilege("registry_pupilevent", "DELETE")
    assert not grant_app_role(ROLE).created
    assert not privilege("registry_pupilevent", "DELETE")


def test_the_command_refuses_an_odd_role_name(db):
    with pytest.raises(CommandError, match="角色名"):
        call_command("grant_app_role", 'x"; DROP TABLE registry_pupil; --')
