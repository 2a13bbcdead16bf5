"""Audit rows are kept: no UPDATE or DELETE of an event (nor a delete of its context)
gets through; ``archive_audit`` moves old months to checked files and loads them back."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from pghistory.models import Context

from accounts.audit_archive import event_models
from registry.models import Pupil, PupilEvent
from tests.factories import make_pupil


@pytest.fixture
def pupil(world):
    p = world.pupils["a1"]
    Pupil.objects.filter(pk=p.pk).update(name="李四")
    return p


def test_every_event_table_refuses_update_and_delete(db):
    tables = {m._meta.db_table for m in event_models()}
    assert "registry_pupilevent" in tables and len(tables) >= 20
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname LIKE 'pgtrigger_append_only_%%' AND NOT t.tgisinternal"
        )
        guarded = {row[0] for row in cursor.fetchall()}
    assert tables <= guarded, f"event tables without the append_only trigger: {tables - guarded}"


def test_deleting_an_audit_event_is_refused(pupil):
    events = PupilEvent.objects.filter(pgh_obj_id=pupil.pk)
    count = events.count()
    assert count >= 2
    with pytest.raises(DatabaseError, match="Cannot update or delete rows"), transaction.atomic():
        events.delete()
    with pytest.raises(DatabaseError, match="Cannot update or delete rows"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM registry_pupilevent")
    assert events.count() == count


def test_editing_an_audit_event_is_refused(pupil):
    with pytest.raises(DatabaseError, match="Cannot update or delete rows"), transaction.atomic():
        PupilEvent.objects.filter(pgh_obj_id=pupil.pk).update(name="篡改")
    assert not PupilEvent.objects.filter(name="篡改").exists()


def test_deleting_an_audit_context_is_refused(world, client):
    client.force_login(world["a1"].operator)
    from accounts.audit import acting_as

    with acting_as(world["a1"].operator):
        Pupil.objects.filter(pk=world.pupils["a1"].pk).update(name="王五")
    assert Context.objects.exists()
    with pytest.raises(DatabaseError, match="cannot be deleted"), transaction.atomic():
        Context.objects.all().delete()


def _age_events(pupil_pk: int, when: dt.datetime) -> None:
    """Backdate events the way time does (the test's only write past the guard)."""
    import pgtrigger

    with pgtrigger.ignore("registry.PupilEvent:append_only"):
        PupilEvent.objects.filter(pgh_obj_id=pupil_pk).update(pgh_created_at=when)


def test_archive_moves_old_events_to_a_checked_file_and_loads_them_back(world, tmp_path, settings):
    settings.AUDIT_HOT_MONTHS = 24
    old = world.pupils["a1"]
    Pupil.objects.filter(pk=old.pk).update(name="李四")
    _age_events(old.pk, timezone.now() - dt.timedelta(days=6 * 365))
    recent = make_pupil(world.school_b1, name="新生")
    old_rows = list(PupilEvent.objects.filter(pgh_obj_id=old.pk).order_by("pgh_id").values())
    before = f"{timezone.localdate() - dt.timedelta(days=5 * 365):%Y-%m}"

    call_command("archive_audit", before=before, folder=tmp_path)

    assert not PupilEvent.objects.filter(pgh_obj_id=old.pk).exists()
    assert PupilEvent.objects.filter(pgh_obj_id=recent.pk).exists()
    manifest = json.loads((tmp_path / before / "manifest.json").read_text())
    entry = manifest["tables"]["registry_pupilevent"]["files"][0]
    assert entry["rows"] == len(old_rows)
    with gzip.open(tmp_path / before / entry["name"], "rt") as lines:
        archived = [json.loads(line) for line in lines]
    assert [a["row"]["pgh_id"] for a in archived] == [r["pgh_id"] for r in old_rows]
    assert archived[-1]["row"]["name"] == "李四"

    call_command("archive_audit", load=tmp_path / before)
    assert list(PupilEvent.objects.filter(pgh_obj_id=old.pk).order_by("pgh_id").values()) == old_rows
    call_command("archive_audit", load=tmp_path / before)  # a second load adds nothing
    assert PupilEvent.objects.filter(pgh_obj_id=old.pk).count() == len(old_rows)


def test_archive_refuses_a_month_inside_the_hot_window(db, tmp_path, settings):
    settings.AUDIT_HOT_MONTHS = 24
    with pytest.raises(CommandError, match="最近 24 个月的审计记录须保留"):
        call_command("archive_audit", before=f"{timezone.localdate():%Y-%m}", folder=tmp_path)
    with pytest.raises(CommandError, match="格式有误"):
        call_command("archive_audit", before="2020-13", folder=tmp_path)


def test_load_refuses_a_damaged_file(world, tmp_path, settings):
    old = world.pupils["a1"]
    _age_events(old.pk, timezone.now() - dt.timedelta(days=6 * 365))
    before = f"{timezone.localdate() - dt.timedelta(days=5 * 365):%Y-%m}"
    call_command("archive_audit", before=before, folder=tmp_path)
    (file,) = (tmp_path / before).glob("registry_pupilevent.*.jsonl.gz")
    file.write_bytes(file.read_bytes()[:-3] + b"xyz")
    with pytest.raises(CommandError, match="校验和与清单不符"):
        call_command("archive_audit", load=tmp_path / before)
