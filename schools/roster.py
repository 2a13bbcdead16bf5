"""Roster import and export (花名册导入/导出).

A roster (花名册) is a spreadsheet with one pupil per row and the national columns in a
fixed order (``COLUMNS``). Services here hold every rule; the school-facing pages, the
ninja API, the Celery tasks, the admin resource and the ``import_roster`` /
``export_roster`` commands only call them.

Import runs in two steps, both over the whole file:

1. ``roster_upload`` stores the bytes under a generated name (the user's file name is
   only shown) and ``roster_check`` — the dry run (预检) — gives every row one outcome:

   - ``new``: the row will create a pupil;
   - ``unchanged``: an active pupil *of that school* is the same national record — the
     same resident ID number (or, for a pupil without one, the same name, birth date and
     guardian ID numbers) — and every column equals the row: nothing to do;
   - ``refused``: with *every* reason (column, code, message): the record's own problems
     (``registry.validation.pupil_problems``: required fields, ID check char, birth date /
     sex against the ID, unknown codes, 无户籍 guardian rules…), a school outside the user's
     scope, the same ID twice in the file, an ID already held by an active pupil elsewhere,
     an existing pupil of the school that differs from the row, a likely duplicate.
2. ``roster_confirm`` claims the checked job with the user's choice — ``good_rows``
   (import the good rows) or ``all_or_nothing`` — and ``roster_import_rows`` re-checks
   (the registry may have changed since the dry run) and writes in one transaction with
   bulk inserts (Pupil, Guardian, HistoryEntry, SchoolClass) under ``acting_as`` so the
   pghistory triggers record the actor of every created row.

Export (``roster_export``) writes the same columns, so an export re-imports as all
``unchanged``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import gzip
import hashlib
import io
import json
import logging
import random
import re
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts import audit
from accounts.audit import acting_as
from accounts.models import Membership
from accounts.permissions import require_role, school_for_write
from accounts.scope import get_in_scope, restrict, scope_of
from duplicates import entry
from duplicates.keys import match_keys_refresh
from kernel import identity
from kernel.errors import Conflict, Forbidden, RegistryError, ValidationFailed
from provinces.models import Division
from registry import codes, nohukou
from registry.models import ACTIVE_STATUSES, Guardian, HistoryEntry, Pupil
from registry.records import GuardianData, PupilData
from registry.services import id_held_elsewhere_error
from registry.validation import has_resident_id, pupil_problems
from schools.models import GRADE_NAMES, RosterExport, RosterImport, School, SchoolClass

logger = logging.getLogger("registry.roster")

#: Files above this size are checked and imported by a Celery worker; smaller ones inline.
INLINE_MAX_BYTES = getattr(settings, "ROSTER_INLINE_MAX_BYTES", 200_000)
#: Larger exports are built by a worker (a 50,000-pupil county takes ~40 s).
EXPORT_INLINE_MAX_ROWS = getattr(settings, "ROSTER_EXPORT_INLINE_MAX_ROWS", 5_000)
MAX_BYTES = getattr(settings, "ROSTER_MAX_BYTES", 60 * 1024 * 1024)
MAX_ROWS = getattr(settings, "ROSTER_MAX_ROWS", 100_000)
#: Rows per database round of the check and per bulk insert.
BATCH_SIZE = 2000
#: Uncompressed size an xlsx may unpack to (zip-bomb guard).
MAX_UNPACKED_BYTES = 400 * 1024 * 1024

NEW, UNCHANGED, REFUSED = "new", "unchanged", "refused"
OUTCOME_LABELS = {NEW: _("新增"), UNCHANGED: _("无变化"), REFUSED: _("不合格"), "imported": _("已导入")}


# --- columns ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    key: str
    header: str  # the Chinese header of the template (msgid: shown as is in the file)
    field: str  # the PupilData field name used by validation problems
    aliases: tuple[str, ...] = ()


def _guardian_columns(n: int) -> list[Column]:
    g = f"guardians[{n}]"
    return [
        Column(f"g{n}_name", f"家庭成员{n}姓名", f"{g}.name", (f"guardian{n}_name", f"member{n}_name")),
        Column(f"g{n}_relation", f"家庭成员{n}关系", f"{g}.relation", (f"guardian{n}_relation", f"member{n}_relation")),
        Column(f"g{n}_id_type", f"家庭成员{n}身份证件类型", f"{g}.id_type", (f"guardian{n}_id_type", f"member{n}_id_type")),
        Column(f"g{n}_id_number", f"家庭成员{n}身份证件号", f"{g}.id_number",
               (f"guardian{n}_id_number", f"member{n}_id_number")),
        Column(f"g{n}_is_guardian", f"家庭成员{n}是否监护人", f"{g}.is_guardian",
               (f"guardian{n}_is_guardian", f"member{n}_is_guardian")),
    ]


#: The template's columns, in the national order. The Chinese header is what the template
#: and every export carry; the English aliases are accepted on import.
COLUMNS: list[Column] = [
    Column("school_code", "学校标识码", "school_code", ("school_code", "school")),
    Column("name", "姓名", "name", ("name",)),
    Column("former_name", "曾用名", "former_name", ("former_name",)),
    Column("sex", "性别", "sex", ("sex", "gender")),
    Column("birth_date", "出生日期", "birth_date", ("birth_date", "date_of_birth", "birthday")),
    Column("id_type", "身份证件类型", "id_type", ("id_type",)),
    Column("id_number", "身份证件号", "id_number", ("id_number",)),
    Column("ethnicity", "民族", "ethnicity", ("ethnicity",)),
    Column("nationality", "国籍/地区", "nationality", ("nationality", "nationality_region")),
    Column("hmt", "港澳台侨外", "hmt", ("hmt", "hk_macao_taiwan_overseas")),
    Column("hukou_division", "户口所在地", "hukou_division_code", ("hukou_division", "hukou_location", "hukou")),
    Column("hukou_nature", "户口性质", "hukou_nature", ("hukou_nature", "hukou_type")),
    Column("grade", "年级", "grade", ("grade",)),
    Column("class_number", "班级", "class_number", ("class", "class_number")),
    Column("enrolled_on", "入学年月", "enrolled_on", ("enrolled_on", "enrolment_date", "enrollment_date")),
    Column("boarding", "就读方式", "boarding", ("boarding", "study_mode")),
    Column("health", "健康状况", "health", ("health",)),
    Column("left_behind", "是否留守儿童", "left_behind", ("left_behind",)),
    Column("migrant", "是否随迁子女", "migrant", ("migrant",)),
    *_guardian_columns(1),
    *_guardian_columns(2),
]
HEADERS = [c.header for c in COLUMNS]
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
_COLUMN_BY_FIELD = {c.field: c for c in COLUMNS}
#: Columns a file must have; the second family member is optional.
REQUIRED_KEYS = [c.key for c in COLUMNS if not c.key.startswith("g2_")]


def _fold(text: str) -> str:
    """Header as compared: half-width, no spaces or required-marks, lower-case."""
    text = identity.normalize_id_number(str(text or "")).translate({0xFF08: "(", 0xFF09: ")"})
    text = re.sub(r"[*＊]|\(必填\)|\(选填\)", "", text)
    return text.replace("-", "_").lower()


_HEADER_LOOKUP: dict[str, str] = {}
for _column in COLUMNS:
    _HEADER_LOOKUP[_fold(_column.header)] = _column.key
    for _alias in _column.aliases:
        _HEADER_LOOKUP[_fold(_alias)] = _column.key
_HEADER_LOOKUP[_fold("国籍")] = "nationality"
_HEADER_LOOKUP[_fold("班号")] = "class_number"


def column_of(field_name: str | None) -> str:
    """The template header a validation problem points at (``guardians[1].name`` → 家庭成员1姓名)."""
    if not field_name:
        return ""
    column = _COLUMN_BY_FIELD.get(field_name)
    if column is not None:
        return column.header
    match = re.match(r"guardians\[(\d)\]", field_name)
    if match:
        return f"家庭成员{match.group(1)}"
    if field_name.startswith("guardian"):
        return "家庭成员"
    return ""


def problem(exc: ValidationFailed | RegistryError, *, column: str | None = None) -> dict:
    return {
        "column": column if column is not None else column_of(exc.field),
        "field": exc.field,
        "code": exc.code,
        "message": str(exc.message),
    }


# --- reading a file (by its bytes, never its name) --------------------------------------

XLSX, CSV = "xlsx", "csv"


def _file_error(message, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, field="file")


def sniff_format(content: bytes) -> str:
    """``xlsx`` or ``csv`` judged by the bytes; refuses anything else with the reason."""
    if not content:
        raise _file_error(_("文件是空的"), "file_empty")
    if len(content) > MAX_BYTES:
        raise _file_error(
            _("文件太大（%(size)s MB），单个花名册不超过 %(max)s MB，请按学校或年级拆分")
            % {"size": len(content) // (1024 * 1024), "max": MAX_BYTES // (1024 * 1024)},
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
        if unpacked > MAX_UNPACKED_BYTES:
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


def _cell_text(value: Any) -> str:
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
        from python_calamine import CalamineWorkbook
    except ImportError:  # pragma: no cover - the slower pure-Python reader
        return _read_xlsx_openpyxl(content)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception:
        raise _file_error(_("文件已损坏，无法作为 xlsx 打开"), "file_corrupt") from None
    return [[_cell_text(v) for v in row] for row in rows]


def _read_xlsx_openpyxl(content: bytes) -> list[list[str]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:
        raise _file_error(_("文件已损坏，无法作为 xlsx 打开"), "file_corrupt") from None
    sheet = workbook.worksheets[0]
    rows = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    return rows


def _read_csv(content: bytes) -> list[list[str]]:
    text = decode_csv(content)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def read_table(content: bytes) -> tuple[str, list[list[str]]]:
    """The format and every line of the first sheet, cells as text."""
    file_format = sniff_format(content)
    rows = _read_xlsx(content) if file_format == XLSX else _read_csv(content)
    return file_format, rows


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
        key = _HEADER_LOOKUP.get(_fold(cell))
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


# --- one row → PupilData ----------------------------------------------------------------

_DATE_FULL = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
_MONTH_COMPACT = re.compile(r"^(\d{4})(\d{2})$")
_SCIENTIFIC = re.compile(r"^\d(?:\.\d+)?[eE]\+?\d+$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_GRADE_BY_NAME = {str(name): number for number, name in GRADE_NAMES.items()}
_GRADE_BY_NAME.update({"一年级": 1, "二年级": 2, "三年级": 3, "四年级": 4, "五年级": 5, "六年级": 6,
                       "七年级": 7, "八年级": 8, "九年级": 9, "初一": 7, "初二": 8, "初三": 9,
                       "高一": 10, "高二": 11, "高三": 12})
_YES = {"是", "1", "y", "yes", "true", "√", "t"}
_NO = {"否", "0", "n", "no", "false", "×", "f"}
_FORMULA_CHARS = ("=", "+", "-", "@")


def _unquote(text: str) -> str:
    """Undo the export's formula-injection guard (a leading ' before = + - @)."""
    if len(text) > 1 and text[0] == "'" and text[1] in _FORMULA_CHARS:
        return text[1:]
    return text


def parse_date(text: str, *, month_only: bool = False) -> dt.date | None:
    """2015-03-08, 2015/3/8, 2015年3月8日, 20150308, an Excel serial; month-only for 入学年月."""
    text = identity.normalize_id_number(text) if text else ""
    if not text:
        return None
    match = _DATE_FULL.match(text) or _DATE_COMPACT.match(text)
    try:
        if match:
            return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if month_only:
            match = _MONTH.match(text) or _MONTH_COMPACT.match(text)
            if match:
                return dt.date(int(match.group(1)), int(match.group(2)), 1)
        if text.isdigit() and 20000 <= int(text) <= 80000:  # an Excel date serial saved as a number
            return _EXCEL_EPOCH + dt.timedelta(days=int(text))
    except ValueError:
        pass
    raise ValueError(text)


def _parse_int(text: str, *, names: dict[str, int] | None = None) -> int:
    text = identity.normalize_id_number(text)
    if names and text in names:
        return names[text]
    text = re.sub(r"^[(（]|[)）]$|班$|年级$", "", text).strip("()（）")
    return int(text)


def _parse_bool(text: str) -> bool | None:
    folded = text.strip().lower()
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    return None


@dataclass
class Row:
    """One data line of a roster and its outcome."""

    number: int  # the Excel row number (header = 1)
    cells: list[str]
    data: PupilData | None = None
    school: School | None = None
    problems: list[dict] = field(default_factory=list)
    outcome: str = NEW
    likely: list[dict] = field(default_factory=list)
    national_number: str = ""

    def refuse(self, exc: RegistryError, *, column: str | None = None) -> None:
        self.problems.append(problem(exc, column=column))
        self.outcome = REFUSED

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_report(self) -> dict:
        data = self.data
        return {
            "row": self.number,
            "outcome": self.outcome,
            "name": data.name if data else "",
            "id_number": data.id_number if data else "",
            "school_code": data.school_code if data else "",
            "national_number": self.national_number,
            "problems": self.problems,
            "likely": self.likely,
        }


class _Divisions:
    """户口所在地 given as a code (2, 4 or 6 digits), a full name or an unambiguous name."""

    def __init__(self) -> None:
        rows = list(Division.objects.values_list("code", "name", "parent_id"))
        names = {code: name for code, name, _parent in rows}
        parents = {code: parent for code, _name, parent in rows}
        self.codes = set(names)
        self.by_name: dict[str, str | None] = {}
        for code, name, _parent in rows:
            full, node = [], code
            while node:
                full.append(names[node])
                node = parents.get(node)
            self._add("".join(reversed(full)), code)
            self._add(name, code)

    def _add(self, name: str, code: str) -> None:
        self.by_name[name] = None if name in self.by_name and self.by_name[name] != code else code

    def resolve(self, text: str) -> str | None:
        if text in self.codes:
            return text
        return self.by_name.get(text)


def row_to_record(row: Row, table: Table, divisions: _Divisions) -> None:
    """Fill ``row.data`` from its cells; a cell that cannot be read becomes a problem."""
    positions = table.positions

    def cell(key: str) -> str:
        index = positions.get(key)
        if index is None or index >= len(row.cells):
            return ""
        return _unquote(row.cells[index].strip())

    def refuse(key: str, message, code: str) -> None:
        column = COLUMN_BY_KEY[key]
        row.refuse(ValidationFailed(message, code=code, field=column.field), column=column.header)

    def date_of(key: str, *, month_only: bool = False) -> dt.date | None:
        text = cell(key)
        try:
            return parse_date(text, month_only=month_only)
        except ValueError:
            refuse(key, _("%(column)s“%(value)s”不是有效日期，应写成 2015-03-08、2015/3/8 或 20150308")
                   % {"column": COLUMN_BY_KEY[key].header, "value": text}, "bad_date")
            return None

    def number_of(key: str, names=None) -> int | None:
        text = cell(key)
        if not text:
            return None
        try:
            value = _parse_int(text, names=names)
        except ValueError:
            value = -1
        if not 1 <= value <= (12 if key == "grade" else 99):
            refuse(key, _("%(column)s“%(value)s”无法识别，应填写数字，例如 3")
                   % {"column": COLUMN_BY_KEY[key].header, "value": text}, f"bad_{key}")
            return None
        return value

    for key in ("id_number", "g1_id_number", "g2_id_number"):
        if _SCIENTIFIC.match(cell(key)):
            refuse(key, _("%(column)s被 Excel 存成了数字（%(value)s），后几位已丢失；请把该列设为“文本”格式后重新填写")
                   % {"column": COLUMN_BY_KEY[key].header, "value": cell(key)}, "id_number_as_number")

    hukou_text = cell("hukou_division")
    hukou_code = ""
    if hukou_text:
        hukou_code = divisions.resolve(hukou_text) or ""
        if not hukou_code:
            refuse("hukou_division", _("户口所在地“%(value)s”不是有效的行政区划代码或名称") % {"value": hukou_text},
                   "unknown_division")

    guardians = []
    for n in (1, 2):
        values = {k: cell(f"g{n}_{k}") for k in ("name", "relation", "id_type", "id_number", "is_guardian")}
        if not any(values.values()):
            continue
        is_guardian = True
        if values["is_guardian"]:
            parsed = _parse_bool(values["is_guardian"])
            if parsed is None:
                refuse(f"g{n}_is_guardian", _("%(column)s应填写“是”或“否”，现为“%(value)s”")
                       % {"column": COLUMN_BY_KEY[f"g{n}_is_guardian"].header, "value": values["is_guardian"]},
                       "bad_boolean")
            else:
                is_guardian = parsed
        guardians.append(
            GuardianData(
                name=values["name"],
                relation=values["relation"],
                id_type=values["id_type"] or "1",
                id_number=values["id_number"],
                is_guardian=is_guardian,
            )
        )
    first = next((g for g in guardians if g.is_guardian), None)
    if first is not None:
        first.is_first_guardian = True

    row.data = PupilData(
        school_code=identity.normalize_id_number(cell("school_code")),
        name=cell("name"),
        former_name=cell("former_name"),
        sex=cell("sex"),
        birth_date=date_of("birth_date"),
        grade=number_of("grade", _GRADE_BY_NAME),
        class_number=number_of("class_number"),
        enrolled_on=date_of("enrolled_on", month_only=True),
        id_type=cell("id_type"),
        id_number=cell("id_number"),
        ethnicity=cell("ethnicity"),
        nationality=cell("nationality"),
        hmt=cell("hmt"),
        hukou_division_code=hukou_code,
        hukou_nature=cell("hukou_nature"),
        health=cell("health"),
        boarding=cell("boarding"),
        left_behind=cell("left_behind"),
        migrant=cell("migrant"),
        guardians=guardians,
    )
    # The roster has one 户口所在地 column: for a pupil without hukou (无户籍) it is the first
    # guardian's, which the no-hukou rules require and the pupil's hukou follows.
    if first is not None and not first.hukou_division_code:
        probe = dataclasses.replace(row.data, hmt=_code_or_text("hmt", row.data.hmt),
                                    id_type=_code_or_text("id_type", row.data.id_type))
        if nohukou.is_no_hukou(probe):
            first.hukou_division_code = hukou_code


def _code_or_text(table: str, value: str) -> str:
    try:
        return codes.resolve(table, value)
    except ValidationFailed:
        return value


# --- the check (dry run) ----------------------------------------------------------------

class _Schools:
    """School of a row by its code, decided once per code by ``school_for_write``."""

    def __init__(self, user) -> None:
        self.user = user
        self.cache: dict[str, School | ValidationFailed] = {}

    def get(self, code: str) -> School | ValidationFailed:
        if code not in self.cache:
            try:
                self.cache[code] = school_for_write(user=self.user, school_code=code)
            except ValidationFailed as exc:
                self.cache[code] = exc
        return self.cache[code]


def _guardian_ids(guardians: Iterable) -> frozenset[str]:
    return frozenset(g.id_number for g in guardians if g.id_number)


def _no_id_key(school_id: int, data: PupilData) -> tuple:
    return (school_id, data.name, data.birth_date, _guardian_ids(data.guardians))


def differences(pupil: Pupil, data: PupilData) -> list[str]:
    """Columns where an existing pupil differs from a row (empty: the row is unchanged)."""
    pairs = [
        ("name", pupil.name, data.name),
        ("former_name", pupil.former_name, data.former_name),
        ("sex", pupil.sex, data.sex),
        ("birth_date", pupil.birth_date, data.birth_date),
        ("id_type", pupil.id_type, data.id_type),
        ("id_number", pupil.id_number, data.id_number),
        ("ethnicity", pupil.ethnicity, data.ethnicity),
        ("nationality", pupil.nationality, data.nationality),
        ("hmt", pupil.hmt, data.hmt),
        ("hukou_division", pupil.hukou_division_id or "", data.hukou_division_code or ""),
        ("hukou_nature", pupil.hukou_nature, data.hukou_nature),
        ("grade", pupil.grade, data.grade),
        ("class_number", pupil.school_class.number if pupil.school_class_id else None, data.class_number),
        ("enrolled_on", pupil.enrolled_on, data.enrolled_on),
        ("boarding", pupil.boarding, data.boarding),
        ("health", pupil.health, data.health),
        ("left_behind", pupil.left_behind, data.left_behind),
        ("migrant", pupil.migrant, data.migrant),
    ]
    existing = sorted(pupil.guardians.all(), key=lambda g: g.order)[:2]
    for n in (1, 2):
        old = existing[n - 1] if len(existing) >= n else None
        new = data.guardians[n - 1] if len(data.guardians) >= n else None
        for attr in ("name", "relation", "id_type", "id_number", "is_guardian"):
            pairs.append(
                (f"g{n}_{attr}", getattr(old, attr) if old else None, getattr(new, attr) if new else None)
            )
    return [COLUMN_BY_KEY[key].header for key, old, new in pairs if old != new]


def _differs_error(pupil: Pupil, columns: list[str]) -> ValidationFailed:
    return ValidationFailed(
        _("本校已有该学生的学籍（全国学籍号 %(number)s），但以下列与本行不同：%(columns)s。"
          "花名册导入不修改已有学籍，关键信息请通过变更申请修改")
        % {"number": pupil.national_number, "columns": "、".join(columns)},
        code="differs_from_existing",
        field="id_number",
    )


def _likely_error(likely: list[dict]) -> ValidationFailed:
    names = "；".join(_likely_summary(item) for item in likely)
    return ValidationFailed(
        _("疑似与已有学籍重复：%(who)s。请核对；确认不是同一学生时可选择“保留疑似重复”导入") % {"who": names},
        code="likely_duplicate",
        field="name",
    )


def _likely_summary(item: dict) -> str:
    if not isinstance(item, dict):
        return str(item)
    if item.get("summary"):
        return str(item["summary"])
    parts = [str(item.get(k)) for k in ("name", "national_number", "school_name", "school") if item.get(k)]
    return " ".join(parts) or json.dumps(item, ensure_ascii=False, default=str)


def _check_records(rows: list[Row], schools: _Schools, today: dt.date) -> None:
    for row in rows:
        data = row.data
        school = schools.get(data.school_code) if data.school_code else None
        if isinstance(school, ValidationFailed):
            row.refuse(school, column=COLUMN_BY_KEY["school_code"].header)
            school = None
        elif school is None:
            row.refuse(ValidationFailed(_("学校标识码不能为空"), code="required", field="school_code"))
        row.school = school
        for exc in pupil_problems(data, school=school, today=today):
            row.refuse(exc)


def _check_in_file(rows: list[Row]) -> None:
    """The same resident ID (or the same no-ID child) twice in the file refuses every copy."""
    by_id: dict[str, list[Row]] = defaultdict(list)
    by_child: dict[tuple, list[Row]] = defaultdict(list)
    for row in rows:
        data = row.data
        if data.id_number and data.id_type == "1":
            by_id[data.id_number].append(row)
        elif not data.id_number and data.name and data.birth_date:
            by_child[(data.school_code, data.name, data.birth_date, _guardian_ids(data.guardians))].append(row)
    for group in list(by_id.values()) + list(by_child.values()):
        if len(group) < 2:
            continue
        numbers = [r.number for r in group]
        for row in group:
            others = "、".join(str(n) for n in numbers if n != row.number)
            message = (
                _("身份证件号在文件中重复出现：与第 %(rows)s 行相同") if row.data.id_number
                else _("同一名无身份证号的学生在文件中重复出现：与第 %(rows)s 行的姓名、出生日期和家庭成员相同")
            ) % {"rows": others}
            row.refuse(ValidationFailed(message, code="duplicate_in_file", field="id_number"),
                       column=COLUMN_BY_KEY["id_number"].header if row.data.id_number else COLUMN_BY_KEY["name"].header)


def _check_against_registry(rows: list[Row], *, keep_likely: bool) -> None:
    """Rules across records for one batch: a few queries, never one per row."""
    candidates = [row for row in rows if row.ok]
    ids = {row.data.id_number for row in candidates if has_resident_id(row.data)}
    holders = {
        pupil.id_number: pupil
        for pupil in Pupil.objects.filter(id_number__in=ids, status__in=ACTIVE_STATUSES)
        .select_related("school__county", "school_class")
        .prefetch_related("guardians")
    } if ids else {}
    no_id = [row for row in candidates if not row.data.id_number]
    same_child: dict[tuple, Pupil] = {}
    if no_id:
        existing = (
            Pupil.objects.filter(
                school_id__in={row.school.pk for row in no_id},
                name__in={row.data.name for row in no_id},
                birth_date__in={row.data.birth_date for row in no_id},
                id_number="",
                status__in=ACTIVE_STATUSES,
            )
            .select_related("school_class")
            .prefetch_related("guardians")
        )
        for pupil in existing:
            same_child[(pupil.school_id, pupil.name, pupil.birth_date, _guardian_ids(pupil.guardians.all()))] = pupil

    fresh: list[Row] = []
    for row in candidates:
        data = row.data
        if data.id_number and has_resident_id(data):
            match = holders.get(data.id_number)
            if match is not None and match.school_id != row.school.pk:
                row.refuse(id_held_elsewhere_error(match), column=COLUMN_BY_KEY["id_number"].header)
                continue
        else:
            match = same_child.get(_no_id_key(row.school.pk, data))
        if match is not None:
            columns = differences(match, data)
            if columns:
                row.refuse(_differs_error(match, columns))
            else:
                row.outcome = UNCHANGED
                row.national_number = match.national_number
            continue
        for exc in nohukou.registration_problems(data):
            row.refuse(exc)
        if row.ok:
            fresh.append(row)
    for row, likely in zip(fresh, entry.likely_duplicates_many([row.data for row in fresh])):
        if likely:
            row.likely = likely
            if not keep_likely:
                row.refuse(_likely_error(likely))


def check_rows(
    *,
    user,
    table: Table,
    keep_likely_duplicates: bool = False,
    progress: Callable[[int], None] | None = None,
    registry_results: dict[int, dict] | None = None,
) -> list[Row]:
    """The dry run over every line of ``table``: each row gets its outcome and all its problems.

    ``registry_results`` (row number → the dry run's report) stands in for the checks
    against the registry when nothing in it has changed since that dry run.
    """
    divisions = _Divisions()
    schools = _Schools(user)
    today = timezone.localdate()
    rows = [Row(number=number, cells=cells) for number, cells in table.lines]
    for row in rows:
        row_to_record(row, table, divisions)
    _check_records(rows, schools, today)
    _check_in_file(rows)
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        if registry_results is None:
            _check_against_registry(batch, keep_likely=keep_likely_duplicates)
        else:
            _registry_results_of(batch, registry_results)
        if progress is not None:
            progress(min(len(rows), start + BATCH_SIZE))
    for row in rows:
        if row.problems:
            row.outcome = REFUSED
    return rows


def _registry_results_of(rows: list[Row], saved: dict[int, dict]) -> None:
    """Take the registry-dependent outcome of each still-valid row from the dry run."""
    for row in rows:
        report = saved.get(row.number)
        if not row.ok or report is None:
            continue
        if report["outcome"] == REFUSED:
            row.problems.extend(report["problems"])
            row.outcome = REFUSED
        elif report["outcome"] == UNCHANGED:
            row.outcome = UNCHANGED
            row.national_number = report["national_number"]
        row.likely = report.get("likely") or []


def registry_changed_since(moment) -> bool:
    """Whether any pupil or family member was written after ``moment``, by any path: the
    audit trail (pghistory) records every insert, update and delete, bulk ones included."""
    return (
        moment is None
        or Pupil.pgh_event_model.objects.filter(pgh_created_at__gt=moment).exists()
        or Guardian.pgh_event_model.objects.filter(pgh_created_at__gt=moment).exists()
    )


# --- writing (bulk) ---------------------------------------------------------------------

def _classes_for(rows: list[Row]) -> dict[tuple[int, int, int], int]:
    """SchoolClass ids for every (school, grade, number), creating the missing ones in bulk."""
    wanted = {(row.school.pk, row.data.grade, row.data.class_number) for row in rows}
    if not wanted:
        return {}
    school_ids = {school_id for school_id, _grade, _number in wanted}

    def existing() -> dict:
        classes = SchoolClass.objects.filter(school_id__in=school_ids).values_list("school_id", "grade", "number", "id")
        return {(s, g, n): pk for s, g, n, pk in classes}

    found = existing()
    missing = wanted - set(found)
    if missing:
        SchoolClass.objects.bulk_create(
            [SchoolClass(school_id=s, grade=g, number=n) for s, g, n in sorted(missing)], ignore_conflicts=True
        )
        found = existing()
    return found


def _assign_numbers(rows: list[Row], rng: random.Random) -> None:
    """L numbers (random, collisions retried) and J numbers (next sequence per county+birth date)."""
    with_id = [row for row in rows if has_resident_id(row.data)]
    taken: set[str] = set()
    pending = with_id
    for _attempt in range(20):
        if not pending:
            break
        for row in pending:
            row.national_number = identity.make_l_number(row.school.county_id, row.data.birth_date, rng=rng)
        numbers = [row.national_number for row in pending]
        clashes = set(Pupil.objects.filter(national_number__in=numbers).values_list("national_number", flat=True))
        retry = []
        for row in pending:
            if row.national_number in clashes or row.national_number in taken:
                retry.append(row)
            else:
                taken.add(row.national_number)
        pending = retry
    if pending:  # pragma: no cover - 20 rounds of 4-digit collisions
        raise Conflict(_("学籍号分配失败，请重试"), code="number_allocation_failed")

    without_id = [row for row in rows if not has_resident_id(row.data)]
    if not without_id:
        return
    prefixes = sorted({f"J{row.school.county_id}{row.data.birth_date:%Y%m%d}" for row in without_id})
    with connection.cursor() as cursor:
        for prefix in prefixes:  # the same lock as registry.services.new_national_number
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [prefix])
    last = dict(
        Pupil.objects.annotate(prefix=Substr("national_number", 1, 15))
        .filter(prefix__in=prefixes)
        .values("prefix")
        .annotate(last=Max("national_number"))
        .values_list("prefix", "last")
    )
    sequence = {prefix: int(last[prefix][15:18]) if prefix in last else 0 for prefix in prefixes}
    for row in without_id:
        prefix = f"J{row.school.county_id}{row.data.birth_date:%Y%m%d}"
        sequence[prefix] += 1
        row.national_number = identity.make_j_number(row.school.county_id, row.data.birth_date, sequence[prefix])


def _insert(model, rows: list[dict]) -> list[int]:
    """INSERT many rows in one statement, returning their ids in order.

    Django's ``bulk_create`` spends most of its time building model instances and per-value
    SQL; this writes the column values directly. Database defaults come from the model's
    field defaults. Audit: see ``_write_batch``.
    """
    if not rows:
        return []
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = {}
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults[f.attname] = now
        elif f.has_default():
            defaults[f.attname] = f.get_default()
        else:
            defaults[f.attname] = None if f.null else ""
    json_fields = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params: list = []
    for row in rows:
        for f in fields:
            value = row.get(f.attname, defaults[f.attname])
            if f.attname in json_fields:
                value = json.dumps(value, ensure_ascii=False, default=str)
            params.append(value)
    sql = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) VALUES "
        + ", ".join([one] * len(rows))
        + " RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [r[0] for r in cursor.fetchall()]


def write_rows(*, user, rows: list[Row], job: RosterImport | None = None, rng: random.Random | None = None) -> int:
    """Create a pupil for every ``new`` row, in bulk, in the caller's transaction.

    The caller holds ``transaction.atomic()`` and ``acting_as(user)``: the pghistory
    triggers record every inserted Pupil, Guardian and SchoolClass with that context.
    """
    rows = [row for row in rows if row.outcome == NEW]
    if not rows:
        return 0
    rng = rng or random.SystemRandom()
    membership = getattr(user, "membership", None)
    unit_code = membership.unit_code if membership else ""
    actor_name = user.get_username()
    now = timezone.now()
    for start in range(0, len(rows), BATCH_SIZE):
        _write_batch(user=user, batch=rows[start : start + BATCH_SIZE], job=job, rng=rng, now=now,
                     unit_code=unit_code, actor_name=actor_name)
    return len(rows)


def _write_batch(*, user, batch: list[Row], job, rng, now, unit_code: str, actor_name: str) -> None:
    registered = gettext("在%(school)s建立学籍，全国学籍号 %(number)s（花名册导入）")
    for row in batch:
        nohukou.derive_hukou(row.data)
    classes = _classes_for(batch)
    _assign_numbers(batch, rng)
    # One audit event per pupil and guardian, written per batch (accounts.audit).
    with audit.skip_insert_triggers(Pupil, Guardian):
        pupil_ids, guardian_ids = _insert_pupils_and_guardians(batch, classes, now)
    audit.record_bulk_inserts(Pupil, pupil_ids, user=user, roster_import=job.pk if job else None)
    audit.record_bulk_inserts(Guardian, guardian_ids, user=user, roster_import=job.pk if job else None)
    match_keys_refresh(pupil_ids, new=True)  # name-sound / ID-neighbour keys of the at-entry duplicate check
    _insert(
        HistoryEntry,
        [
            {
                "pupil_id": pupil_id,
                "kind": "registered",
                "summary": registered % {"school": row.school.name, "number": row.national_number},
                "data": {"roster_import": job.pk if job else None, "row": row.number},
                "school_id": row.school.pk,
                "actor_id": user.pk,
                "actor_name": actor_name,
                "unit_code": unit_code,
                "at": now,
            }
            for row, pupil_id in zip(batch, pupil_ids)
        ],
    )
    pupils = Pupil.objects.in_bulk(pupil_ids) if any(row.likely for row in batch) else {}
    for row, pupil_id in zip(batch, pupil_ids):
        if row.likely:
            entry.record_entry_override(
                pupil=pupils[pupil_id],
                likely=row.likely,
                reason=gettext("花名册导入时确认保留（导入任务 %(job)s 第 %(row)s 行）")
                % {"job": job.pk if job else "-", "row": row.number},
                user=user,
            )


def _insert_pupils_and_guardians(batch: list[Row], classes: dict, now) -> tuple[list[int], list[int]]:
    pupil_ids = _insert(
        Pupil,
        [
            {
                "national_number": row.national_number,
                "name": row.data.name,
                "former_name": row.data.former_name,
                "sex": row.data.sex,
                "birth_date": row.data.birth_date,
                "ethnicity": row.data.ethnicity,
                "nationality": row.data.nationality,
                "id_type": row.data.id_type,
                "id_number": row.data.id_number,
                "hmt": row.data.hmt,
                "hukou_division_id": row.data.hukou_division_code or None,
                "hukou_nature": row.data.hukou_nature,
                "health": row.data.health,
                "boarding": row.data.boarding,
                "left_behind": row.data.left_behind,
                "migrant": row.data.migrant,
                "enrolled_on": row.data.enrolled_on,
                "school_id": row.school.pk,
                "school_class_id": classes[(row.school.pk, row.data.grade, row.data.class_number)],
                "grade": row.data.grade,
                "county_code": row.school.county_id,
                "created_at": now,
                "updated_at": now,
            }
            for row in batch
        ],
    )
    guardian_ids = _insert(
        Guardian,
        [
            {
                "pupil_id": pupil_id,
                "order": index,
                "name": g.name,
                "relation": g.relation,
                "id_type": g.id_type,
                "id_number": g.id_number,
                "phone": g.phone,
                "is_guardian": g.is_guardian,
                "is_first_guardian": g.is_first_guardian,
                "vital": g.vital,
                "police_reference": g.police_reference,
                "police_date": g.police_date,
                "hukou_division_id": g.hukou_division_code or None,
            }
            for row, pupil_id in zip(batch, pupil_ids)
            for index, g in enumerate(row.data.guardians, start=1)
        ],
    )
    return pupil_ids, guardian_ids


# --- the job: upload → check → confirm → import ------------------------------------------

def _unit_of(user) -> tuple[School | None, str, str]:
    membership = getattr(user, "membership", None)
    if membership is None:
        return None, "", ""
    if membership.school_id:
        return membership.school, membership.school.county_id, membership.school.code
    return None, membership.division_id, membership.division_id


def require_importer(user) -> None:
    if getattr(user, "is_superuser", False) and getattr(user, "membership", None) is None:
        return
    require_role(user, Membership.Role.OPERATOR, Membership.Role.ADMIN)


def roster_upload(*, user, content: bytes, file_name: str = "", keep_likely_duplicates: bool = False) -> RosterImport:
    """Store an uploaded roster (judged by its bytes) and open its job; the check runs next."""
    require_importer(user)
    if scope_of(user) is None:
        raise Forbidden(_("您没有所属单位，不能导入花名册"), code="no_unit")
    file_format = sniff_format(content)
    school, scope_code, unit_code = _unit_of(user)
    job = RosterImport(
        created_by=user,
        created_by_name=user.get_username(),
        school=school,
        scope_code=scope_code,
        unit_code=unit_code,
        original_name=(file_name or "")[-200:],
        file_format=file_format,
        file_size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        keep_likely_duplicates=keep_likely_duplicates,
    )
    with transaction.atomic(), acting_as(user):
        job.file.save(f"roster.{file_format}", ContentFile(content), save=False)
        job.save()
    logger.info("roster upload job=%s user=%s size=%s format=%s", job.pk, user.get_username(), len(content), file_format)
    return job


def _save_rows_file(job: RosterImport, rows: list[Row]) -> None:
    payload = {"rows": [r.as_report() for r in rows]}
    blob = gzip.compress(json.dumps(payload, ensure_ascii=False, default=str).encode(), compresslevel=3)
    name = default_storage.save(f"rosters/{timezone.now():%Y/%m}/{job.file.name.rsplit('/', 1)[-1]}.rows.json.gz",
                                ContentFile(blob))
    if job.rows_file and job.rows_file != name:
        default_storage.delete(job.rows_file)
    job.rows_file = name


def load_rows(job: RosterImport) -> list[dict]:
    """The per-row report of a checked or finished job (row, outcome, problems…)."""
    if not job.rows_file:
        return []
    with default_storage.open(job.rows_file, "rb") as handle:
        return json.loads(gzip.decompress(handle.read()))["rows"]


def _progress(job: RosterImport) -> Callable[[int], None]:
    def update(done: int) -> None:
        RosterImport.objects.filter(pk=job.pk).update(processed_rows=done)

    return update


def _summarise(job: RosterImport, rows: list[Row]) -> None:
    job.total_rows = len(rows)
    job.processed_rows = len(rows)
    job.new_rows = sum(1 for r in rows if r.outcome == NEW)
    job.unchanged_rows = sum(1 for r in rows if r.outcome == UNCHANGED)
    job.refused_rows = sum(1 for r in rows if r.outcome == REFUSED)
    job.refused = [
        {"row": r.number, "name": r.data.name if r.data else "", "problems": r.problems}
        for r in rows
        if r.outcome == REFUSED
    ]


def _read_job_table(job: RosterImport) -> Table:
    with job.file.open("rb") as handle:
        content = handle.read()
    _format, lines = read_table(content)
    return parse_table(lines)


def roster_check(*, job_id: int) -> RosterImport:
    """The dry run of a stored roster: every row's outcome, saved on the job (no pupil written)."""
    job = RosterImport.objects.select_related("created_by__membership").get(pk=job_id)
    if job.status != RosterImport.Status.CHECKING:
        return job
    user = job.created_by
    try:
        table = _read_job_table(job)
    except ValidationFailed as exc:
        job.status = RosterImport.Status.FAILED
        job.error = exc.as_dict()
        job.finished_at = timezone.now()
        with acting_as(user, roster_import=job.pk):
            job.save()
        return job
    RosterImport.objects.filter(pk=job.pk).update(total_rows=len(table.lines))
    rows = check_rows(
        user=user, table=table, keep_likely_duplicates=job.keep_likely_duplicates, progress=_progress(job)
    )
    _summarise(job, rows)
    _save_rows_file(job, rows)
    job.status = RosterImport.Status.CHECKED
    job.checked_at = timezone.now()
    with acting_as(user, roster_import=job.pk):
        job.save()
    logger.info("roster check job=%s rows=%s new=%s unchanged=%s refused=%s", job.pk, job.total_rows,
                job.new_rows, job.unchanged_rows, job.refused_rows)
    return job


def roster_confirm(*, user, job_id: int, mode: str) -> RosterImport:
    """Claim a checked job for import with the user's choice; a second click gets 409."""
    require_importer(user)
    job = roster_import_get(user, job_id)
    if job.created_by_id != user.pk:
        raise Forbidden(_("只有上传该花名册的用户可以确认导入"), code="not_uploader")
    if mode not in RosterImport.Mode.values:
        raise ValidationFailed(_("请选择导入方式：只导入合格的行，或全部合格才导入"), code="bad_mode", field="mode")
    if job.status == RosterImport.Status.CHECKED and mode == RosterImport.Mode.ALL_OR_NOTHING and job.refused_rows:
        raise ValidationFailed(
            _("有 %(n)s 行不合格，选择“全部合格才导入”时不会导入任何一行；请修改文件后重新上传，或选择只导入合格的行")
            % {"n": job.refused_rows},
            code="rows_refused",
            field="mode",
        )
    claimed = RosterImport.objects.filter(pk=job.pk, status=RosterImport.Status.CHECKED).update(
        status=RosterImport.Status.IMPORTING, mode=mode, processed_rows=0
    )
    if not claimed:
        raise Conflict(_("该花名册已确认过或仍在预检中，不能再次确认"), code="not_confirmable")
    job.refresh_from_db()
    logger.info("roster confirm job=%s user=%s mode=%s", job.pk, user.get_username(), mode)
    return job


def roster_import_rows(*, job_id: int) -> RosterImport:
    """Re-check a claimed job and write it: all good rows, or nothing unless all are good."""
    job = RosterImport.objects.select_related("created_by__membership").get(pk=job_id)
    if job.status != RosterImport.Status.IMPORTING:
        return job
    user = job.created_by
    table = _read_job_table(job)
    for attempt in range(3):
        # The dry run's checks against the registry still hold when nothing changed since;
        # a write that loses a race anyway (IntegrityError) is checked again in full.
        unchanged = attempt == 0 and not registry_changed_since(job.checked_at)
        rows = check_rows(
            user=user, table=table, keep_likely_duplicates=job.keep_likely_duplicates, progress=_progress(job),
            registry_results={r["row"]: r for r in load_rows(job)} if unchanged else None,
        )
        refused = [r for r in rows if r.outcome == REFUSED]
        if job.mode == RosterImport.Mode.ALL_OR_NOTHING and refused:
            imported = 0
            job.status = RosterImport.Status.REFUSED
            break
        try:
            with transaction.atomic(), acting_as(user, roster_import=job.pk):
                imported = write_rows(user=user, rows=rows, job=job)
        except IntegrityError as exc:  # a pupil registered meanwhile: check again
            logger.warning("roster import job=%s attempt=%s lost a race: %s", job.pk, attempt, exc)
            continue
        for row in rows:
            if row.outcome == NEW:
                row.outcome = "imported"
        job.status = RosterImport.Status.IMPORTED
        break
    else:
        raise Conflict(_("导入时数据不断变化，请稍后重试"), code="import_retry_exhausted")
    _summarise(job, rows)
    job.new_rows = sum(1 for r in rows if r.outcome in (NEW, "imported"))
    job.imported_rows = imported
    _save_rows_file(job, rows)
    job.finished_at = timezone.now()
    with acting_as(user, roster_import=job.pk):
        job.save()
    logger.info("roster import job=%s user=%s mode=%s imported=%s refused=%s status=%s", job.pk,
                user.get_username(), job.mode, imported, job.refused_rows, job.status)
    return job


# --- reads ------------------------------------------------------------------------------

def roster_imports_visible_to(user):
    return restrict(RosterImport.objects.all(), user)


def roster_import_get(user, job_id) -> RosterImport:
    try:
        job_id = int(job_id)
    except (TypeError, ValueError):
        job_id = 0
    return get_in_scope(RosterImport.objects.all(), user, pk=job_id)


# --- export, template, row report --------------------------------------------------------

@dataclass
class RosterFilter:
    """Which pupils a 花名册 covers: a county, a school, a grade of it or one class."""

    county: str = ""
    school: str = ""
    grade: int | None = None
    class_number: int | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None)}


