"""Celery task of the portal: the audit-trail export (``portal.exports``), on the ``files`` queue."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import transaction

from accounts.audit import acting_as
from portal import exports
from portal.models import AuditExport

__all__ = ["audit_export_start", "audit_export_task"]


@shared_task(name="portal.audit_export", bind=True, max_retries=2, default_retry_delay=5)
def audit_export_task(self, export_id: int) -> str:
    export = AuditExport.objects.select_related("requested_by").get(pk=export_id)
    with acting_as(export.requested_by, task="audit_export", audit_export=export_id):
        try:
            return exports.audit_export_build(export_id=export_id).status
        except OSError as exc:
            if self.request.retries < self.max_retries:  # storage hiccup: the build starts over
                raise self.retry(exc=exc) from exc
            exports.audit_export_fail(export_id=export_id)
            raise
        except Exception:
            exports.audit_export_fail(export_id=export_id)
            raise


def audit_export_start(*, user, filters, request_id: str = "") -> AuditExport:
    """Record the export and queue it once the row is committed (built at once when Celery
    runs eagerly)."""
    export = exports.audit_export_begin(user=user, filters=filters, request_id=request_id)
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        audit_export_task.apply(args=[export.pk])
        export.refresh_from_db()
        return export

    def queue() -> None:
        result = audit_export_task.delay(export.pk)
        AuditExport.objects.filter(pk=export.pk).update(task_id=result.id or "")

    transaction.on_commit(queue)
    return export
