"""The bulk photo import through a real Celery worker: parallel chunks, progress, result."""

from __future__ import annotations

import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from photos import imports
from photos.models import PhotoImport
from photos.tasks import photo_import_run
from tests.conftest import ensure_reference_data
from tests.factories import make_pupil
from tests.photos.factory import make_photo, make_zip

pytestmark = [pytest.mark.celery, pytest.mark.slow]



def _cleanup(job: PhotoImport, pupils) -> None:
    default_storage.delete(job.archive.name)
    for pupil in pupils:
        pupil.refresh_from_db()
        if pupil.photo:
            default_storage.delete(pupil.photo.name)


def test_bulk_import_runs_in_parallel_chunks_on_a_real_worker(transactional_db, celery_worker_process, world):
    ensure_reference_data()
    pupils = [make_pupil(world.school_a1, name=f"学生{i}") for i in range(24)]
    entries = {f"三年级/1班/{p.id_number}.jpg": make_photo(seed=i) for i, p in enumerate(pupils[:20])}
    entries[f"{pupils[20].id_number}.jpg"] = make_photo(mode="L")
    entries["readme.txt"] = b"x"
    entries["__MACOSX/._x.jpg"] = b"x"
    job = imports.photo_bulk_start(user=world["a1"].operator, school=world.school_a1,
                                  upload=ContentFile(make_zip(entries, gbk_names=True), name="grade3.zip"),
                                  enqueue=False)
    try:
        photo_import_run.delay(job.pk, chunk_size=4)  # 21 matched entries -> 6 chunk tasks
        seen = set()
        deadline = time.time() + 90
        while time.time() < deadline:
            job.refresh_from_db()
            seen.add(job.processed)
            if job.finished:
                break
            time.sleep(0.05)
        assert job.state == "done", (job.state, job.error_code, job.processed)
        assert (job.total, job.processed, job.accepted, job.refused, job.ignored) == (23, 23, 20, 2, 1)
        assert len(seen) >= 2  # the counters moved while the worker ran
        for pupil in pupils[:20]:
            pupil.refresh_from_db()
            assert pupil.photo and default_storage.exists(pupil.photo.name)
            assert pupil.history.filter(kind="photo_changed").exists()
        codes = {e.entry: e.code for e in job.entries.all()}
        assert codes[f"{pupils[20].id_number}.jpg"] == "photo_grayscale"
        assert codes["readme.txt"] == "photo_name_extension"
        event = pupils[0].pgh_event_model.objects.filter(pgh_obj=pupils[0]).order_by("-pgh_id").first()
        assert event.pgh_context.metadata["username"] == world["a1"].operator.username
        assert event.pgh_context.metadata["task"] == "photo_import_chunk"
    finally:
        _cleanup(job, pupils)