def roster_pupils(user, filters: RosterFilter):
    """Active pupils in the user's scope matching ``filters``, sorted by class then name."""
    if not filters.school and not filters.county:
        raise ValidationFailed(_("请选择要导出的学校或区县"), code="filter_required", field="school")
    if (filters.grade or filters.class_number) and not filters.school:
        raise ValidationFailed(_("按年级或班级导出时请先选择学校"), code="filter_required", field="school")
    if filters.class_number and not filters.grade:
        raise ValidationFailed(_("按班级导出时请同时选择年级"), code="filter_required", field="grade")
    pupils = restrict(Pupil.objects.filter(status__in=ACTIVE_STATUSES), user)
    if filters.county:
        pupils = pupils.filter(county_code=filters.county.strip())
    if filters.school:
        pupils = pupils.filter(school__code=filters.school.strip())
    if filters.grade:
        pupils = pupils.filter(grade=filters.grade)
    if filters.class_number:
        pupils = pupils.filter(school_class__number=filters.class_number)
    return (
        pupils.select_related("school", "school_class")
        .prefetch_related("guardians")
        .order_by("school__code", "grade", "school_class__number", "name", "id")
    )


def neutralise(value: Any) -> Any:
    """Cells starting with = + - @ (or a tab / CR) get a leading apostrophe: no formula runs."""
    if isinstance(value, str) and value and value[0] in (*_FORMULA_CHARS, "\t", "\r"):
        return "'" + value
    return value


