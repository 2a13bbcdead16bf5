"""招生名单 on a real Celery worker: a large list is previewed there, and applying always
runs there; a refused apply writes nothing and returns the list to 待确认 with its rows."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from enrolment import receiving
from enrolment.models import Progression
from registry.models import Pupil, PupilStatus
from rosters import columns
from rosters.models import AdmissionList
from tests.conftest import ensure_reference_data
from tests.rosters.test_support import fast_passwords, roster_row, xlsx_bytes  # noqa: F401

pytestmark = [pytest.mark.celery, pytest.mark.slow, pytest.mark.usefixtures("fast_passwords")]


def _wait(admission_id: int, timeout: float = 120) -> AdmissionList:
    deadline = time.time() + timeout
    while time.time() < deadline:
        row = AdmissionList.objects.get(pk=admission_id)
        if not row.is_running:
            return row
        time.sleep(0.5)
    raise AssertionError(f"admission list {admission_id} still {row.state}")


@pytest.mark.django_db(transaction=True)
def test_a_large_list_is_previewed_and_applied_on_the_worker(celery_worker_process, world, graduates, client,
                                                             api_token, monkeypatch):
    ensure_reference_data()
    monkeypatch.setattr(columns, "INLINE_MAX_BYTES", 0)  # every file counts as large here
    rows = [roster_row(world.school_a2, name="新生" + "甲乙丙"[n // 10] + "一二三四五六七八九十"[n % 10], seq=n + 1, grade="7",
                       birth=dt.date(2014, 1, 1) + dt.timedelta(days=n)) for n in range(30)]
    first, second = graduates[0], graduates[1]
    rows += [roster_row(world.school_a2, name=p.name, sex=p.sex, birth=p.birth_date, id_number=p.id_number,
                        grade="7") for p in (first, second)]
    auth = api_token(world["a2"].operator)
    response = client.post("/api/v1/admissions", {"file": SimpleUploadedFile("intake.xlsx", xlsx_bytes(rows))},
                           **auth)
    assert response.status_code == 202 and response.json()["state"] == "previewing"
    listed = _wait(response.json()["id"])
    assert listed.state == "previewed" and listed.task_id
    assert (listed.count("new"), listed.count("graduate")) == (30, 2)

    # 毕业甲 is received by another school meanwhile: the job refuses the whole apply
    card = receiving.graduate_find(user=world["b2"].operator, number=first.id_number, name=first.name)
    receiving.progression_start(user=world["b2"].operator, refs=[card[0].ref])
    chosen = list(range(2, 34))
    answer = client.post(f"/api/v1/admissions/{listed.pk}/apply", json.dumps({"rows": chosen}),
                         content_type="application/json", **auth)
    assert answer.status_code == 202 and answer.json()["state"] == "applying"
    refused = _wait(listed.pk)
    body = client.get(f"/api/v1/admissions/{listed.pk}", **auth).json()
    assert body["state"] == "previewed" and body["error"]["code"] == "admission_rows_refused"
    assert [d["row"] for d in body["error"]["details"]] == [32]
    assert not Pupil.objects.filter(name__startswith="新生").exists()
    assert Progression.objects.filter(school=world.school_a2).count() == 0

    # without that row the apply goes through: 30 new children 待审核, one graduate to 升学
    answer = client.post(f"/api/v1/admissions/{refused.pk}/apply", json.dumps({"rows": [*range(2, 32), 33]}),
                         content_type="application/json", **auth)
    assert answer.status_code == 202
    done = _wait(refused.pk)
    assert done.state == "applied", done.error
    assert Pupil.objects.filter(name__startswith="新生", status=PupilStatus.PENDING).count() == 30
    assert [e.pupil_id for e in Progression.objects.get(school=world.school_a2).entries.all()] == [second.pk]
    event = Pupil.pgh_event_model.objects.filter(name="新生甲一").select_related("pgh_context").get()
    assert event.pgh_context.metadata["username"] == world["a2"].operator.username
