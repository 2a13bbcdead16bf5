"""``make backup`` / ``make restore`` round trip on a real PostgreSQL: load data, back up,
write more, restore into a new database and media folder, and compare row counts, a
checksum of the pupil rows, the photo bytes and the audit trail."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import uuid

import psycopg2
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection

from devtools.backup import read_manifest
from registry.models import Pupil
from tests.conftest import _database_url, ensure_reference_data
from tests.factories import make_pupil

pytestmark = pytest.mark.slow

FINGERPRINTS = {
    "pupils": "SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t.id)) FROM registry_pupil t",
    "guardians": "SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t.id)) FROM registry_guardian t",
    "pupil_events": "SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t.pgh_id)) FROM registry_pupilevent t",
    "audit_context": "SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t.id)) FROM pghistory_context t",
}


def fingerprints(cursor) -> dict:
    result = {}
    for name, sql in FINGERPRINTS.items():
        cursor.execute(sql)
        result[name] = cursor.fetchone()
    return result


@pytest.fixture
def new_database():
    db = settings.DATABASES["default"]
    name = f"restore_{uuid.uuid4().hex[:10]}"
    admin = dict(db, NAME="postgres")
    conn = psycopg2.connect(_database_url(admin))
    conn.autocommit = True
    conn.cursor().execute(f'CREATE DATABASE "{name}"')
    yield dict(db, NAME=name)
    conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def test_backup_then_restore_into_a_new_database_gives_back_the_data_as_it_was(
    transactional_db, world, tmp_path, settings, new_database
):
    ensure_reference_data()
    settings.MEDIA_ROOT = tmp_path / "media"
    photo_bytes = b"\xff\xd8\xff\xe0 a photo " + os.urandom(2000)
    pupil = world.pupils["a1"]
    name = default_storage.save(f"photos/{pupil.school_id}/{pupil.national_number}.jpg", ContentFile(photo_bytes))
    Pupil.objects.filter(pk=pupil.pk).update(photo=name)
    Pupil.objects.filter(pk=pupil.pk).update(name="李四")  # an audited update
    with connection.cursor() as cursor:
        before = fingerprints(cursor)
    assert before["pupil_events"][0] >= 3

    call_command("backup", output=tmp_path / "backups")
    (archive,) = (tmp_path / "backups").glob("registry-*.tar")
    manifest = read_manifest(archive)
    assert manifest["tables"]["registry_pupil"] == before["pupils"][0]
    assert manifest["media"] == {"files": 1, "bytes": len(photo_bytes)}
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == ["database.dump", "manifest.json", f"media/{name}"]

    # Written after the backup: not in the restore.
    make_pupil(world.school_b1, name="王五")
    Pupil.objects.filter(pk=pupil.pk).update(name="赵六")
    default_storage.save("photos/later.jpg", ContentFile(b"later"))
    with connection.cursor() as cursor:
        after = fingerprints(cursor)
    assert after["pupils"] != before["pupils"]

    restored_media = tmp_path / "restored-media"
    env = dict(os.environ, DATABASE_URL=_database_url(new_database), MEDIA_ROOT=str(restored_media),
               DJANGO_SETTINGS_MODULE="config.settings.development")
    result = subprocess.run([sys.executable, "manage.py", "restore", str(archive)], cwd=settings.BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "已从" in result.stdout and "1 个上传文件" in result.stdout

    conn = psycopg2.connect(_database_url(new_database))
    try:
        with conn.cursor() as cursor:
            restored = fingerprints(cursor)
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            tables = [row[0] for row in cursor.fetchall()]
            counts = {}
            for table in tables:
                cursor.execute(f'SELECT count(*) FROM "{table}"')
                counts[table] = cursor.fetchone()[0]
            cursor.execute("SELECT name, photo FROM registry_pupil WHERE id = %s", [pupil.pk])
            restored_name, restored_photo = cursor.fetchone()
    finally:
        conn.close()
    assert restored == before  # pupil rows, guardians, the audit trail and its context, to the byte
    assert counts == manifest["tables"]
    assert (restored_name, restored_photo) == ("李四", name)
    assert (restored_media / name).read_bytes() == photo_bytes
    assert not (restored_media / "photos" / "later.jpg").exists()


def test_restore_refuses_a_database_that_is_not_empty(db, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("backup", output=tmp_path)
    (archive,) = tmp_path.glob("registry-*.tar")
    with pytest.raises(CommandError, match="恢复失败.*already has .* tables"):
        call_command("restore", str(archive))


def test_restore_refuses_what_is_not_a_backup(db, tmp_path):
    bogus = tmp_path / "x.tar"
    bogus.write_bytes(b"not a tar")
    with pytest.raises(CommandError, match="not a registry backup"):
        call_command("restore", str(bogus))
