"""The per-file report of a photo import: every entry with its result and reason, as a table,
CSV or xlsx."""


from __future__ import annotations

import csv
import io

from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

from photos.imports import photo_import_entries
from photos.models import PhotoImport, PhotoImportEntry

# ---------------------------------------------------------------------------- report


REPORT_COLUMNS = ("entry", "status", "code", "message", "national_number", "name")


def photo_import_report(*, user, job: PhotoImport) -> list[dict[str, str]]:
    """One row per entry, in ZIP order: entry, status, code, message (+ pupil when matched)."""
    entries = photo_import_entries(user=user, job=job).order_by("index")
    return [
        {"entry": e.entry, "status": e.status, "code": e.code, "message": e.message,
         "national_number": e.national_number, "name": e.pupil_name}
        for e in entries.iterator(chunk_size=2000)
    ]


_REPORT_HEADERS = (_("文件"), _("结果"), _("状态"), _("代码"), _("说明"), _("全国学籍号"), _("姓名"))


def _report_lines(rows: list[dict[str, str]]):
    labels = dict(PhotoImportEntry.Status.choices)
    yield [str(h) for h in _REPORT_HEADERS]
    for r in rows:
        yield [r["entry"], str(labels.get(r["status"], r["status"])), r["status"], r["code"], r["message"],
               r["national_number"], r["name"]]


def report_as_csv(rows: list[dict[str, str]]) -> bytes:
    """UTF-8 with BOM so that Excel on Chinese Windows opens it correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    for line in _report_lines(rows):
        writer.writerow([_csv_safe(v) for v in line])
    return buf.getvalue().encode("utf-8-sig")


def report_as_xlsx(rows: list[dict[str, str]]) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(str(_("照片导入结果")))
    for line in _report_lines(rows):
        ws.append([_csv_safe(v) for v in line])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _csv_safe(value: str) -> str:
    """Entry names come from the ZIP: never let a spreadsheet run them as formulas."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