def _bool_text(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


def pupil_cells(pupil: Pupil) -> list[Any]:
    """One pupil as a roster line in ``COLUMNS`` order (codes written as their names)."""
    label = codes.label
    guardians = sorted(pupil.guardians.all(), key=lambda g: g.order)[:2]
    line: list[Any] = [
        pupil.school.code,
        pupil.name,
        pupil.former_name,
        label("sex", pupil.sex),
        pupil.birth_date,
        label("id_type", pupil.id_type),
        pupil.id_number,
        label("ethnicity", pupil.ethnicity),
        label("nationality", pupil.nationality),
        label("hmt", pupil.hmt),
        pupil.hukou_division_id or "",
        label("hukou_nature", pupil.hukou_nature) if pupil.hukou_nature else "",
        pupil.grade,
        pupil.school_class.number if pupil.school_class_id else "",
        pupil.enrolled_on,
        label("boarding", pupil.boarding),
        label("health", pupil.health),
        label("left_behind", pupil.left_behind),
        label("migrant", pupil.migrant),
    ]
    for n in (1, 2):
        g = guardians[n - 1] if len(guardians) >= n else None
        line += (
            [g.name, label("relation", g.relation), label("id_type", g.id_type), g.id_number, _bool_text(g.is_guardian)]
            if g
            else ["", "", "", "", ""]
        )
    return [neutralise(v) for v in line]


#: Columns written as text cells (no scientific notation, leading zeros kept).
_TEXT_KEYS = {"school_code", "id_number", "g1_id_number", "g2_id_number", "hukou_division"}
_DATE_KEYS = {"birth_date", "enrolled_on"}


def _workbook_lines(sheet, lines: Iterable[list[Any]]) -> int:
    """Append header + lines to a write-only sheet with text and date cell formats."""
    from openpyxl.cell import WriteOnlyCell

    text_positions = {i for i, c in enumerate(COLUMNS) if c.key in _TEXT_KEYS}
    date_positions = {i for i, c in enumerate(COLUMNS) if c.key in _DATE_KEYS}
    sheet.append(HEADERS)
    count = 0
    for line in lines:
        out = []
        for index, value in enumerate(line):
            if index in text_positions or index in date_positions:
                cell = WriteOnlyCell(sheet, value="" if value is None else value)
                cell.number_format = "yyyy-mm-dd" if index in date_positions else "@"
                if index in text_positions:
                    cell.data_type = "s"
                out.append(cell)
            else:
                out.append(value)
        sheet.append(out)
        count += 1
    return count


def _export_workbook(user, filters: RosterFilter) -> tuple[bytes, int]:
    import openpyxl

    pupils = roster_pupils(user, filters)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(gettext("花名册"))
    count = _workbook_lines(sheet, (pupil_cells(p) for p in pupils.iterator(chunk_size=2000)))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), count


