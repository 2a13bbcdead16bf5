"""The identity check and the L→G promotion run on a real Celery worker: the request queues
the job once committed, the worker reports progress and the result."""

from __future__ import annotations

import time

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from duplicates import identity, promotion
from duplicates.models import IdentityCheckRun, PromotionRun
from registry.models import Pupil
from tests.conftest import ensure_reference_data
from tests.factories import make_pupil

pytestmark = [pytest.mark.celery, pytest.mark.slow]


def _wait(model, pk: int, done: tuple[str, ...], timeout: float = 90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        row = model.objects.get(pk=pk)
        if row.status in done:
            return row
        time.sleep(0.2)
    raise AssertionError(f"{model.__name__} {pk} still {row.status}")


def test_identity_check_then_promotion_on_a_worker(transactional_db, celery_worker_process, world):
    ensure_reference_data()
    admin = world["province"].admin
    pupils = [make_pupil(world.school_a1, name=f"学生{i}") for i in range(30)]
    text = "身份证号,姓名,性别,出生日期\n" + "".join(f"{p.id_number},{p.name},1,\n" for p in pupils)
    run = identity.identity_check_upload(user=admin, extract_file=SimpleUploadedFile("e.csv", text.encode()))
    try:
        run = _wait(IdentityCheckRun, run.pk, ("preview", "done", "failed"))
        # 30 of the province's 32 pupils are in the extract: over the 0.9 share, so applied at once.
        assert run.status == "done", run.error_code
        assert (run.checked, run.passed, run.not_found, run.processed) == (32, 30, 2, 32)
        assert Pupil.objects.filter(identity_status="passed").count() == 30
        job = promotion.promotion_start(user=admin)
        job = _wait(PromotionRun, job.pk, ("done", "failed"))
        assert (job.status, job.promoted_count, job.total) == ("done", 30, 30)
        assert Pupil.objects.filter(national_number__startswith="G").count() == 30
    finally:
        default_storage.delete(run.extract.name)
