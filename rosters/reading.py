"""Reading a roster file by its bytes, never its name (``kernel.spreadsheets``: xlsx or CSV
in UTF-8 or GBK) into a table of header and lines."""


from __future__ import annotations

import logging
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from kernel import spreadsheets
from kernel.errors import ValidationFailed
from kernel.spreadsheets import CSV, XLSX, decode_csv  # noqa: F401 - the roster's formats, re-exported
from rosters.columns import (
    COLUMN_BY_KEY,
    HEADER_LOOKUP,
    MAX_BYTES,
    MAX_ROWS,
    MAX_UNPACKED_BYTES,
    REQUIRED_KEYS,
    fold_header,
)

logger = logging.getLogger("rosters")


def _file_error(message, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, field="file")


# --- reading a file (by its bytes, never its name: kernel.spreadsheets) -------------------


def sniff_format(content: bytes) -> str:
    """``xlsx`` or ``csv`` judged by the bytes, within a roster's limits."""
    return spreadsheets.sniff_format(content, max_bytes=MAX_BYTES, max_unpacked_bytes=MAX_UNPACKED_BYTES,
                                     what=_("花名册"))


def read_table(content: bytes) -> tuple[str, list[list[str]]]:
    """The format and every line of the first sheet of a roster, cells as text."""
    return spreadsheets.read_table(content, max_bytes=MAX_BYTES, max_unpacked_bytes=MAX_UNPACKED_BYTES,
                                   what=_("花名册"), max_rows=MAX_ROWS + 50)  # header and blank lines: parse_table counts


@dataclass
class Table:
    """A parsed roster: column positions by key and the data lines with their Excel row number."""

    positions: dict[str, int]
    lines: list[tuple[int, list[str]]]


def parse_table(rows: list[list[str]]) -> Table:
    """Find the header (the first non-empty line) and map its columns; refuses missing ones."""
    header_index = next((i for i, row in enumerate(rows) if any(cell for cell in row)), None)
    if header_index is None:
        raise _file_error(_("文件中没有任何内容"), "file_empty")
    positions: dict[str, int] = {}
    unknown = []
    for index, cell in enumerate(rows[header_index]):
        if not cell:
            continue
        key = HEADER_LOOKUP.get(fold_header(cell))
        if key is None:
            unknown.append(cell)
            continue
        if key in positions:
            raise _file_error(
                _("表头“%(header)s”出现了两次（第 %(a)s 列和第 %(b)s 列）")
                % {"header": cell, "a": positions[key] + 1, "b": index + 1},
                "duplicate_column",
            )
        positions[key] = index
    missing = [COLUMN_BY_KEY[k].header for k in REQUIRED_KEYS if k not in positions]
    if missing:
        raise ValidationFailed(
            _("缺少列：%(columns)s。请使用花名册模板的表头（第 %(row)s 行）")
            % {"columns": "、".join(missing), "row": header_index + 1},
            code="missing_column",
            field="file",
            details={"missing": missing, "unknown": unknown},
        )
    lines = [
        (number, row)
        for number, row in enumerate(rows[header_index + 1 :], start=header_index + 2)
        if any(cell for cell in row)
    ]
    if not lines:
        raise _file_error(_("文件只有表头，没有学生数据"), "no_rows")
    if len(lines) > MAX_ROWS:
        raise _file_error(
            _("文件有 %(n)s 行，单个花名册不超过 %(max)s 行，请按学校拆分") % {"n": len(lines), "max": MAX_ROWS},
            "too_many_rows",
        )
    return Table(positions=positions, lines=lines)