def _export_file_name(filters: RosterFilter) -> str:
    parts = [filters.county or filters.school, f"{filters.grade}年级" if filters.grade else "",
             f"{filters.class_number}班" if filters.class_number else ""]
    return "花名册_" + "_".join(p for p in parts if p) + f"_{timezone.localdate():%Y%m%d}.xlsx"


def _export_record(user, filters: RosterFilter, request_id: str, **fields) -> RosterExport:
    school, scope_code, unit_code = _unit_of(user)
    return RosterExport.objects.create(
        actor=user if user.is_authenticated else None,
        actor_name=user.get_username(),
        unit_code=unit_code,
        school=school,
        scope_code=scope_code,
        filters=filters.as_dict(),
        request_id=request_id,
        file_name=_export_file_name(filters),
        **fields,
    )


def roster_export(*, user, filters: RosterFilter, request_id: str = "") -> tuple[bytes, str, int]:
    """The 花名册 as xlsx bytes, its file name and its row count; logs an audit row."""
    content, count = _export_workbook(user, filters)
    export = _export_record(user, filters, request_id, row_count=count, finished_at=timezone.now())
    logger.info("roster export user=%s filters=%s rows=%s", user.get_username(), filters.as_dict(), count)
    return content, export.file_name, count


def roster_export_size(user, filters: RosterFilter) -> int:
    """How many pupils the export would hold (refuses a bad filter like the export)."""
    return roster_pupils(user, filters).count()


