"""Template filters that show codes as their names: ``{{ pupil.ethnicity|coded:"ethnicity" }}``
shows 汉族, not 01. Officials who work with codes see the code in small type beside it."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from registry import codes

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
