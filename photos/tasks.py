"""Celery tasks of the bulk photo import (照片批量导入): thin wrappers around ``photos.imports``.

``photo_import_run`` plans the job and fans the matched entries out as a group of
``photo_import_chunk`` tasks that run in parallel; whichever chunk leaves no entry pending
closes the job (a conditional update, so exactly one does). Progress counters live on the
job row and are bumped with ``F()`` by each chunk.
"""

from __future__ import annotations

from celery import group, shared_task

from accounts.audit import acting_as
from photos import imports
from photos.models import PhotoImport

__all__ = ["photo_import_run", "photo_import_chunk"]


@shared_task(name="photos.import_run", bind=True, max_retries=3, default_retry_delay=5)
def photo_import_run(self, job_id: int, chunk_size: int = imports.CHUNK_SIZE) -> int:
    job = PhotoImport.objects.select_related("school", "created_by").filter(pk=job_id).first()
    if job is None:
        return 0
    with acting_as(job.created_by, task="photo_import_run", job=job_id):
        chunks = imports.photo_import_plan(job=job, chunk_size=chunk_size)
        if not chunks:
            imports.photo_import_finish(job=job)
            return 0
    group(photo_import_chunk.s(job_id, ids) for ids in chunks).apply_async()
    return len(chunks)


@shared_task(name="photos.import_chunk", bind=True, max_retries=3, default_retry_delay=5)
def photo_import_chunk(self, job_id: int, entry_ids: list[int]) -> bool:
    job = PhotoImport.objects.select_related("school", "created_by").get(pk=job_id)
    with acting_as(job.created_by, task="photo_import_chunk", job=job_id):
        try:
            return imports.photo_import_chunk(job=job, entry_ids=entry_ids)
        except OSError as exc:  # storage hiccup: the chunk skips what it already decided
            raise self.retry(exc=exc) from exc