def roster_export_begin(*, user, filters: RosterFilter, request_id: str = "") -> RosterExport:
    """Record a large export for a worker to build (``roster_export_build``)."""
    rows = roster_export_size(user, filters)
    export = _export_record(user, filters, request_id, row_count=rows, status=RosterExport.Status.RUNNING)
    logger.info("roster export %s queued user=%s filters=%s rows=%s", export.pk, user.get_username(),
                filters.as_dict(), rows)
    return export


def roster_export_build(*, export_id: int) -> RosterExport:
    """Build a queued export's workbook with its exporter's scope as it stands now."""
    export = RosterExport.objects.select_related("actor__membership__school").get(pk=export_id)
    if export.status != RosterExport.Status.RUNNING:
        return export  # a retried task: built or failed already
    filters = RosterFilter(**export.filters)
    try:
        content, count = _export_workbook(export.actor, filters)
        export.file.save(export.file_name, ContentFile(content), save=False)
    except RegistryError as exc:
        return roster_export_fail(export_id=export_id, message=str(exc.message))
    export.row_count = count
    export.status = RosterExport.Status.DONE
    export.finished_at = timezone.now()
    export.save(update_fields=["file", "row_count", "status", "finished_at"])
    logger.info("roster export %s built: %s rows", export.pk, count)
    return export


