"""National code tables (代码表) as loaded from ``fixtures/codes.json``.

Each table maps a code to its Chinese name. Users may give either (``男`` or ``1``,
``汉族`` or ``01``) or an everyday name of ``registry.synonyms`` (``汉``, ``非农业``, ``否``);
``resolve`` turns each into the code.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache

from django.utils.translation import gettext_lazy as _

from kernel.errors import ValidationFailed
from registry.models import CodeItem
from registry.synonyms import synonym_code

TABLE_LABELS = {
    "sex": _("性别"),
    "ethnicity": _("民族"),
    "nationality": _("国籍/地区"),
    "id_type": _("身份证件类型"),
    "hmt": _("港澳台侨外"),
    "health": _("健康状况"),
    "hukou_nature": _("户口性质"),
    "boarding": _("就读方式"),
    "left_behind": _("是否留守儿童"),
    "migrant": _("是否随迁子女"),
    "relation": _("关系"),
    "enrolment_mode": _("入学方式"),
    "disability": _("残疾人类型"),
    "political_status": _("政治面貌"),
    "yes_no": _("是否"),
    "commute_mode": _("上下学方式"),
    "pupil_status": _("学籍状态"),
    "change_kind": _("学籍异动类别"),
}

#: The national 学籍状态 code of each status of a record (table ``pupil_status``); a state
#: the national system does not know (a registration under review, a deleted record) is 99.
STATUS_CODES = {
    "enrolled": "01",
    "suspended": "02",
    "withdrawn": "03",
    "dropped_out": "06",
    "graduated": "07",
    "completed": "08",
    "incomplete": "09",
    "deceased": "11",
    "abroad": "13",
}


def status_code(status: str) -> str:
    """The national 学籍状态 code of a record's ``status``."""
    return STATUS_CODES.get(str(status), "99")


def status_label(status: str) -> str:
    """The national 学籍状态 name of a record's ``status`` (``在读`` …)."""
    return label("pupil_status", status_code(status))

#: Which pupil field is coded by which table.
PUPIL_CODED_FIELDS = {
    "sex": "sex",
    "ethnicity": "ethnicity",
    "nationality": "nationality",
    "id_type": "id_type",
    "hmt": "hmt",
    "health": "health",
    "hukou_nature": "hukou_nature",
    "boarding": "boarding",
    "left_behind": "left_behind",
    "migrant": "migrant",
}


@cache
def table(name: str) -> dict[str, str]:
    """``{code: name}`` of one table."""
    return dict(CodeItem.objects.filter(table=name).values_list("code", "name"))


def choices(name: str) -> list[tuple[str, str]]:
    return list(table(name).items())


def label(name: str, code: str) -> str:
    return table(name).get(code, code)


def resolve(name: str, value, *, field: str | None = None) -> str:
    """The code for ``value`` given as a code or a name; refuses an unknown value."""
    text = str(value).strip() if value is not None else ""
    entries = table(name)
    if text in entries:
        return text
    upper = text.upper()
    if upper in entries:
        return upper
    for code, code_name in entries.items():
        if code_name == text:
            return code
    if text.isdigit() and len(text) < 2 and text.zfill(2) in entries:
        return text.zfill(2)
    code = synonym_code(name, text, entries)
    if code is not None:
        if (used := _SYNONYMS_USED.get()) is not None:
            used.append({"field": field or name, "table": name, "value": text, "code": code,
                         "name": entries[code]})
        return code
    raise ValidationFailed(
        _("%(table)s代码“%(value)s”不在代码表中") % {"table": TABLE_LABELS.get(name, name), "value": text},
        code="unknown_code",
        field=field or name,
    )


_SYNONYMS_USED: ContextVar[list | None] = ContextVar("synonyms_used", default=None)


@contextmanager
def synonyms_used():
    """Collect the values ``resolve`` read through a synonym inside the block: a list of
    ``{"field", "table", "value", "code", "name"}``."""
    used: list[dict] = []
    token = _SYNONYMS_USED.set(used)
    try:
        yield used
    finally:
        _SYNONYMS_USED.reset(token)


def clear_cache(**_signal) -> None:
    table.cache_clear()
