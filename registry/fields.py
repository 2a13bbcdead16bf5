"""The fields of the national record beyond the key and core ones (学生信息采集表: 基本信息,
辅助信息, 联系信息, 扩展信息, 交通方式; 家庭成员信息), described once.

Each ``RecordField`` says how a field is entered and checked: a code of a code table
(``code``; the 是否 questions use the table ``yes_no``), free text with its length
(``text``), a phone number (``phone``), a 6-digit postcode (``postcode``), an administrative
division code (``division``) or a distance in kilometres (``distance``). The registration
form, the API schemas, the roster columns, the export, the pupil page and 信息维护 all read
these two lists, so a field added here is carried everywhere. ``docs/record-fields.md``
lists them with their source.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy, gettext_noop

CODE, TEXT, PHONE, POSTCODE, DIVISION, DISTANCE = "code", "text", "phone", "postcode", "division", "distance"


@dataclass(frozen=True)
class RecordField:
    name: str  # the model attribute and the PupilData / GuardianData attribute
    label: str  # the Chinese label (msgid): the roster header as is, translated elsewhere
    kind: str
    table: str = ""  # the code table of a ``code`` field
    max_length: int = 0  # of a ``text`` field
    default: str = ""

    @property
    def verbose_name(self):
        """The label in the user's language."""
        return gettext_lazy(self.label)


#: The pupil's fields of the standard that are not key or core fields, in the form's order.
PUPIL_FIELDS: tuple[RecordField, ...] = (
    # 基本信息
    RecordField("birthplace", gettext_noop("出生地"), DIVISION),
    RecordField("native_place", gettext_noop("籍贯"), DIVISION),
    RecordField("political_status", gettext_noop("政治面貌"), CODE, table="political_status", default="13"),
    RecordField("id_valid_until", gettext_noop("身份证件有效期"), TEXT, max_length=40),
    RecordField("specialty", gettext_noop("特长"), TEXT, max_length=100),
    # 辅助信息
    RecordField("class_seat", gettext_noop("班内学号"), TEXT, max_length=20),
    RecordField("enrolment_mode", gettext_noop("入学方式"), CODE, table="enrolment_mode"),
    # 联系信息
    RecordField("current_address", gettext_noop("现住址"), TEXT, max_length=200),
    RecordField("postal_address", gettext_noop("通信地址"), TEXT, max_length=200),
    RecordField("home_address", gettext_noop("家庭住址"), TEXT, max_length=200),
    RecordField("phone", gettext_noop("联系电话"), PHONE),
    RecordField("postcode", gettext_noop("邮政编码"), POSTCODE),
    # 扩展信息
    RecordField("only_child", gettext_noop("是否独生子女"), CODE, table="yes_no", default="0"),
    RecordField("preschool", gettext_noop("是否受过学前教育"), CODE, table="yes_no", default="0"),
    RecordField("orphan", gettext_noop("是否孤儿"), CODE, table="yes_no", default="0"),
    RecordField("martyr_child", gettext_noop("是否烈士或优抚子女"), CODE, table="yes_no", default="0"),
    RecordField("needs_aid", gettext_noop("是否需要申请资助"), CODE, table="yes_no", default="0"),
    RecordField("one_subsidy", gettext_noop("是否享受一补"), CODE, table="yes_no", default="0"),
    RecordField("disability", gettext_noop("残疾人类型"), CODE, table="disability", default="0"),
    # 交通方式
    RecordField("commute_distance", gettext_noop("上下学距离（公里）"), DISTANCE),
    RecordField("commute_mode", gettext_noop("上下学方式"), CODE, table="commute_mode"),
    RecordField("school_bus", gettext_noop("是否需要乘坐校车"), CODE, table="yes_no", default="0"),
)

#: A family member's fields of the standard beyond name, relation, identity, phone, status
#: and 户口所在地.
GUARDIAN_FIELDS: tuple[RecordField, ...] = (
    RecordField("relation_note", gettext_noop("关系说明"), TEXT, max_length=20),
    RecordField("ethnicity", gettext_noop("民族"), CODE, table="ethnicity"),
    RecordField("employer", gettext_noop("工作单位"), TEXT, max_length=100),
    RecordField("address", gettext_noop("现住址"), TEXT, max_length=200),
    RecordField("job_title", gettext_noop("职务"), TEXT, max_length=50),
)