def roster_export_fail(*, export_id: int, message: str = "") -> RosterExport:
    export = RosterExport.objects.get(pk=export_id)
    export.status = RosterExport.Status.FAILED
    export.error = (message or gettext("生成花名册时出错，请重新导出"))[:500]
    export.finished_at = timezone.now()
    export.save(update_fields=["status", "error", "finished_at"])
    logger.warning("roster export %s failed: %s", export_id, export.error)
    return export


def roster_export_get(user, export_id) -> RosterExport:
    """An export of the user's own, in scope (a workbook is handed only to who asked for it)."""
    try:
        export_id = int(export_id)
    except (TypeError, ValueError):
        export_id = 0
    return get_in_scope(RosterExport.objects.all(), user, pk=export_id, actor=user)


def roster_exports_of(user):
    """The user's own exports built by a worker, newest first (the roster page lists them)."""
    return restrict(RosterExport.objects.filter(actor=user), user).exclude(file="", status=RosterExport.Status.DONE)


def roster_export_ready(user, export_id) -> RosterExport:
    """An export whose workbook is built (its ``file`` can be served), or ``Conflict``."""
    export = roster_export_get(user, export_id)
    if export.status != RosterExport.Status.DONE or not export.file:
        raise Conflict(
            _("花名册尚未生成完毕（%(status)s）") % {"status": export.get_status_display()},
            code="export_not_ready",
            details={"status": export.status},
        )
    return export


