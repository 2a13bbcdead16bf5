"""审计查询: the audit trail of a unit's scope, for its auditors (审计员), with filters and an
xlsx export.

Five kinds of rows, each read through the scope function: changes to pupils in words
(``HistoryEntry``) and field by field (the pghistory events of ``Pupil``, kept by database
triggers whatever wrote the row); lookups of pupils (transfer and 升学 lookups, by the
asking school or of a pupil of the scope's schools); roster exports; and account events
(logins, failed logins, lockouts, account changes). On the page each kind answers at most
``LIMIT`` newest rows for one search; the export (a job, ``portal.exports``) reads the same
queries with no cap.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import AccountEvent
from accounts.permissions import require_auditor
from accounts.scope import restrict
from enrolment.models import GraduateLookup
from registry.models import HistoryEntry, Pupil
from rosters.exporting import neutralise
from rosters.models import RosterExport
from schools.models import School
from transfers.models import TransferLookup

LIMIT = 2000

KINDS = {
    "change": gettext_lazy("学籍变动"),
    "record": gettext_lazy("字段修改"),
    "lookup": gettext_lazy("查询学生"),
    "export": gettext_lazy("花名册导出"),
    "account": gettext_lazy("账号与登录"),
}
RECORD_LABELS = {"insert": gettext_lazy("新增"), "update": gettext_lazy("修改"), "delete": gettext_lazy("删除")}


@dataclass(frozen=True)
class AuditFilter:
    kind: str = ""
    actor: str = ""
    subject: str = ""
    action: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @classmethod
    def from_query(cls, query) -> AuditFilter:
        def day(name):
            try:
                return dt.date.fromisoformat((query.get(name) or "").strip()) if query.get(name) else None
            except ValueError:
                return None

        kind = query.get("kind") or ""
        return cls(kind=kind if kind in KINDS else "", actor=(query.get("actor") or "").strip()[:150],
                   subject=(query.get("subject") or "").strip()[:150], action=(query.get("action") or "").strip()[:32],
                   date_from=day("date_from"), date_to=day("date_to"))

    def as_dict(self) -> dict:
        """The filters that are set, as JSON (``from_query`` reads it back)."""
        values = {"kind": self.kind, "actor": self.actor, "subject": self.subject, "action": self.action,
                  "date_from": self.date_from.isoformat() if self.date_from else "",
                  "date_to": self.date_to.isoformat() if self.date_to else ""}
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class AuditRow:
    at: dt.datetime
    kind: str
    action: str
    actor: str
    unit: str
    subject: str
    detail: str

    @property
    def kind_label(self) -> str:
        return str(KINDS[self.kind])


def _dated(queryset, field: str, f: AuditFilter):
    if f.date_from:
        queryset = queryset.filter(**{f"{field}__date__gte": f.date_from})
    if f.date_to:
        queryset = queryset.filter(**{f"{field}__date__lte": f.date_to})
    return queryset.order_by(f"-{field}")


def _changes(user, f: AuditFilter):
    rows = restrict(HistoryEntry.objects.select_related("pupil"), user)
    if f.actor:
        rows = rows.filter(actor_name=f.actor)
    if f.subject:
        rows = rows.filter(Q(pupil__national_number=f.subject) | Q(pupil__name=f.subject))
    if f.action:
        rows = rows.filter(kind=f.action)
    return [(_dated(rows, "at", f), lambda e: AuditRow(
        e.at, "change", e.kind, e.actor_name, e.unit_code, f"{e.pupil.national_number} {e.pupil.name}", e.summary))]


def _records(user, f: AuditFilter):
    rows = Pupil.pgh_event_model.objects.filter(pgh_obj__in=restrict(Pupil.objects.all(), user).values("pk"))
    rows = rows.select_related("pgh_context")
    if f.actor:
        rows = rows.filter(pgh_context__metadata__username=f.actor)
    if f.subject:
        rows = rows.filter(Q(national_number=f.subject) | Q(name=f.subject))
    if f.action:
        rows = rows.filter(pgh_label=f.action)
    def row(e):
        meta = e.pgh_context.metadata if e.pgh_context_id else {}
        return AuditRow(e.pgh_created_at, "record", str(RECORD_LABELS.get(e.pgh_label, e.pgh_label)),
                        meta.get("username", ""), meta.get("unit", ""), f"{e.national_number} {e.name}",
                        meta.get("url", "") or meta.get("task", ""))

    return [(_dated(rows, "pgh_created_at", f), row)]


def _lookups(user, f: AuditFilter):
    schools = restrict(School.objects.all(), user).values("pk")
    transfer = TransferLookup.objects.filter(
        Q(pk__in=restrict(TransferLookup.objects.all(), user).values("pk")) | Q(origin_school__in=schools)
    ).select_related("school", "origin_school")
    graduate = restrict(GraduateLookup.objects.select_related("school"), user)
    if f.actor:
        transfer, graduate = transfer.filter(actor_name=f.actor), graduate.filter(actor_name=f.actor)
    if f.subject:
        transfer = transfer.filter(Q(name=f.subject) | Q(id_number=f.subject))
        graduate = graduate.filter(Q(name=f.subject) | Q(number=f.subject))
    if f.action not in ("", "transfer_lookup"):
        transfer = transfer.none()
    if f.action not in ("", "graduate_lookup"):
        graduate = graduate.none()
    return [
        (_dated(transfer, "at", f), lambda e: AuditRow(
            e.at, "lookup", "transfer_lookup", e.actor_name, e.school.code, e.name,
            _("转学查询 %(origin)s：找到 %(found)s 条") % {"origin": e.origin_school.name, "found": e.found})),
        (_dated(graduate, "at", f), lambda e: AuditRow(
            e.at, "lookup", "graduate_lookup", e.actor_name, e.school.code, f"{e.number} {e.name}",
            _("升学接收查询：找到 %(found)s 条") % {"found": e.found})),
    ]


def _exports(user, f: AuditFilter):
    rows = restrict(RosterExport.objects.all(), user)
    if f.actor:
        rows = rows.filter(actor_name=f.actor)
    if f.subject or f.action not in ("", "roster_export"):
        rows = rows.none()
    return [(_dated(rows, "at", f), lambda e: AuditRow(
        e.at, "export", "roster_export", e.actor_name, e.unit_code, "",
        _("%(rows)s 行，条件 %(filters)s") % {"rows": e.row_count, "filters": e.filters}))]


def _accounts(user, f: AuditFilter):
    rows = restrict(AccountEvent.objects.all(), user)
    if f.actor:
        rows = rows.filter(actor_username=f.actor)
    if f.subject:
        rows = rows.filter(username=f.subject)
    if f.action:
        rows = rows.filter(action=f.action)
    def row(e):
        detail = " ".join(f"{k}={v}" for k, v in e.details.items())
        return AuditRow(e.created_at, "account", e.get_action_display(), e.actor_username, e.actor_unit, e.username,
                        " ".join(part for part in (e.ip_address or "", detail) if part))

    return [(_dated(rows, "created_at", f), row)]


SOURCES = {"change": _changes, "record": _records, "lookup": _lookups, "export": _exports, "account": _accounts}


def audit_queries(user, f: AuditFilter) -> list[tuple[QuerySet, Callable[[Any], AuditRow]]]:
    """The scoped, filtered querysets (newest first) of the kinds ``f`` asks for, each with
    the function turning one of its objects into an ``AuditRow`` (auditors only). The page
    and the export job both read through these: the filter rules live here only."""
    require_auditor(user)
    queries = []
    for kind, source in SOURCES.items():
        if not f.kind or f.kind == kind:
            queries.extend(source(user, f))
    return queries


def audit_search(user, f: AuditFilter) -> list[AuditRow]:
    """The audit rows of ``user``'s scope matching ``f``, newest first, at most ``LIMIT``
    per kind (the page)."""
    rows = [to_row(e) for queryset, to_row in audit_queries(user, f) for e in queryset[:LIMIT]]
    rows.sort(key=lambda r: r.at, reverse=True)
    return rows


def audit_count(user, f: AuditFilter) -> int:
    """How many rows the export of ``f`` holds (no cap)."""
    return sum(queryset.count() for queryset, _to_row in audit_queries(user, f))


def audit_stream(user, f: AuditFilter, *, chunk_size: int = 2000) -> Iterator[AuditRow]:
    """Every audit row of ``user``'s scope matching ``f``, newest first, with no cap: each
    kind is read in batches of ``chunk_size`` and the kinds are merged by time."""
    streams = [map(to_row, queryset.iterator(chunk_size=chunk_size)) for queryset, to_row in audit_queries(user, f)]
    return heapq.merge(*streams, key=lambda r: r.at, reverse=True)


HEADERS = [gettext_lazy("时间"), gettext_lazy("类别"), gettext_lazy("操作"), gettext_lazy("操作人"),
           gettext_lazy("操作人单位"), gettext_lazy("对象"), gettext_lazy("详情")]


#: Rows per sheet of the export workbook (Excel holds 1,048,576 lines a sheet); the rows
#: after it continue on a further sheet, so the export has no row cap.
SHEET_ROWS = 1_000_000


def audit_workbook(rows: Iterable[AuditRow], out, *, progress: Callable[[int], None] | None = None,
                   every: int = 2000) -> int:
    """Write ``rows`` as an xlsx workbook to the file ``out`` (cells that would be formulas
    are neutralised); ``progress(n)`` is called after every ``every`` rows. The row count."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = None
    count = 0
    for r in rows:
        if count % SHEET_ROWS == 0:
            title = _("审计记录") if count == 0 else f"{_('审计记录')} {count // SHEET_ROWS + 1}"
            sheet = book.create_sheet(title)
            sheet.append([str(h) for h in HEADERS])
        sheet.append([neutralise(v) for v in (timezone.localtime(r.at).strftime("%Y-%m-%d %H:%M:%S"), r.kind_label,
                                              r.action, r.actor, r.unit, r.subject, r.detail)])
        count += 1
        if progress is not None and count % every == 0:
            progress(count)
    if sheet is None:
        book.create_sheet(_("审计记录")).append([str(h) for h in HEADERS])
    book.save(out)
    return count
