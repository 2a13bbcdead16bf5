"""Celery tasks of the roster (花名册): thin wrappers around ``schools.roster``.

``roster_check_start`` / ``roster_import_start`` decide where an import runs: small files
inline (the user sees the preview at once), larger ones on a worker, queued only after the
job row is committed. The page polls the job's progress either way. ``roster_export_start``
does the same for an export too large to build in the request.
"""

from __future__ import annotations

from typing import NamedTuple

from celery import shared_task
from django.conf import settings
from django.db import transaction

from accounts.audit import acting_as
from kernel.errors import ValidationFailed
from rosters import admission, columns, exporting, jobs
from rosters.models import AdmissionList, RosterExport, RosterImport

__all__ = ["admission_apply_task", "admission_check_task", "roster_check_task", "roster_export_task",
           "roster_import_task"]


@shared_task(name="schools.roster_check", bind=True, max_retries=2, default_retry_delay=5)
def roster_check_task(self, job_id: int) -> str:
    job = RosterImport.objects.select_related("created_by").get(pk=job_id)
    with acting_as(job.created_by, task="roster_check", roster_import=job_id):
        try:
            return jobs.roster_check(job_id=job_id).status
        except OSError as exc:  # storage hiccup: the check writes nothing, so retry it
            raise self.retry(exc=exc) from exc
        except Exception:
            jobs.roster_fail(job_id=job_id)
            raise


@shared_task(name="schools.roster_import", bind=True)
def roster_import_task(self, job_id: int) -> str:
    job = RosterImport.objects.select_related("created_by").get(pk=job_id)
    with acting_as(job.created_by, task="roster_import", roster_import=job_id):
        try:
            return jobs.roster_import_rows(job_id=job_id).status
        except Exception:
            jobs.roster_fail(job_id=job_id)
            raise


def _inline(job: RosterImport) -> bool:
    return job.file_size <= columns.INLINE_MAX_BYTES or getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)


def roster_check_start(job: RosterImport) -> RosterImport:
    """Run the dry run now (small file) or queue it on a worker once the job is committed."""
    if _inline(job):
        return jobs.roster_check(job_id=job.pk)
    transaction.on_commit(lambda: _queue(roster_check_task, job.pk))
    return job


def roster_import_start(job: RosterImport) -> RosterImport:
    if _inline(job):
        return jobs.roster_import_rows(job_id=job.pk)
    transaction.on_commit(lambda: _queue(roster_import_task, job.pk))
    return job


def _queue(task, job_id: int) -> None:
    result = task.delay(job_id)
    RosterImport.objects.filter(pk=job_id).update(task_id=result.id or "")


@shared_task(name="schools.roster_export", bind=True, max_retries=2, default_retry_delay=5)
def roster_export_task(self, export_id: int) -> str:
    export = RosterExport.objects.select_related("actor").get(pk=export_id)
    with acting_as(export.actor, task="roster_export", roster_export=export_id):
        try:
            return exporting.roster_export_build(export_id=export_id).status
        except OSError as exc:
            if self.request.retries < self.max_retries:  # storage hiccup: nothing recorded yet
                raise self.retry(exc=exc) from exc
            exporting.roster_export_fail(export_id=export_id)
            raise
        except Exception:
            exporting.roster_export_fail(export_id=export_id)
            raise


class Exported(NamedTuple):
    """An export answered in the request (``content``) or handed to a worker (``job``)."""

    content: bytes = b""
    file_name: str = ""
    job: RosterExport | None = None


def roster_export_start(*, user, filters: exporting.RosterFilter, request_id: str = "") -> Exported:
    """Build the 花名册 now when it is small; else record it and build it on a worker once
    the row is committed (inline when Celery runs eagerly)."""
    if exporting.roster_export_size(user, filters) <= columns.EXPORT_INLINE_MAX_ROWS:
        content, file_name, _count = exporting.roster_export(user=user, filters=filters, request_id=request_id)
        return Exported(content=content, file_name=file_name)
    job = exporting.roster_export_begin(user=user, filters=filters, request_id=request_id)
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        return Exported(job=exporting.roster_export_build(export_id=job.pk))
    transaction.on_commit(lambda: roster_export_task.delay(job.pk))
    return Exported(job=job)


# --- 招生名单: the same job pattern --------------------------------------------------------

@shared_task(name="rosters.admission_check", bind=True, max_retries=2, default_retry_delay=5)
def admission_check_task(self, admission_id: int) -> str:
    row = AdmissionList.objects.select_related("created_by").get(pk=admission_id)
    with acting_as(row.created_by, task="admission_check", admission_list=admission_id):
        try:
            return admission.admission_check(admission_id=admission_id).state
        except OSError as exc:  # storage hiccup: the preview writes nothing, so retry it
            raise self.retry(exc=exc) from exc
        except Exception:
            admission.admission_fail(admission_id=admission_id)
            raise


@shared_task(name="rosters.admission_apply", bind=True)
def admission_apply_task(self, admission_id: int) -> str:
    row = AdmissionList.objects.select_related("created_by").get(pk=admission_id)
    with acting_as(row.created_by, task="admission_apply", admission_list=admission_id):
        try:
            return admission.admission_apply(admission_id=admission_id).state
        except Exception:
            admission.admission_fail(admission_id=admission_id)
            raise


def _queue_admission(task, admission_id: int) -> None:
    result = task.delay(admission_id)
    AdmissionList.objects.filter(pk=admission_id).update(task_id=result.id or "")


def admission_preview_start(*, user, content: bytes, original_name: str = "") -> AdmissionList:
    """Store a list and preview it now (small file) or on a worker once the row is committed."""
    row = admission.admission_upload(user=user, content=content, original_name=original_name)
    if row.file_size <= columns.INLINE_MAX_BYTES or getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        row = admission.admission_check(admission_id=row.pk)
        if row.state == AdmissionList.State.FAILED:  # checked in the request: answer the refusal itself
            raise ValidationFailed(row.error["message"], code=row.error["code"], field=row.error.get("field"),
                                   details=row.error.get("details"))
        return row
    transaction.on_commit(lambda: _queue_admission(admission_check_task, row.pk))
    return row


def admission_apply_start(*, user, admission_id: int, rows: list[int]) -> AdmissionList:
    """Claim the chosen rows and apply them on a worker (inline when Celery runs eagerly)."""
    row = admission.admission_claim(user=user, admission_id=admission_id, rows=rows)
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        return admission.admission_apply(admission_id=row.pk)
    transaction.on_commit(lambda: _queue_admission(admission_apply_task, row.pk))
    return row
