"""A large roster export (a whole county) is built by a worker: the exporter follows it
on its page or through the API and downloads it; nobody else can."""

from __future__ import annotations

import io
import time

import openpyxl
import pytest

from registry.models import Pupil
from rosters import columns, exporting
from rosters.models import RosterExport
from tests.conftest import ensure_reference_data
from tests.factories import make_pupil
from tests.rosters.test_support import fast_passwords, roster_media  # noqa: F401

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _rows(content: bytes) -> list[tuple]:
    return list(openpyxl.load_workbook(io.BytesIO(content)).worksheets[0].iter_rows(min_row=2, values_only=True))


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def county_pupils(world):
    for n in range(6):
        make_pupil(world.school_a2 if n % 2 else world.school_a1, name=f"县导出{n}")
    return Pupil.objects.filter(county_code="440106").count()


@pytest.fixture
def large(monkeypatch):
    monkeypatch.setattr(columns, "EXPORT_INLINE_MAX_ROWS", 3)


@pytest.mark.usefixtures("fast_passwords", "roster_media", "large")
class TestPages:
    def test_a_county_export_is_built_in_the_background_and_downloaded(
        self, world, county_pupils, login, settings
    ):
        settings.CELERY_TASK_ALWAYS_EAGER = True
        client = login(world["county_a"].approver)
        response = client.post("/schools/roster/export/", {"county": "440106"})
        export = RosterExport.objects.get()
        assert response.status_code == 302 and response.url == f"/schools/roster/exports/{export.pk}/"
        assert (export.status, export.row_count, export.actor) == ("done", county_pupils, world["county_a"].approver)
        page = client.get(response.url)
        assert b'data-testid="export-download"' in page.content
        download = client.get(f"/schools/roster/exports/{export.pk}/download/")
        assert download.status_code == 200 and download["Content-Type"] == XLSX
        assert "attachment" in download["Content-Disposition"]
        assert len(_rows(_body(download))) == county_pupils
        assert export.file.name.startswith("rosters/exports/") and "440106" not in export.file.name
        listing = client.get("/schools/roster/")
        assert b'data-testid="my-exports"' in listing.content

    def test_a_small_export_is_still_built_in_the_request(self, world, login):
        client = login(world["a1"].operator)
        response = client.post("/schools/roster/export/", {"school": world.school_a1.code, "grade": 3})
        assert response.status_code == 200 and response["Content-Type"] == XLSX
        assert RosterExport.objects.get().status == "done" and not RosterExport.objects.get().file

    def test_while_running_the_page_refreshes_and_the_download_waits(self, world, county_pupils, login):
        user = world["county_a"].approver
        export = exporting.roster_export_begin(user=user, filters=exporting.RosterFilter(county="440106"))
        client = login(user)
        page = client.get(f"/schools/roster/exports/{export.pk}/")
        assert b'http-equiv="refresh"' in page.content
        assert client.get(f"/schools/roster/exports/{export.pk}/download/").status_code == 409

    def test_a_failed_export_says_so(self, world, county_pupils, login):
        user = world["county_a"].approver
        export = exporting.roster_export_begin(user=user, filters=exporting.RosterFilter(county="440106"))
        exporting.roster_export_fail(export_id=export.pk)
        page = login(user).get(f"/schools/roster/exports/{export.pk}/")
        assert "生成花名册时出错".encode() in page.content

    def test_only_the_exporter_gets_the_workbook(self, world, county_pupils, login, settings):
        settings.CELERY_TASK_ALWAYS_EAGER = True
        export = exporting.roster_export_build(export_id=exporting.roster_export_begin(
            user=world["county_a"].approver, filters=exporting.RosterFilter(county="440106")).pk)
        assert export.status == "done"
        for user in (world["county_a"].operator, world["city"].approver, world["county_b"].approver,
                     world["a1"].approver):
            client = login(user)
            assert client.get(f"/schools/roster/exports/{export.pk}/").status_code == 404
            assert client.get(f"/schools/roster/exports/{export.pk}/download/").status_code == 404

    def test_a_bad_filter_is_refused_before_any_job(self, world, login):
        response = login(world["county_a"].approver).post("/schools/roster/export/", {"grade": 3})
        assert response.status_code == 422 and not RosterExport.objects.exists()


@pytest.mark.usefixtures("fast_passwords", "roster_media", "large")
def test_api_answers_202_then_the_status_then_the_file(world, county_pupils, client, api_token, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    auth = api_token(world["county_a"].approver)
    response = client.post("/api/v1/rosters/export", {"county": "440106"}, content_type="application/json", **auth)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["rows"] == county_pupils and body["status"] == "done"
    status = client.get(f"/api/v1/rosters/exports/{body['id']}", **auth).json()
    assert status["download_url"] == f"/api/v1/rosters/exports/{body['id']}/file"
    download = client.get(status["download_url"], **auth)
    assert download.status_code == 200 and len(_rows(_body(download))) == county_pupils
    other = api_token(world["county_b"].approver)
    assert client.get(f"/api/v1/rosters/exports/{body['id']}", **other).status_code == 404
    assert client.get(status["download_url"], **other).status_code == 404


@pytest.mark.usefixtures("fast_passwords", "roster_media", "large")
def test_api_download_before_it_is_built_is_409(world, county_pupils, client, api_token):
    user = world["county_a"].approver
    export = exporting.roster_export_begin(user=user, filters=exporting.RosterFilter(county="440106"))
    response = client.get(f"/api/v1/rosters/exports/{export.pk}/file", **api_token(user))
    assert response.status_code == 409 and response.json()["code"] == "export_not_ready"


@pytest.mark.celery
@pytest.mark.slow
@pytest.mark.usefixtures("fast_passwords")
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_builds_the_export(celery_worker_process, world, client, api_token, monkeypatch):
    ensure_reference_data()
    monkeypatch.setattr(columns, "EXPORT_INLINE_MAX_ROWS", 3)
    for n in range(6):
        make_pupil(world.school_a1, name=f"后台{n}")
    expected = Pupil.objects.filter(county_code="440106").count()
    auth = api_token(world["county_a"].approver)
    response = client.post("/api/v1/rosters/export", {"county": "440106"}, content_type="application/json", **auth)
    assert response.status_code == 202 and response.json()["status"] == "running"
    export_id = response.json()["id"]
    deadline = time.time() + 60
    while (status := client.get(f"/api/v1/rosters/exports/{export_id}", **auth).json())["status"] == "running":
        assert time.time() < deadline, "the export is still running"
        time.sleep(0.3)
    assert status["status"] == "done", status
    download = client.get(status["download_url"], **auth)
    assert len(_rows(_body(download))) == expected
