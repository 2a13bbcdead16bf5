"""Reading a spreadsheet upload by its bytes, never its name: xlsx (python-calamine) or CSV
in UTF-8, UTF-16 or GBK, into lines of text cells. Rosters and allocation lists read their
files here; each passes its own size limits and the name of what it reads."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from typing import Any

from django.utils.translation import gettext_lazy as _
from python_calamine import CalamineWorkbook

from kernel.errors import ValidationFailed

XLSX, CSV = "xlsx", "csv"
#: Longest cell a spreadsheet upload may hold (a roster's longest column is 200), and the
#: most columns of a line: checked while reading, so an odd file fails fast and small.
MAX_CELL_CHARS = 2000
MAX_COLUMNS = 300
_DIMENSION = re.compile(rb'<dimension ref="[A-Z]+[0-9]+:([A-Z]+)([0-9]+)"')


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
    if type(value) is str:  # most cells: first, before the other types are asked
        return value.strip()
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


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _sheet_member(archive: zipfile.ZipFile) -> str | None:
    names = archive.namelist()
    if "xl/worksheets/sheet1.xml" in names:
        return "xl/worksheets/sheet1.xml"
    return next((n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")), None)


def xlsx_declared_size(content: bytes) -> tuple[int, int] | None:
    """``(rows, columns)`` the first sheet declares (its ``<dimension>``), read from the first
    kilobytes of the sheet without unpacking the rest; ``None`` when it declares none."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        member = _sheet_member(archive)
        if member is None:
            return None
        with archive.open(member) as sheet:
            head = sheet.read(8192)
    match = _DIMENSION.search(head)
    if match is None:
        return None
    return int(match.group(2)), _column_number(match.group(1))


def _check_declared_size(content: bytes, *, max_rows: int | None) -> None:
    size = xlsx_declared_size(content)
    if size is None:
        return
    rows, columns = size
    if max_rows is not None and rows > max_rows + 1:  # the header line
        raise _file_error(_("文件有 %(n)s 行，单个文件不超过 %(max)s 行，请拆分后上传") % {"n": rows - 1, "max": max_rows},
                          "too_many_rows")
    if columns > MAX_COLUMNS:
        raise _file_error(_("文件有 %(n)s 列，超过 %(max)s 列，请使用模板的表头") % {"n": columns, "max": MAX_COLUMNS},
                          "too_many_columns")


def _checked_line(cells: list[str], number: int) -> list[str]:
    """A line within the limits, or a refusal naming the line (and the column)."""
    if len(cells) > MAX_COLUMNS:
        raise _file_error(_("第 %(line)s 行有 %(n)s 列，超过 %(max)s 列") % {"line": number, "n": len(cells),
                                                                       "max": MAX_COLUMNS}, "too_many_columns")
    for index, cell in enumerate(cells, start=1):
        if len(cell) > MAX_CELL_CHARS:
            raise _file_error(
                _("第 %(line)s 行第 %(column)s 列的内容有 %(n)s 个字符，单元格不超过 %(max)s 个字符")
                % {"line": number, "column": index, "n": len(cell), "max": MAX_CELL_CHARS},
                "cell_too_long",
            )
    return cells


def _read_xlsx(content: bytes, *, max_rows: int | None = None) -> list[list[str]]:
    _check_declared_size(content, max_rows=max_rows)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception:
        raise _file_error(_("文件已损坏，无法作为 xlsx 打开"), "file_corrupt") from None
    return [_checked_line([cell_text(v) for v in row], number) for number, row in enumerate(rows, start=1)]


def _read_csv(content: bytes, *, max_rows: int | None = None) -> list[list[str]]:
    text = decode_csv(content)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    lines: list[list[str]] = []
    try:
        for row in reader:
            lines.append(_checked_line([cell.strip() for cell in row], reader.line_num))
            if max_rows is not None and len(lines) > max_rows + 1:
                raise _file_error(_("文件超过 %(max)s 行，请拆分后上传") % {"max": max_rows}, "too_many_rows")
    except csv.Error:  # a cell over the csv module's own limit, or a broken quote
        raise _file_error(
            _("第 %(line)s 行无法读取：单元格过长（超过 %(max)s 个字符）或引号不成对") % {"line": reader.line_num,
                                                                      "max": MAX_CELL_CHARS},
            "cell_too_long",
        ) from None
    return lines


def read_table(content: bytes, *, max_bytes: int, max_unpacked_bytes: int, what=_("文件"),
               max_rows: int | None = None) -> tuple[str, list[list[str]]]:
    """The format and every line of the first sheet, cells as text. A file over ``max_rows``
    lines, a line over ``MAX_COLUMNS`` or a cell over ``MAX_CELL_CHARS`` is refused while
    reading (an xlsx by the size its sheet declares, before the sheet is read)."""
    file_format = sniff_format(content, max_bytes=max_bytes, max_unpacked_bytes=max_unpacked_bytes, what=what)
    read = _read_xlsx if file_format == XLSX else _read_csv
    return file_format, read(content, max_rows=max_rows)


