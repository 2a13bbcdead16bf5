"""Incremental sweeps (增量查重): only the records written since the previous sweep started,
each compared with the whole province through the indexed keys; a full sweep first."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from django.utils import timezone

from duplicates import sweeps
from duplicates.models import DuplicateSweep, PupilMatchKey
from kernel.errors import Conflict
from tests.duplicates.helpers import open_cases, pair_of, pinyin_pair
from tests.factories import make_pupil


def run_all(sweep):
    for index in range(sweep.partitions_total):
        sweeps.sweep_run_partition(sweep_id=sweep.pk, index=index)
    sweep.refresh_from_db()
    return sweep


def full_sweep(world):
    return run_all(sweeps.sweep_start(user=world["province"].admin, province_code="44", partitions=2, dispatch=False))


def incremental(world, partitions: int = 1):
    return run_all(sweeps.sweep_start(user=world["province"].admin, province_code="44", partitions=partitions,
                                      dispatch=False, incremental=True))


def age_keys(*pupils):
    """As if these records had last been written a day ago (before the previous sweep)."""
    PupilMatchKey.objects.filter(pupil__in=pupils).update(changed_at=timezone.now() - dt.timedelta(days=1))


def test_an_incremental_sweep_needs_an_earlier_sweep(world):
    with pytest.raises(Conflict) as caught:
        sweeps.sweep_start(user=world["province"].admin, province_code="44", dispatch=False, incremental=True)
    assert caught.value.code == "sweep_full_first"


def test_a_record_written_since_the_last_sweep_is_compared_with_the_whole_province(world):
    old = make_pupil(world.school_a1, name="李娜", sex="2", birth_date=dt.date(2014, 2, 3), grade=5)
    full = full_sweep(world)
    assert full.cases_found == 0
    new = make_pupil(world.school_b1, name="李纳", sex="2", birth_date=dt.date(2014, 2, 3), grade=5)
    new.guardians.update(id_number=old.guardians.get().id_number)
    new.guardians.get().save()  # a family member's save refreshes the keys too
    sweep = incremental(world)
    assert sweep.mode == DuplicateSweep.Mode.INCREMENTAL and sweep.since == full.started_at
    assert sweep.status == DuplicateSweep.Status.FINISHED and sweep.cases_found == 1
    assert [pair_of(c) for c in open_cases()] == [{old.pk, new.pk}]
    assert sweep.parts.get().records == 1  # only the changed record was read as input


def test_records_unchanged_since_the_last_sweep_are_not_compared_again(world):
    a, b = pinyin_pair(world)
    full_sweep(world)
    open_cases().delete()  # as if the pair had slipped through: only a full sweep looks again
    age_keys(a, b)
    sweep = incremental(world)
    assert sweep.cases_found == 0 and sweep.parts.get().records == 0
    assert full_sweep(world).cases_found == 1


def test_two_changed_records_make_one_case_across_partitions(world):
    full_sweep(world)
    a, b = pinyin_pair(world)
    sweep = incremental(world, partitions=2)
    assert sweep.cases_found == 1
    assert [pair_of(c) for c in open_cases()] == [{a.pk, b.pk}]
    assert incremental(world).cases_found == 0  # a rerun never duplicates the case


def bulk_written_pair(world):
    """李娜 from before the previous sweep, and 李纳 written since in bulk: no keys yet."""
    a, b = pinyin_pair(world)
    age_keys(a)
    PupilMatchKey.objects.filter(pupil=b).delete()
    return a, b


def test_a_partition_run_alone_fills_the_keys_of_rows_written_in_bulk(world):
    full_sweep(world)
    a, b = bulk_written_pair(world)
    sweep = incremental(world, partitions=2)  # each partition as a Celery task runs it
    assert sweep.cases_found == 1 and [pair_of(c) for c in open_cases()] == [{a.pk, b.pk}]


def test_an_inline_incremental_sweep_fills_the_missing_keys_once(world, monkeypatch):
    full_sweep(world)
    a, b = bulk_written_pair(world)
    calls, fill = [], sweeps.match_keys_fill_missing
    monkeypatch.setattr(sweeps, "match_keys_fill_missing", lambda code: calls.append(code) or fill(code))
    sweep = sweeps.sweep_run_inline(user=world["province"].admin, province_code="44", partitions=2,
                                    incremental=True)
    assert calls == ["44"]  # not again in each partition: a look at the whole province each time
    assert sweep.cases_found == 1 and [pair_of(c) for c in open_cases()] == [{a.pk, b.pk}]


def test_the_daily_task_starts_an_incremental_sweep_per_swept_province(world):
    assert sweeps.sweeps_incremental_daily(dispatch=False) == []
    full_sweep(world)
    started = sweeps.sweeps_incremental_daily(dispatch=False)
    assert len(started) == 1
    assert DuplicateSweep.objects.get(pk=started[0]).mode == DuplicateSweep.Mode.INCREMENTAL
    assert sweeps.sweeps_incremental_daily(dispatch=False) == []  # one is running


def test_api_starts_an_incremental_sweep(world, client, api_token):
    admin = world["province"].admin
    headers = api_token(admin)
    body = json.dumps({"province": "44", "partitions": 1, "incremental": True})
    response = client.post("/api/v1/duplicate-sweeps", body, content_type="application/json", **headers)
    assert response.status_code == 409 and response.json()["code"] == "sweep_full_first"
    full_sweep(world)
    response = client.post("/api/v1/duplicate-sweeps", body, content_type="application/json", **headers)
    assert response.status_code == 201
    assert response.json()["mode"] == "incremental" and response.json()["since"]


@pytest.mark.django_db(transaction=True)
def test_incremental_sweep_run_by_a_real_celery_worker(celery_worker_process):
    from provinces.models import Division
    from schools.models import School
    from tests.conftest import ensure_reference_data
    from tests.factories import make_user

    ensure_reference_data()
    county_a, county_b = Division.objects.get(code="440106"), Division.objects.get(code="440105")
    a1 = School.objects.create(code="4401060092", name="天河增量小学", county=county_a, stage="primary")
    b1 = School.objects.create(code="4401050092", name="海珠增量小学", county=county_b, stage="primary")
    admin = make_user("celery.incremental", role="admin", division=Division.objects.get(code="44"))

    class W:
        school_a1, school_b1 = a1, b1

    sweeps.sweep_run_inline(user=admin, province_code="44", partitions=1)
    a, b = pinyin_pair(W)
    sweep = sweeps.sweep_start(user=admin, province_code="44", partitions=2, incremental=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        sweep.refresh_from_db()
        if sweep.status == DuplicateSweep.Status.FINISHED:
            break
        time.sleep(0.5)
    assert sweep.status == DuplicateSweep.Status.FINISHED
    assert [pair_of(c) for c in open_cases()] == [{a.pk, b.pk}]
