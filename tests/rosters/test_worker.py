"""A large roster runs on a real Celery worker: dry run with progress, then the import."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from registry.models import Pupil
from rosters import columns
from rosters.models import RosterImport
from tests.conftest import ensure_reference_data
from tests.rosters.test_support import fast_passwords, roster_row, xlsx_bytes  # noqa: F401

pytestmark = [pytest.mark.celery, pytest.mark.slow, pytest.mark.usefixtures("fast_passwords")]

#: Digits as Chinese numerals: a name holds no digits.
CHINESE_DIGITS = str.maketrans("0123456789", "零一二三四五六七八九")


def _wait(job_id: int, *statuses, timeout: float = 180) -> RosterImport:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = RosterImport.objects.get(pk=job_id)
        if job.status in statuses:
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} still {job.status} ({job.processed_rows}/{job.total_rows})")


@pytest.mark.django_db(transaction=True)
def test_large_import_runs_on_the_worker(celery_worker_process, world, client, api_token, monkeypatch):
    ensure_reference_data()
    monkeypatch.setattr(columns, "INLINE_MAX_BYTES", 0)  # every file counts as large here
    rows = []
    for n in range(600):
        birth = dt.date(2015, 1, 1) + dt.timedelta(days=n)
        rows.append(roster_row(world.school_a1, name="学生" + f"{n:03d}".translate(CHINESE_DIGITS), birth=birth, seq=n % 400 + 1,
                               class_number=str(n % 6 + 1)))
    rows[10]["ethnicity"] = "火星族"
    auth = api_token(world["a1"].operator)
    response = client.post("/api/v1/rosters/imports", {"file": SimpleUploadedFile("big.xlsx", xlsx_bytes(rows))},
                           **auth)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "checking"  # queued, not run in the request
    job = _wait(body["id"], RosterImport.Status.CHECKED, RosterImport.Status.FAILED)
    assert (job.total_rows, job.processed_rows, job.new_rows, job.refused_rows) == (600, 600, 599, 1), job.error
    assert job.task_id
    response = client.post(f"/api/v1/rosters/imports/{job.pk}/confirm", {"mode": "good_rows"},
                           content_type="application/json", **auth)
    assert response.status_code == 202 and response.json()["status"] == "importing"
    job = _wait(job.pk, RosterImport.Status.IMPORTED, RosterImport.Status.FAILED)
    assert job.imported_rows == 599
    assert Pupil.objects.filter(school=world.school_a1, name__startswith="学生").count() == 599
    event = Pupil.pgh_event_model.objects.filter(name="学生零零零").select_related("pgh_context").get()
    assert event.pgh_context.metadata["username"] == world["a1"].operator.username