#: Family members a pupil may have (家庭成员1–4 of the collection form).
MAX_MEMBERS = 4
#: Every field of a family member, in the form's order, with its label (msgid): the one list
#: 信息维护 (``changes.members``) and the roster columns (``rosters.columns``) read.
MEMBER_LABELS: dict[str, str] = {
    "name": gettext_noop("姓名"),
    "relation": gettext_noop("关系"),
    "id_type": gettext_noop("身份证件类型"),
    "id_number": gettext_noop("身份证件号"),
    "phone": gettext_noop("联系电话"),
    "is_guardian": gettext_noop("是否监护人"),
    "vital": gettext_noop("状况"),
    "police_reference": gettext_noop("公安机关证明编号"),
    "police_date": gettext_noop("公安机关证明日期"),
    "hukou_division_code": gettext_noop("户籍所在地"),
    **{f.name: f.label for f in GUARDIAN_FIELDS},
}
MEMBER_FIELDS = tuple(MEMBER_LABELS)

PUPIL_FIELD_BY_NAME = {f.name: f for f in PUPIL_FIELDS}
GUARDIAN_FIELD_BY_NAME = {f.name: f for f in GUARDIAN_FIELDS}
PUPIL_FIELD_NAMES = tuple(PUPIL_FIELD_BY_NAME)
GUARDIAN_FIELD_NAMES = tuple(GUARDIAN_FIELD_BY_NAME)

#: Longest distance a pupil may live from school, in km (the column holds 999.9).
MAX_DISTANCE = Decimal("999.9")


def stored(field: RecordField, value) -> object:
    """A cleaned value as the model stores it: a distance as a Decimal or ``None``, the rest
    (codes, division codes, text) as text."""
    if field.kind == DISTANCE:
        return None if value in (None, "") else Decimal(str(value))
    return "" if value is None else str(value)


def parse_distance(value) -> Decimal | None:
    """``"2.5"`` → ``Decimal("2.5")``; ``None`` for empty, ``ValueError`` for anything else."""
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).strip()).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(str(value)) from exc
    if not Decimal(0) <= number <= MAX_DISTANCE:
        raise ValueError(str(value))
    return number


def pupil_values(data) -> dict[str, object]:
    """The further fields of a checked ``PupilData`` as model values, for a new record."""
    return {f.name: stored(f, getattr(data, f.name)) for f in PUPIL_FIELDS}


def guardian_values(data) -> dict[str, object]:
    """The further fields of a checked ``GuardianData`` as model values."""
    return {f.name: stored(f, getattr(data, f.name)) for f in GUARDIAN_FIELDS}


def form_field(spec: RecordField):
    """The form field of a further field: a choice of its code table, or text that the
    record's rules (``registry.validation.record_field_problems``) check, so the form says
    what the API and the roster say."""
    from django import forms

    from registry import codes

    if spec.kind == CODE:
        return forms.ChoiceField(
            label=spec.verbose_name, required=False, initial=spec.default or None,
            choices=lambda: ([] if spec.default else [("", "—")]) + codes.choices(spec.table),
        )
    widget = forms.TextInput(attrs={"list": "county-divisions", "autocomplete": "off"}) if spec.kind == DIVISION else None
    return forms.CharField(label=spec.verbose_name, required=False, widget=widget)


def schema_fields(specs: tuple[RecordField, ...]) -> dict[str, tuple]:
    """Pydantic field definitions of further fields for an API input schema
    (``pydantic.create_model(..., **schema_fields(PUPIL_FIELDS))``)."""
    from ninja import Field

    out: dict[str, tuple] = {}
    for spec in specs:
        hint = {CODE: f"代码或名称（代码表 {spec.table}）", TEXT: f"不超过{spec.max_length}个字符",
                PHONE: "电话号码", POSTCODE: "6位数字", DIVISION: "行政区划代码", DISTANCE: "公里，最多一位小数"}[spec.kind]
        if spec.kind == DISTANCE:
            out[spec.name] = (float | str | None, Field(None, description=f"{spec.label}：{hint}"))
        else:
            out[spec.name] = (str, Field(spec.default, description=f"{spec.label}：{hint}"))
    return out


def shown(spec: RecordField, value) -> str:
    """A further field's value in words: a code as its name, a division as its full name,
    a distance in km; ``—`` when empty."""
    from provinces.divisions import division_full_name
    from registry import codes

    if value in (None, ""):
        return "—"
    if spec.kind == CODE:
        return codes.label(spec.table, str(value))
    if spec.kind == DIVISION:
        return division_full_name(str(value)) or str(value)
    if spec.kind == DISTANCE:
        return f"{value} km"
    return str(value)


def shown_rows(obj, specs: tuple[RecordField, ...], *, skip_empty: bool = False) -> list[tuple[object, str]]:
    """``(label, value in words)`` of each further field of a pupil or family member."""
    rows = [(spec.verbose_name, shown(spec, getattr(obj, spec.name))) for spec in specs]
    return [row for row in rows if row[1] != "—"] if skip_empty else rows
