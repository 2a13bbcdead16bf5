"""Audit kept for five years and more: old events move to compressed files, and back.

The event tables (pghistory, one per tracked model) are append-only: pghistory's
``append_only`` trigger refuses every UPDATE and DELETE (``PGHISTORY_APPEND_ONLY``), and
the context rows they point at cannot be deleted either. The hot window
(``AUDIT_HOT_MONTHS``, two years by default) stays in the tables; ``archive_audit
--before YYYY-MM`` moves older events out, table by table, each in one transaction:

1. the events older than the first day of that month are written, one JSON object per
   line (``row_to_json``, with the context's metadata alongside), to
   ``<folder>/<YYYY-MM>/<table>.<time>.jsonl.gz`` (listed with its SHA-256 in
   ``manifest.json``);
2. the file is read back and its row count and SHA-256 compared with what was written;
3. only then are exactly those rows deleted, under ``pgtrigger.ignore`` of that one
   table's ``append_only`` trigger — the only path that removes an audit row.

``archive_audit --load <folder>/<YYYY-MM>`` puts them back (``jsonb_populate_record``;
rows already present are skipped), so an old case can be queried with the ordinary
history views again; the files can also be read as they are (``zcat``, DuckDB's
``read_json``). Keep the folder on the backed-up volume.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pgtrigger
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pghistory.models import Event

from kernel.errors import ValidationFailed


def event_models() -> list:
    """Every pghistory event model of the registry, in a stable order."""
    found = [m for m in apps.get_models() if issubclass(m, Event) and not m._meta.abstract and m._meta.managed]
    return sorted(found, key=lambda m: m._meta.db_table)


def month_start(month: str) -> dt.datetime:
    """``YYYY-MM`` → the first instant of that month in the registry's time zone."""
    try:
        day = dt.datetime.strptime(month, "%Y-%m")
    except ValueError as error:
        raise ValidationFailed(_("月份“%(month)s”格式有误，应为 YYYY-MM") % {"month": month},
                               code="bad_month", field="before") from error
    return timezone.make_aware(day)


def hot_window_start(now: dt.datetime | None = None) -> dt.datetime:
    now = timezone.localtime(now)
    months = now.year * 12 + now.month - 1 - settings.AUDIT_HOT_MONTHS
    return timezone.make_aware(dt.datetime(months // 12, months % 12 + 1, 1))


@dataclass
class TableArchive:
    table: str
    rows: int
    path: Path | None
    sha256: str = ""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _archive_table(model, cutoff: dt.datetime, folder: Path) -> TableArchive:
    table = model._meta.db_table
    path = folder / f"{table}.{timezone.now():%Y%m%dT%H%M%S%f}.jsonl.gz"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f'SELECT e.pgh_id, row_to_json(e)::text, c.metadata::text FROM "{table}" e '
            "LEFT JOIN pghistory_context c ON c.id = e.pgh_context_id "
            "WHERE e.pgh_created_at < %s ORDER BY e.pgh_id FOR UPDATE OF e",
            [cutoff],
        )
        ids = []
        with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as out:
            for pgh_id, row, context in cursor:
                ids.append(pgh_id)
                out.write(json.dumps({"row": json.loads(row), "context": json.loads(context) if context else None},
                                     ensure_ascii=False, separators=(",", ":")) + "\n")
        if not ids:
            path.unlink()
            return TableArchive(table=table, rows=0, path=None)
        with gzip.open(path, "rt", encoding="utf-8") as back:
            read_ids = [json.loads(line)["row"]["pgh_id"] for line in back]
        if read_ids != ids:
            path.unlink()
            raise RuntimeError(f"{path}: read back {len(read_ids)} rows, wrote {len(ids)}")
        with pgtrigger.ignore(f"{model._meta.label}:append_only"):
            cursor.execute(f'DELETE FROM "{table}" WHERE pgh_id = ANY(%s)', [ids])
            if cursor.rowcount != len(ids):
                raise RuntimeError(f"{table}: deleted {cursor.rowcount} rows, archived {len(ids)}")
    return TableArchive(table=table, rows=len(ids), path=path, sha256=_sha256(path))


def audit_archive(*, before: str, folder: Path, now: dt.datetime | None = None) -> list[TableArchive]:
    """Move every event older than month ``before`` into ``folder/<before>/``."""
    cutoff = month_start(before)
    if cutoff > hot_window_start(now):
        raise ValidationFailed(
            _("最近 %(months)s 个月的审计记录须保留在数据库中（AUDIT_HOT_MONTHS），--before 最晚为 %(latest)s")
            % {"months": settings.AUDIT_HOT_MONTHS, "latest": f"{hot_window_start(now):%Y-%m}"},
            code="inside_hot_window", field="before",
        )
    target = folder / before
    target.mkdir(parents=True, exist_ok=True)
    results = [_archive_table(model, cutoff, target) for model in event_models()]
    manifest_path = target / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"before": before, "tables": {}}
    for result in results:
        if result.rows:
            entry = manifest["tables"].setdefault(result.table, {"files": []})
            entry["files"].append({"name": result.path.name, "rows": result.rows, "sha256": result.sha256,
                                   "archived_at": timezone.now().isoformat()})
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    return results


def audit_load(*, folder: Path) -> dict[str, int]:
    """Load an archived month back into the event tables; rows already there are skipped."""
    manifest = json.loads((folder / "manifest.json").read_text())
    tables = {m._meta.db_table for m in event_models()}
    loaded = {}
    for table, entry in manifest["tables"].items():
        if table not in tables:
            raise ValidationFailed(_("%(folder)s：未知的审计表 %(table)s") % {"folder": folder, "table": table},
                                   code="unknown_table", field="table")
        count = 0
        for file in entry["files"]:
            path = folder / file["name"]
            if _sha256(path) != file["sha256"]:
                raise ValidationFailed(_("%(path)s：校验和与清单不符，文件可能已损坏") % {"path": path},
                                       code="checksum", field="file")
            with transaction.atomic(), connection.cursor() as cursor, gzip.open(path, "rt", encoding="utf-8") as lines:
                for line in lines:
                    cursor.execute(
                        f'INSERT INTO "{table}" SELECT * FROM jsonb_populate_record(NULL::"{table}", %s::jsonb) '
                        "ON CONFLICT (pgh_id) DO NOTHING",
                        [json.dumps(json.loads(line)["row"])],
                    )
                    count += cursor.rowcount
        loaded[table] = count
    return loaded
