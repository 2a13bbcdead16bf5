"""Province sweeps: partitions, idempotent reruns, CleanPair honoured, stale partitions
re-run on resume, and a real Celery worker running two partitions."""

from __future__ import annotations

import datetime as dt
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from duplicates import sweeps
from duplicates.models import CleanPair, DuplicateCase, DuplicateSweep, SweepPartition
from kernel.errors import Conflict, Forbidden
from tests.duplicates.helpers import open_cases, pair_of, pinyin_pair
from tests.factories import make_pupil


def twins(world):
    a = make_pupil(world.school_a1, name="张子涵", sex="1", birth_date=dt.date(2015, 7, 7))
    b = make_pupil(world.school_a1, name="张美玲", sex="2", birth_date=dt.date(2015, 7, 7))
    b.guardians.update(id_number=a.guardians.get().id_number)
    return a, b


def run_all(sweep):
    for index in range(sweep.partitions_total):
        sweeps.sweep_run_partition(sweep_id=sweep.pk, index=index)
    sweep.refresh_from_db()
    return sweep


def test_sweep_finds_the_pinyin_slip_and_not_the_twins(world):
    a, b = pinyin_pair(world)
    twins(world)
    sweep = run_all(sweeps.sweep_start(user=world["province"].admin, province_code="44", partitions=2,
                                         dispatch=False))
    assert sweep.status == DuplicateSweep.Status.FINISHED
    assert sweep.partitions_done == 2 and sweep.cases_found == 1 and sweep.pairs_scored >= 1
    case = open_cases().get()
    assert pair_of(case) == {a.pk, b.pk}
    assert case.source == DuplicateCase.Source.SWEEP and case.score >= 0.6
    assert any("同音" in r for r in case.reasons)


def test_rerun_never_duplicates_nor_reopens_and_honours_clean_pairs(world):
    a, b = pinyin_pair(world)
    c, d = pinyin_pair(world, school_a=world.school_a2, school_b=world.school_b2)
    admin = world["province"].admin
    run_all(sweeps.sweep_start(user=admin, province_code="44", partitions=2, dispatch=False))
    assert open_cases().count() == 2
    rerun = run_all(sweeps.sweep_start(user=admin, province_code="44", partitions=3, dispatch=False))
    assert rerun.cases_found == 0 and open_cases().count() == 2
    first = open_cases().get(pupil_low__in=(a.pk, b.pk))
    first.status, first.resolution = DuplicateCase.Status.RESOLVED, DuplicateCase.Resolution.CHANGE
    first.save()
    second = open_cases().get()
    CleanPair.objects.create(pupil_low_id=second.pupil_low_id, pupil_high_id=second.pupil_high_id)
    second.delete()
    run_all(sweeps.sweep_start(user=admin, province_code="44", partitions=2, dispatch=False))
    assert open_cases().count() == 0  # resolved not reopened, clean pair not flagged
    assert DuplicateCase.objects.count() == 1


def test_only_the_province_admin_starts_a_sweep_and_one_at_a_time(world):
    with pytest.raises(Forbidden):
        sweeps.sweep_start(user=world["county_a"].approver, province_code="44", dispatch=False)
    with pytest.raises(Forbidden):
        sweeps.sweep_start(user=world["other_province"].admin, province_code="44", dispatch=False)
    sweeps.sweep_start(user=world["province"].admin, province_code="44", dispatch=False)
    with pytest.raises(Conflict) as caught:
        sweeps.sweep_start(user=world["province"].admin, province_code="44", dispatch=False)
    assert caught.value.code == "sweep_running"


def test_a_claimed_partition_is_not_run_twice(world):
    pinyin_pair(world)
    sweep = sweeps.sweep_start(user=world["province"].admin, province_code="44", partitions=1, dispatch=False)
    assert sweeps.sweep_run_partition(sweep_id=sweep.pk, index=0) is True
    assert sweeps.sweep_run_partition(sweep_id=sweep.pk, index=0) is False
    assert open_cases().count() == 1


def test_stale_partition_of_a_dead_worker_is_rerun_on_resume(world):
    a, b = pinyin_pair(world)
    admin = world["province"].admin
    reference = run_all(sweeps.sweep_start(user=admin, province_code="44", partitions=2, dispatch=False))
    expected = {(c.pupil_low_id, c.pupil_high_id) for c in open_cases()}
    DuplicateCase.objects.all().delete()

    sweep = sweeps.sweep_start(user=admin, province_code="44", partitions=2, dispatch=False)
    # A worker claimed partition 0 and died an hour ago; partition 1 never ran.
    SweepPartition.objects.filter(sweep=sweep, index=0).update(
        status=SweepPartition.Status.RUNNING, claimed_at=timezone.now() - timedelta(hours=1))
    assert sweeps.sweep_resume(user=admin, sweep_id=sweep.pk, dispatch=False) == [0, 1]
    sweep = run_all(sweep)
    assert sweep.status == DuplicateSweep.Status.FINISHED
    assert {(c.pupil_low_id, c.pupil_high_id) for c in open_cases()} == expected == {(a.pk, b.pk)}
    assert sweep.cases_found == reference.cases_found


def test_a_recently_claimed_partition_is_left_to_its_worker(world):
    sweep = sweeps.sweep_start(user=world["province"].admin, province_code="44", partitions=2, dispatch=False)
    SweepPartition.objects.filter(sweep=sweep, index=0).update(status=SweepPartition.Status.RUNNING,
                                                               claimed_at=timezone.now())
    assert sweeps.sweep_resume(user=world["province"].admin, sweep_id=sweep.pk, dispatch=False) == [1]


@pytest.mark.django_db(transaction=True)
def test_sweep_run_by_a_real_celery_worker_with_two_partitions(celery_worker_process):
    from tests.conftest import ensure_reference_data

    ensure_reference_data()
    from provinces.models import Division
    from schools.models import School
    from tests.factories import make_user

    county_a, county_b = Division.objects.get(code="440106"), Division.objects.get(code="440105")
    a1 = School.objects.create(code="4401060091", name="天河测试小学", county=county_a, stage="primary")
    b1 = School.objects.create(code="4401050091", name="海珠测试小学", county=county_b, stage="primary")
    admin = make_user("celery.admin", role="admin", division=Division.objects.get(code="44"))

    class W:
        school_a1, school_b1 = a1, b1

    a, b = pinyin_pair(W)
    sweep = sweeps.sweep_start(user=admin, province_code="44", partitions=2)
    deadline = time.time() + 60
    while time.time() < deadline:
        sweep.refresh_from_db()
        if sweep.status == DuplicateSweep.Status.FINISHED:
            break
        time.sleep(0.5)
    assert sweep.status == DuplicateSweep.Status.FINISHED
    assert set(sweep.parts.values_list("status", flat=True)) == {"done"}
    assert [pair_of(c) for c in open_cases()] == [{a.pk, b.pk}]


def test_an_empty_province_code_means_the_admins_own_province(world, api_token):
    """Not a 500 from the database: ``"province": ""`` is the admin's province."""
    from django.test import Client

    response = Client(**api_token(world["province"].admin)).post(
        "/api/v1/duplicate-sweeps", {"province": "", "partitions": 1}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["province"] == "44"
