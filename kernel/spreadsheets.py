"""Reading a spreadsheet upload by its bytes, never its name: xlsx (python-calamine) or CSV
in UTF-8, UTF-16 or GBK, into lines of text cells. Rosters and allocation lists read their
files here; each passes its own size limits and the name of what it reads."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from typing import Any

from django.utils.translation import gettext_lazy as _
from python_calamine import CalamineWorkbook

from kernel.errors import ValidationFailed

XLSX, CSV = "xlsx", "csv"


def _file_error(message, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, field="file")


def sniff_format(content: bytes, *, max_bytes: int, max_unpacked_bytes: int, what=_("文件")) -> str:
    """``xlsx`` or ``csv`` judged by the bytes; refuses anything else with the reason."""
    if not content:
        raise _file_error(_("文件是空的"), "file_empty")
    if len(content) > max_bytes:
        raise _file_error(
            _("文件太大（%(size)s MB），单个%(what)s不超过 %(max)s MB，请拆分后上传")
            % {"size": len(content) // (1024 * 1024), "max": max_bytes // (1024 * 1024), "what": what},
            "file_too_large",
        )
    if content[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = set(archive.namelist())
                unpacked = sum(info.file_size for info in archive.infolist())
        except zipfile.BadZipFile:
            raise _file_error(_("文件已损坏，无法作为 xlsx 打开"), "file_corrupt") from None
        if "xl/workbook.xml" not in names:
            raise _file_error(_("这是 ZIP 压缩包而不是 Excel 工作簿（xlsx）"), "file_format")
        if unpacked > max_unpacked_bytes:
            raise _file_error(_("xlsx 解压后过大，拒绝读取"), "file_too_large")
        return XLSX
    if content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise _file_error(
            _("这是旧版 Excel 97-2003（.xls）文件，请在 Excel 中“另存为” xlsx 或 CSV 后再上传"), "file_xls_legacy"
        )
    if content[:4] == b"%PDF" or b"\x00" in content[:4096].replace(b"\xff\xfe", b"").replace(b"\xfe\xff", b""):
        raise _file_error(_("无法识别的文件格式：请上传 xlsx 或 CSV 文件"), "file_format")
    return CSV


def decode_csv(content: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, or GBK/GB18030 as Chinese Excel saves it."""
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8", errors="strict")
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030")
    except UnicodeDecodeError:
        raise _file_error(_("无法识别 CSV 文件的编码：请保存为 UTF-8 或 GBK 编码"), "file_encoding") from None


def cell_text(value: Any) -> str:
    """One cell as text: dates as ISO, whole numbers without ``.0``, booleans as 是/否."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return str(value).strip()


def _read_xlsx(content: bytes) -> list[list[str]]:
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception:
        raise _file_error(_("文件已损坏，无法作为 xlsx 打开"), "file_corrupt") from None
    return [[cell_text(v) for v in row] for row in rows]


def _read_csv(content: bytes) -> list[list[str]]:
    text = decode_csv(content)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def read_table(content: bytes, *, max_bytes: int, max_unpacked_bytes: int, what=_("文件")
               ) -> tuple[str, list[list[str]]]:
    """The format and every line of the first sheet, cells as text."""
    file_format = sniff_format(content, max_bytes=max_bytes, max_unpacked_bytes=max_unpacked_bytes, what=what)
    rows = _read_xlsx(content) if file_format == XLSX else _read_csv(content)
    return file_format, rows


