"""Template filters that show codes as their names: ``{{ pupil.ethnicity|coded:"ethnicity" }}``
shows 汉族, not 01. Officials who work with codes see the code in small type beside it."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from registry import codes, fields

register = template.Library()

#: The audit trail's event labels (pghistory) in words.
AUDIT_LABELS = {
    "insert": _("新增"),
    "update": _("修改"),
    "delete": _("删除"),
}


@register.filter
def coded(value, table: str) -> str:
    """The name of ``value`` in the code table ``table`` (the value itself when unknown)."""
    if value in (None, ""):
        return "—"
    return codes.label(table, str(value))


@register.filter
def coded_small(value, table: str):
    """The name, with the code in small type: 汉族 <small>01</small>."""
    if value in (None, ""):
        return "—"
    return format_html('{} <small class="muted mono">{}</small>', codes.label(table, str(value)), value)


@register.filter
def audit_label(value: str) -> str:
    return AUDIT_LABELS.get(value, value)


@register.filter
def further_fields(pupil) -> list[tuple[object, str]]:
    """The standard's further fields of a pupil as ``(label, value in words)``."""
    return fields.shown_rows(pupil, fields.PUPIL_FIELDS)


@register.filter
def member_details(guardian) -> str:
    """A family member's further fields that are filled, in words: ``工作单位：…；职务：…``."""
    return "；".join(f"{label}：{value}" for label, value in fields.shown_rows(guardian, fields.GUARDIAN_FIELDS,
                                                                             skip_empty=True)) or "—"


@register.filter
def status_code(status: str) -> str:
    """The national 学籍状态 code of a record's status (``01`` for 在读)."""
    return codes.status_code(status)