def roster_template() -> bytes:
    """The empty template: the headers in order, and a second sheet with the code tables."""
    import openpyxl
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = gettext("花名册")
    sheet.append(HEADERS)
    for index, column in enumerate(COLUMNS, start=1):
        letter = openpyxl.utils.get_column_letter(index)
        sheet.column_dimensions[letter].width = max(10, len(column.header) * 2 + 2)
        sheet.cell(row=1, column=index).font = Font(bold=True)
        if column.key in _TEXT_KEYS:
            for row in range(2, 2002):
                sheet.cell(row=row, column=index).number_format = "@"
    sheet.freeze_panes = "A2"
    tables = workbook.create_sheet(gettext("代码表"))
    tables.append([gettext("代码表"), gettext("代码"), gettext("名称"), gettext("用于列")])
    used_by: dict[str, list[str]] = defaultdict(list)
    for column in COLUMNS:
        table = column.key.split("_", 1)[1] if column.key.startswith("g") and column.key[1].isdigit() else column.key
        if table in codes.TABLE_LABELS:
            used_by[table].append(column.header)
    for table, table_label in codes.TABLE_LABELS.items():
        for code, name in codes.table(table).items():
            tables.append([str(table_label), code, name, "、".join(used_by.get(table, []))])
    for number, name in GRADE_NAMES.items():
        tables.append([gettext("年级"), str(number), str(name), "年级"])
    for value in ("是", "否"):
        tables.append([gettext("是否"), value, value, "家庭成员1是否监护人、家庭成员2是否监护人"])
    notes = workbook.create_sheet(gettext("填写说明"))
    for line in (
        gettext("每行一名学生，表头不要修改；英文列名也可识别。"),
        gettext("代码列可以填写代码或名称，例如 性别 填“1”或“男”，民族 填“01”或“汉族”。"),
        gettext("日期可写成 2015-03-08、2015/3/8、20150308，或使用 Excel 日期单元格；入学年月可写成 2021-09。"),
        gettext("身份证件号、学校标识码请使用文本格式，避免 Excel 把号码变成科学计数法。"),
        gettext("没有身份证号的学生：身份证件类型填“其他”，身份证件号留空。"),
        gettext("户口所在地填写 6 位行政区划代码或完整名称。"),
    ):
        notes.append([line])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


