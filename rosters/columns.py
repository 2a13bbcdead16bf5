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
from registry.fields import MAX_MEMBERS, MEMBER_LABELS, PUPIL_FIELD_NAMES, PUPIL_FIELDS

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


def member_key(n: int, field: str) -> str:
    """The column key of family member ``n``'s field (``g3_police_reference``)."""
    return f"g{n}_{field}"


def _member_columns(n: int) -> list[Column]:
    """Family member ``n``'s columns: every field of ``registry.fields.MEMBER_LABELS``, in its
    order (家庭成员3姓名 … 家庭成员3公安机关证明编号 … 家庭成员3职务)."""
    return [
        Column(member_key(n, name), f"家庭成员{n}{label}", f"guardians[{n}].{name}",
               (f"guardian{n}_{name}", f"member{n}_{name}"))
        for name, label in MEMBER_LABELS.items()
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
    *(column for n in range(1, MAX_MEMBERS + 1) for column in _member_columns(n)),
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
#: Columns a file must have: the core ones and the first family member's name, relation,
#: identity and 是否监护人. The rest (the further fields, the first member's phone, 状况,
#: police reference and date and 户籍所在地, members 2–4) may be absent: a file made from an
#: older template (two members, fewer columns) is read as before, absent cells empty.
_REQUIRED_MEMBER_FIELDS = ("name", "relation", "id_type", "id_number", "is_guardian")
MEMBER_KEYS = {member_key(n, name) for n in range(1, MAX_MEMBERS + 1) for name in MEMBER_LABELS}
REQUIRED_KEYS = [c.key for c in COLUMNS if c.key not in MEMBER_KEYS and c.key not in PUPIL_FIELD_NAMES] + [
    member_key(1, name) for name in _REQUIRED_MEMBER_FIELDS]
OPTIONAL_KEYS = {c.key for c in COLUMNS} - set(REQUIRED_KEYS)


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
for _n in range(1, MAX_MEMBERS + 1):  # the pupil's column is 户口所在地; a member's is also called so
    HEADER_LOOKUP[fold_header(f"家庭成员{_n}户口所在地")] = member_key(_n, "hukou_division_code")


def column_of(field_name: str | None, members: list[int] | None = None) -> str:
    """The template header a validation problem points at (``guardians[1].name`` → 家庭成员1姓名,
    ``guardians[3].police_reference`` → 家庭成员3公安机关证明编号); always a column the template has.
    ``members`` are the column numbers of the record's members when the line left one empty
    (members 1 and 3 filled: the record's second member is 家庭成员3)."""
    if not field_name:
        return ""
    match = re.match(r"guardians\[(\d)\]\.?(\w*)", field_name)
    column = _COLUMN_BY_FIELD.get(field_name) if match is None else None
    if column is not None:
        return column.header
    if match and 1 <= int(match.group(1)) <= MAX_MEMBERS:
        n = int(match.group(1))
        if members and n <= len(members):  # the i-th member of the record is in columns 家庭成员<members[i-1]>
            n = members[n - 1]
        # 第一监护人 has no column of its own: it is the first member marked 是否监护人
        name = {"is_first_guardian": "is_guardian"}.get(match.group(2), match.group(2))
        return (COLUMN_BY_KEY.get(member_key(n, name)) or COLUMN_BY_KEY[member_key(n, "name")]).header
    if field_name.startswith("guardian"):
        # a rule of the family as a whole (无户籍: the father is missing …): the members' first column
        return COLUMN_BY_KEY[member_key(1, "name")].header
    return ""


def problem(exc: ValidationFailed | RegistryError, *, column: str | None = None,
            members: list[int] | None = None) -> dict:
    return {
        "column": column if column is not None else column_of(exc.field, members),
        "field": exc.field,
        "code": exc.code,
        "message": str(exc.message),
    }
