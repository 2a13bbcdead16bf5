"""身份核验 as a guarded job: the extract's shape, the preview under the policy's share, the
API (202, progress, confirm, undo) and the undo within the day."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from duplicates import identity
from duplicates.models import IdentityCheckRun
from provinces.models import ProvincePolicy
from registry.models import Pupil

HEADER = "身份证号,姓名,性别,出生日期\n"


def upload(text: str, name: str = "extract.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"))


def full_extract(world) -> str:
    a1, b1 = world.pupils["a1"], world.pupils["b1"]
    return HEADER + f"{a1.id_number},李娜,2,2016-05-01\n{b1.id_number},王伟,1,2015-09-09\n"


@pytest.mark.parametrize(("text", "code"), [
    ("", "extract_empty"),
    ("\n \n", "extract_empty"),
    (HEADER, "extract_no_rows"),
    ("学号,班级,年级,备注\n1,2,3,4\n", "extract_columns"),
    (HEADER + "440106201605010021,李娜\n", "extract_columns"),
    (HEADER + "张三,李娜,2,2016-05-01\n", "extract_columns"),
])
def test_a_badly_shaped_extract_is_refused_and_changes_nothing(world, client, login, text, code):
    login(world["province"].admin)
    response = client.post("/api/v1/identity-checks", {"extract_file": upload(text, "公安.csv")})
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == code and body["field"] == "extract_file"
    assert "公安.csv" in body["message"]
    assert not IdentityCheckRun.objects.exists()
    assert set(Pupil.objects.values_list("identity_status", flat=True)) == {"unchecked"}


def test_a_full_extract_is_applied_and_can_be_undone_the_same_day(world):
    admin = world["province"].admin
    a1 = world.pupils["a1"]
    Pupil.objects.filter(pk=a1.pk).update(identity_status="failed", identity_note="身份证号不存在")
    run = identity.identity_check_run(user=admin, extract_file=upload(full_extract(world)))
    assert (run.status, run.checked, run.passed, run.processed, run.total) == ("done", 2, 2, 2, 2)
    assert run.changes.count() == 2
    a1.refresh_from_db()
    assert a1.identity_status == "passed"
    run = identity.identity_check_undo(user=admin, run_id=run.pk)
    assert run.status == "undoing"
    run = identity.identity_check_restore(run_id=run.pk)
    assert run.status == "undone"
    a1.refresh_from_db()
    world.pupils["b1"].refresh_from_db()
    assert (a1.identity_status, a1.identity_note) == ("failed", "身份证号不存在")
    assert world.pupils["b1"].identity_status == "unchecked"


def test_an_extract_matching_under_the_share_waits_for_confirmation(world):
    admin = world["province"].admin
    a1 = world.pupils["a1"]
    run = identity.identity_check_run(user=admin, extract_file=upload(HEADER + f"{a1.id_number},李娜,2,\n"))
    assert run.status == "preview"
    assert (run.checked, run.passed, run.not_found) == (2, 1, 1)
    assert run.match_share == 0.5 and run.threshold == 0.9
    assert set(Pupil.objects.values_list("identity_status", flat=True)) == {"unchecked"}  # nothing written
    with pytest.raises(identity.Conflict) as refused:
        identity.identity_check_undo(user=admin, run_id=run.pk)
    assert refused.value.code == "identity_check_not_done"
    run = identity.identity_check_confirm(user=admin, run_id=run.pk)
    assert run.confirmed_by == admin and run.status == "applying"
    run = identity.identity_check_apply(run_id=run.pk)
    assert run.status == "done"
    world.pupils["b1"].refresh_from_db()
    assert world.pupils["b1"].identity_status == "failed"
    with pytest.raises(identity.Conflict) as again:
        identity.identity_check_confirm(user=admin, run_id=run.pk)
    assert again.value.code == "identity_check_not_preview"


def test_the_share_is_the_province_policy(world):
    ProvincePolicy.objects.create(province_id="44", identity_min_match_share=0.4)
    a1 = world.pupils["a1"]
    run = identity.identity_check_run(user=world["province"].admin,
                                      extract_file=upload(HEADER + f"{a1.id_number},李娜,2,\n"))
    assert run.status == "done"


def test_undo_only_on_the_day_and_only_the_latest(world):
    admin = world["province"].admin
    with time_machine.travel(dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC), tick=False):
        first = identity.identity_check_run(user=admin, extract_file=upload(full_extract(world)))
        second = identity.identity_check_run(user=admin, extract_file=upload(full_extract(world)))
        with pytest.raises(identity.Conflict) as not_latest:
            identity.identity_check_undo(user=admin, run_id=first.pk)
        assert not_latest.value.code == "identity_undo_not_latest"
    with time_machine.travel(dt.datetime(2026, 11, 3, 10, 0, tzinfo=dt.UTC), tick=False):
        with pytest.raises(identity.Conflict) as expired:
            identity.identity_check_undo(user=admin, run_id=second.pk)
        assert expired.value.code == "identity_undo_expired"


def test_the_job_is_for_the_province_admin_of_its_own_province(world, client, login):
    run = identity.identity_check_run(user=world["province"].admin, extract_file=upload(full_extract(world)))
    login(world["other_province"].admin)
    for url in (f"/api/v1/identity-checks/{run.pk}", f"/api/v1/identity-checks/{run.pk + 1000}"):
        assert client.get(url).status_code == 404
    assert client.post(f"/api/v1/identity-checks/{run.pk}/undo").status_code == 404
    login(world["county_a"].approver)
    response = client.post("/api/v1/identity-checks", {"extract_file": upload(full_extract(world))})
    assert response.status_code == 403


def test_api_answers_202_then_progress_and_undo(world, client, login, django_capture_on_commit_callbacks):
    """The request queues the job on commit (a worker runs the task; here the tasks run in turn)."""
    from duplicates import tasks

    login(world["province"].admin)
    with django_capture_on_commit_callbacks() as queued:
        response = client.post("/api/v1/identity-checks", {"extract_file": upload(full_extract(world))})
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "checking" and len(queued) == 1
    run_id = response.json()["id"]
    tasks.identity_check_prepare_task(run_id)
    detail = client.get(f"/api/v1/identity-checks/{run_id}").json()
    assert (detail["status"], detail["passed"], detail["processed"], detail["match_share"]) == ("done", 2, 2, 1.0)
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(f"/api/v1/identity-checks/{run_id}/undo")
    assert response.status_code == 202 and len(queued) == 1
    tasks.identity_check_restore_task(run_id)
    assert client.get(f"/api/v1/identity-checks/{run_id}").json()["status"] == "undone"
    response = client.post(f"/api/v1/identity-checks/{run_id}/undo")
    assert response.status_code == 409 and response.json()["code"] == "identity_check_not_done"