REPORT_HEADERS = ["行号", "结果", "学校标识码", "姓名", "身份证件号", "全国学籍号", "列", "代码", "说明"]


def report_lines(job: RosterImport) -> list[list[str]]:
    """The row report: one line per row, and one per reason for a refused row."""
    lines = []
    for row in load_rows(job):
        base = [row["row"], str(OUTCOME_LABELS.get(row["outcome"], row["outcome"])), row["school_code"], row["name"],
                row["id_number"], row["national_number"]]
        if row["problems"]:
            for p in row["problems"]:
                lines.append(base + [p["column"], p["code"], p["message"]])
        else:
            lines.append(base + ["", "", ""])
    return lines


def report_bytes(job: RosterImport, *, file_format: str = CSV) -> bytes:
    lines = report_lines(job)
    if file_format == XLSX:
        import openpyxl

        workbook = openpyxl.Workbook(write_only=True)
        sheet = workbook.create_sheet(gettext("导入结果"))
        sheet.append(REPORT_HEADERS)
        for line in lines:
            sheet.append([neutralise(v) for v in line])
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(REPORT_HEADERS)
    writer.writerows([[neutralise(v) for v in line] for line in lines])
    return ("\ufeff" + text.getvalue()).encode("utf-8")


def roster_fail(*, job_id: int) -> None:
    """A job whose task crashed: say so on the job instead of leaving it 'running' forever."""
    RosterImport.objects.filter(pk=job_id, status__in=RosterImport.RUNNING).update(
        status=RosterImport.Status.FAILED,
        error={"code": "internal_error", "message": gettext("处理过程中出现系统错误，请重新上传；如仍失败请联系管理员"),
               "field": None},
        finished_at=timezone.now(),
    )
    logger.error("roster job=%s failed", job_id)
