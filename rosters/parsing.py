"""One roster line → a ``PupilData``: dates as registrars type them, codes by code or name,
the family members of the line."""


from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from kernel import identity
from kernel.errors import RegistryError, ValidationFailed
from provinces.divisions import join_division_names
from provinces.models import Division
from registry import codes, nohukou
from registry.fields import GUARDIAN_FIELD_NAMES, MAX_MEMBERS, MEMBER_FIELDS, PUPIL_FIELD_NAMES
from registry.records import GuardianData, PupilData
from registry.synonyms import NO, YES
from rosters.columns import COLUMN_BY_KEY, NEW, REFUSED, member_key, problem
from rosters.reading import Table
from schools.models import GRADE_NAMES, School

logger = logging.getLogger("rosters")


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
_YES = {text.lower() for text in YES}  # the 是否 spellings of registry.synonyms
_NO = {text.lower() for text in NO}
FORMULA_CHARS = ("=", "+", "-", "@")


def _unquote(text: str) -> str:
    """Undo the export's formula-injection guard (a leading ' before = + - @)."""
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_CHARS:
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
    #: The refusals themselves (with their details), in the order of ``problems``.
    refusals: list[RegistryError] = field(default_factory=list)
    #: Values read through a synonym (``registry.synonyms``): what each was read as.
    read_as: list[dict] = field(default_factory=list)
    #: The column number (家庭成员n) of each family member of ``data``, in its order.
    members: list[int] = field(default_factory=list)
    #: A row taken from a dry run's report without its record (refused or unchanged).
    saved: dict = field(default_factory=dict)
    #: What did not stop the row but is said of it: a peer registry not asked (``peer_check_skipped``).
    warnings: list[dict] = field(default_factory=list)

    def refuse(self, exc: RegistryError, *, column: str | None = None) -> None:
        self.problems.append(problem(exc, column=column, members=self.members))
        self.refusals.append(exc)
        self.outcome = REFUSED

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_report(self) -> dict:
        data = self.data
        return {
            "row": self.number,
            "outcome": self.outcome,
            "name": data.name if data else self.saved.get("name", ""),
            "id_number": data.id_number if data else self.saved.get("id_number", ""),
            "school_code": data.school_code if data else self.saved.get("school_code", ""),
            "national_number": self.national_number,
            "problems": self.problems,
            "likely": self.likely,
            "read_as": self.read_as,
            "warnings": self.warnings,
        }


class Divisions:
    """户口所在地 given as a code (2, 4 or 6 digits), a full name or an unambiguous name.

    A city without counties (东莞市 ``4419``) and its county-level unit (``441900``) share
    their names; the name means the county-level unit, where pupils' 户口 is registered.
    """

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
            self._add(join_division_names(reversed(full)), code)
            self._add(name, code)

    def _add(self, name: str, code: str) -> None:
        known = self.by_name.get(name, code)
        if known is not None and known != code and (code.startswith(known) or known.startswith(code)):
            code = max(known, code, key=len)  # a city and its own county-level unit of the same name
        elif name in self.by_name and known != code:
            code = None
        self.by_name[name] = code

    def resolve(self, text: str) -> str | None:
        if text in self.codes:
            return text
        return self.by_name.get(text)


def row_to_record(row: Row, table: Table, divisions: Divisions) -> None:
    """Fill ``row.data`` from its cells; a cell that cannot be read becomes a problem."""
    cells = row.cells
    width = len(cells)
    # Every cell of the line once, stripped and unquoted (a line has a hundred columns).
    values = {key: _unquote(cells[index].strip()) for key, index in table.positions.items() if index < width}

    def cell(key: str) -> str:
        return values.get(key, "")

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

    for key in ("id_number", *(member_key(n, "id_number") for n in range(1, MAX_MEMBERS + 1))):
        if _SCIENTIFIC.match(cell(key)):
            refuse(key, _("%(column)s被 Excel 存成了数字（%(value)s），后几位已丢失；请把该列设为“文本”格式后重新填写")
                   % {"column": COLUMN_BY_KEY[key].header, "value": cell(key)}, "id_number_as_number")

    def division_of(key: str) -> str:
        text = cell(key)
        if not text:
            return ""
        code = divisions.resolve(text) or ""
        if not code:
            refuse(key, _("%(column)s“%(value)s”不是有效的行政区划代码或名称")
                   % {"column": COLUMN_BY_KEY[key].header, "value": text}, "unknown_division")
        return code

    hukou_code = division_of("hukou_division")
    guardians = []
    for n in range(1, MAX_MEMBERS + 1):
        if (member := _member(n, cell, refuse, date_of, division_of)) is not None:
            guardians.append(member)
            row.members.append(n)
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
        **{k: cell(k) for k in PUPIL_FIELD_NAMES},
        guardians=guardians,
        source=cell("source"),
        source_reason=cell("source_reason"),
    )
    # The roster has one 户口所在地 column: for a pupil without hukou (无户籍) it is the first
    # guardian's, which the no-hukou rules require and the pupil's hukou follows.
    if first is not None and not first.hukou_division_code:
        probe = dataclasses.replace(row.data, hmt=_code_or_text("hmt", row.data.hmt),
                                    id_type=_code_or_text("id_type", row.data.id_type))
        if nohukou.is_no_hukou(probe):
            first.hukou_division_code = hukou_code


def _member(n: int, cell, refuse, date_of, division_of) -> GuardianData | None:
    """Family member ``n`` of a line (``None`` when all its cells are empty): 是否监护人 as
    是/否, 状况 by its name (``registry.nohukou.vital_of``), the police date as a date, the
    户籍所在地 as a division code or name; the rest as written, for the record's rules."""
    values = {name: cell(member_key(n, name)) for name in MEMBER_FIELDS}
    if not any(values.values()):
        return None
    is_guardian = True
    if values["is_guardian"]:
        parsed = _parse_bool(values["is_guardian"])
        key = member_key(n, "is_guardian")
        if parsed is None:
            refuse(key, _("%(column)s应填写“是”或“否”，现为“%(value)s”")
                   % {"column": COLUMN_BY_KEY[key].header, "value": values["is_guardian"]}, "bad_boolean")
        else:
            is_guardian = parsed
    return GuardianData(
        **{name: values[name] for name in ("name", "relation", "id_number", "phone", "police_reference",
                                           *GUARDIAN_FIELD_NAMES)},
        id_type=values["id_type"] or "1",
        is_guardian=is_guardian,
        vital=nohukou.vital_of(values["vital"]),
        police_date=date_of(member_key(n, "police_date")),
        hukou_division_code=division_of(member_key(n, "hukou_division_code")),
    )


def _code_or_text(table: str, value: str) -> str:
    try:
        return codes.resolve(table, value)
    except ValidationFailed:
        return value
