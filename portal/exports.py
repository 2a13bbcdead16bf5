"""审计记录导出: the audit trail's xlsx export, built by a worker with no row cap.

``audit_export_begin`` records the request (a POST: the write is the audit of the export);
``portal.tasks.audit_export_task`` runs ``audit_export_build``, which reads the rows through
``portal.audit.audit_stream`` — the same scoped, filtered queries as the page — in batches,
reporting its progress on the row. The workbook is handed to the requester and to the
auditors of the same unit; to anyone else the export does not exist (404).
"""

from __future__ import annotations

import logging
import tempfile

from django.core.files import File
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.permissions import can_search_audit, membership_of, require_auditor
from accounts.scope import restrict
from kernel.errors import Conflict, NotFound, RegistryError
from kernel.replica import replica_reads
from portal import audit as audit_trail
from portal.models import AuditExport
from rosters.jobs import unit_of

logger = logging.getLogger("portal")

#: Rows written between two progress updates of the job.
BATCH_ROWS = 2000


def audit_export_begin(*, user, filters: audit_trail.AuditFilter, request_id: str = "") -> AuditExport:
    """Record an export of ``user``'s audit trail matching ``filters`` for a worker (auditors only)."""
    require_auditor(user)
    school, scope_code, unit_code = unit_of(user)
    export = AuditExport.objects.create(
        requested_by=user,
        requested_by_name=user.get_username(),
        unit_code=unit_code,
        school=school,
        scope_code=scope_code,
        filters=filters.as_dict(),
        request_id=request_id,
        file_name=f"audit-{unit_code}-{timezone.localdate():%Y%m%d}.xlsx",
    )
    logger.info("audit export %s queued user=%s filters=%s", export.pk, user.get_username(), export.filters)
    return export


def audit_export_build(*, export_id: int) -> AuditExport:
    """Build a queued export's workbook with its requester's scope as it stands now."""
    export = AuditExport.objects.select_related("requested_by__membership").get(pk=export_id)
    if export.status not in AuditExport.RUNNING_STATES:
        return export  # a retried task: built or failed already
    user = export.requested_by
    filters = audit_trail.AuditFilter.from_query(export.filters)
    try:
        if user is None:
            raise NotFound(gettext("导出人的账号已不存在"))
        with replica_reads():
            total = audit_trail.audit_count(user, filters)
        AuditExport.objects.filter(pk=export_id).update(status=AuditExport.Status.RUNNING, total_rows=total)
        export.status = AuditExport.Status.RUNNING

        def progress(count: int) -> None:
            AuditExport.objects.filter(pk=export_id).update(processed_rows=count)

        with tempfile.TemporaryFile() as out, replica_reads():
            count = audit_trail.audit_workbook(audit_trail.audit_stream(user, filters, chunk_size=BATCH_ROWS), out,
                                               progress=progress, every=BATCH_ROWS)
            out.seek(0)
            export.file.save(export.file_name, File(out), save=False)
    except RegistryError as exc:  # the requester lost the auditor role, or the account is gone
        return audit_export_fail(export_id=export_id, message=str(exc.message))
    export.total_rows = max(total, count)
    export.processed_rows = count
    export.status = AuditExport.Status.DONE
    export.finished_at = timezone.now()
    export.save(update_fields=["file", "total_rows", "processed_rows", "status", "finished_at"])
    logger.info("audit export %s built: %s rows", export.pk, count)
    return export


def audit_export_fail(*, export_id: int, message: str = "") -> AuditExport:
    export = AuditExport.objects.get(pk=export_id)
    export.status = AuditExport.Status.FAILED
    export.error = message or gettext("生成审计记录时出错，请重新导出")
    export.finished_at = timezone.now()
    export.save(update_fields=["status", "error", "finished_at"])
    logger.warning("audit export %s failed: %s", export_id, export.error)
    return export


def _visible(user):
    """The exports ``user`` may see: in scope, and asked for by ``user`` or (for an auditor)
    by someone of the same unit."""
    exports = restrict(AuditExport.objects.all(), user)
    membership = membership_of(user)
    if can_search_audit(user) and membership is not None:
        return exports.filter(unit_code=membership.unit_code)
    return exports.filter(requested_by=user)


def audit_export_get(user, export_id) -> AuditExport:
    """One export the user may see, or ``NotFound`` (never saying whether it exists)."""
    try:
        export_id = int(export_id)
    except (TypeError, ValueError):
        export_id = 0
    export = _visible(user).filter(pk=export_id).first()
    if export is None:
        raise NotFound(_("没有找到该审计记录导出"), code="audit_export_not_found")
    return export


def audit_exports_of(user):
    """The exports the user may see, newest first (the audit page lists them)."""
    return _visible(user).order_by("-id")


def audit_export_ready(user, export_id) -> AuditExport:
    """An export whose workbook is built (its ``file`` can be served), or ``Conflict``."""
    export = audit_export_get(user, export_id)
    if export.status != AuditExport.Status.DONE or not export.file:
        raise Conflict(
            _("审计记录尚未生成完毕（%(status)s）") % {"status": export.get_status_display()},
            code="export_not_ready",
            details={"status": export.status},
        )
    return export
