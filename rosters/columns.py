"""The roster format (花名册): the national columns in their order, the outcomes of a row and
the limits of a file. Import, export, the template and the reports all read this one list."""


from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kernel import identity
from kernel.errors import RegistryError, ValidationFailed
from registry.fields import GUARDIAN_FIELDS, PUPIL_FIELDS

logger = logging.getLogger("rosters")


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
        *(Column(f"g{n}_{f.name}", f"家庭成员{n}{f.label}", f"{g}.{f.name}", (f"guardian{n}_{f.name}",))
          for f in GUARDIAN_FIELDS),
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
    # the standard's further fields, optional in a file (registry.fields)
    *(Column(f.name, f.label, f.name, (f.name,)) for f in PUPIL_FIELDS),
    *_guardian_columns(1),
    *_guardian_columns(2),
]
HEADERS = [c.header for c in COLUMNS]
#: Optional columns of a registration (新生注册) that are not fields of the record: 学生来源
#: and 注册原因, required for a new pupil outside the entry grades (``enrolment.review``).
REGISTRATION_COLUMNS: list[Column] = [
    Column("source", "学生来源", "source", ("source", "student_source")),
    Column("source_reason", "注册原因", "source_reason", ("source_reason", "registration_reason")),
]
COLUMN_BY_KEY = {c.key: c for c in [*COLUMNS, *REGISTRATION_COLUMNS]}
_COLUMN_BY_FIELD = {c.field: c for c in [*COLUMNS, *REGISTRATION_COLUMNS]}
#: Columns a file must have; the second family member and the further fields are optional.
OPTIONAL_KEYS = {f.name for f in PUPIL_FIELDS} | {f"g{n}_{f.name}" for n in (1, 2) for f in GUARDIAN_FIELDS}
REQUIRED_KEYS = [c.key for c in COLUMNS if not c.key.startswith("g2_") and c.key not in OPTIONAL_KEYS]


def fold_header(text: str) -> str:
    """Header as compared: half-width, no spaces or required-marks, lower-case."""
    text = identity.normalize_id_number(str(text or "")).translate({0xFF08: "(", 0xFF09: ")"})
    text = re.sub(r"[*＊]|\(必填\)|\(选填\)", "", text)
    return text.replace("-", "_").lower()


HEADER_LOOKUP: dict[str, str] = {}
for _column in [*COLUMNS, *REGISTRATION_COLUMNS]:
    HEADER_LOOKUP[fold_header(_column.header)] = _column.key
    for _alias in _column.aliases:
        HEADER_LOOKUP[fold_header(_alias)] = _column.key
HEADER_LOOKUP[fold_header("国籍")] = "nationality"
HEADER_LOOKUP[fold_header("班号")] = "class_number"


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
