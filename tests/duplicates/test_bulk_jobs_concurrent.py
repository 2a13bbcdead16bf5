"""L→G promotion as a job in batches, and bulk jobs at once: two promotions and an identity
check over the same pupils at the same time finish without a deadlock."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from duplicates import identity, promotion
from duplicates.models import PromotionRun
from provinces.models import ProvincePolicy
from registry.models import Pupil
from tests.conftest import ensure_reference_data
from tests.factories import make_pupil


def test_promotion_job_reports_progress_and_refusals(world):
    admin = world["province"].admin
    ok = world.pupils["a1"]
    Pupil.objects.filter(pk=ok.pk).update(identity_status="passed")
    run = promotion.promotion_start(user=admin, pupils=[ok.national_number, "L000", world.pupils["b1"].national_number],
                                    enqueue=False)
    assert run.status == "queued"
    run = promotion.promotion_run(run_id=run.pk, batch_size=1)
    assert (run.status, run.total, run.processed, run.promoted_count, run.refused_count) == ("done", 2, 2, 1, 2)
    assert {r["code"] for r in run.refused} == {"not_found", "identity_unchecked"}
    assert promotion.promotion_run(run_id=run.pk).promoted_count == 1  # a second delivery does nothing


def test_promotion_api_answers_202_and_the_job_is_the_province_admins(world, client, login,
                                                                      django_capture_on_commit_callbacks):
    login(world["province"].admin)
    with django_capture_on_commit_callbacks() as queued:
        response = client.post("/api/v1/promotions-g", "{}", content_type="application/json")
    assert response.status_code == 202 and response.json()["status"] == "queued" and len(queued) == 1
    run_id = response.json()["id"]
    assert client.get(f"/api/v1/promotions-g/{run_id}").json()["status"] == "queued"
    login(world["other_province"].admin)
    assert client.get(f"/api/v1/promotions-g/{run_id}").status_code == 404


def _in_thread(target, errors, **kwargs):
    def run():
        try:
            target(**kwargs)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    return threading.Thread(target=run)


@pytest.mark.slow
def test_two_promotions_and_an_identity_check_at_once_do_not_deadlock(transactional_db, world):
    ensure_reference_data()
    admin = world["province"].admin
    ProvincePolicy.objects.create(province_id="44", identity_min_match_share=0.0)
    pupils = [make_pupil(world.school_a1, name=f"学生{i}") for i in range(120)]
    Pupil.objects.filter(pk__in=[p.pk for p in pupils]).update(identity_status="passed")
    text = "身份证号,姓名,性别,出生日期\n" + "".join(f"{p.id_number},{p.name},1,\n" for p in pupils)
    check = identity.identity_check_upload(user=admin, extract_file=SimpleUploadedFile("e.csv", text.encode()))
    first = promotion.promotion_start(user=admin, enqueue=False)
    second = promotion.promotion_start(user=admin, enqueue=False)
    errors: list[Exception] = []
    old_batch = identity.BATCH_SIZE
    identity.BATCH_SIZE = 7
    try:
        threads = [
            _in_thread(promotion.promotion_run, errors, run_id=first.pk, batch_size=5),
            _in_thread(promotion.promotion_run, errors, run_id=second.pk, batch_size=3),
            _in_thread(identity.identity_check_prepare, errors, run_id=check.pk),
        ]
        started = time.time()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        identity.BATCH_SIZE = old_batch
    assert not errors, errors
    assert time.time() - started < 120
    runs = list(PromotionRun.objects.order_by("pk"))
    assert [r.status for r in runs] == ["done", "done"]
    assert sum(r.promoted_count for r in runs) == Pupil.objects.filter(national_number__startswith="G").count()
    assert Pupil.objects.filter(pk__in=[p.pk for p in pupils], national_number__startswith="G").count() == 120
    check.refresh_from_db()
    assert check.status == "done" and check.passed == 120
