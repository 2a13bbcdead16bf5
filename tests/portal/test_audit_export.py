"""审计记录导出: the audit trail's export is a job started by a POST (recorded), built by a
worker through the same scoped queries as the page with no row cap, and handed to the
requester and the auditors of the same unit only."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from accounts.models import AccountEvent
from portal import audit as audit_trail
from portal import exports
from portal.models import AuditExport
from portal.tasks import audit_export_task
from tests.factories import make_user
from tests.portal.test_audit import trail  # noqa: F401

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
pytestmark = pytest.mark.usefixtures("trail")


@pytest.fixture
def auditor(world):
    return make_user("440106.auditor", role="auditor", division=world.county_a)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def eager(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True


def _lines(response) -> list[tuple]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(load_workbook(io.BytesIO(body)).worksheets[0].iter_rows(min_row=2, values_only=True))


@pytest.mark.usefixtures("eager")
def test_the_auditor_starts_the_export_and_downloads_the_rows_of_its_scope(client, login, auditor, world,
                                                                           monkeypatch):
    monkeypatch.setattr(audit_trail, "LIMIT", 1)  # the page's cap; the export has none
    login(auditor)
    response = client.post("/audit/exports/", {"kind": "account"})
    export = AuditExport.objects.get()
    assert response.status_code == 302 and response.url == f"/audit/exports/{export.pk}/"
    assert (export.status, export.requested_by, export.unit_code, export.filters) == (
        "done", auditor, "440106", {"kind": "account"})
    in_scope = AccountEvent.objects.filter(division_code="440106").count()
    assert in_scope > 1 and export.total_rows == export.processed_rows == in_scope
    page = client.get(response.url)
    assert b'data-testid="export-download"' in page.content
    download = client.get(f"/audit/exports/{export.pk}/download/")
    assert download.status_code == 200 and download["Content-Type"] == XLSX
    lines = _lines(download)
    assert len(lines) == in_scope
    subjects = {line[5] for line in lines}
    assert world["a1"].operator.username in subjects and world["b1"].operator.username not in subjects
    assert export.file.name.startswith("audit/exports/") and "440106" not in export.file.name


@pytest.mark.usefixtures("eager")
def test_the_export_holds_every_kind_of_the_scope_newest_first(client, login, auditor, world):
    login(auditor)
    client.post("/audit/exports/", {})
    export = AuditExport.objects.get()
    lines = _lines(client.get(f"/audit/exports/{export.pk}/download/"))
    text = " ".join(str(cell) for line in lines for cell in line)
    assert "修改家庭住址" in text and "李娜" in text and "海珠的变动" not in text and "王伟" not in text
    assert world.pupils["b1"].national_number not in text
    assert [line[0] for line in lines] == sorted((line[0] for line in lines), reverse=True)
    assert len(lines) == len(audit_trail.audit_search(auditor, audit_trail.AuditFilter()))


def test_starting_is_recorded_and_a_worker_builds_it_in_batches(client, login, auditor, monkeypatch,
                                                               django_capture_on_commit_callbacks):
    monkeypatch.setattr(exports, "BATCH_ROWS", 2)
    queued = []
    monkeypatch.setattr(audit_export_task, "delay", lambda pk: queued.append(pk) or type("R", (), {"id": "t1"})())
    login(auditor)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/audit/exports/", {"kind": "account", "date_from": "2020-01-01"})
    export = AuditExport.objects.get()
    assert queued == [export.pk] and export.status == "queued" and export.task_id == "t1"
    assert export.filters == {"kind": "account", "date_from": "2020-01-01"}
    event = AuditExport.pgh_event_model.objects.get(pgh_obj=export, pgh_label="insert")
    assert event.pgh_context.metadata["username"] == auditor.username
    assert event.pgh_context.metadata["url"] == "/audit/exports/"
    status = client.get(f"/audit/exports/{export.pk}/status/").json()
    assert status["running"] is True and status["status"] == "queued"

    assert audit_export_task.apply(args=[export.pk]).get() == "done"
    export.refresh_from_db()
    assert export.status == "done" and export.processed_rows == export.total_rows >= 3
    assert export.finished_at is not None
    status = client.get(f"/audit/exports/{export.pk}/status/").json()
    assert (status["running"], status["percent"], status["processed_rows"]) == (False, 100, export.total_rows)
    labels = list(AuditExport.pgh_event_model.objects.filter(pgh_obj=export).values_list("status", flat=True))
    assert labels == ["queued", "running", "done"]  # the status changes, not each batch
    assert audit_export_task.apply(args=[export.pk]).get() == "done"  # a retried task rebuilds nothing


@pytest.mark.usefixtures("eager")
def test_other_units_cannot_see_or_download_the_export(client, login, auditor, world):
    login(auditor)
    client.post("/audit/exports/", {})
    export = AuditExport.objects.get()
    urls = [f"/audit/exports/{export.pk}/", f"/audit/exports/{export.pk}/status/",
            f"/audit/exports/{export.pk}/download/"]
    foreign = make_user("440105.auditor", role="auditor", division=world.county_b)
    city = make_user("4401.auditor", role="auditor", division=world.city)
    for outsider in (foreign, city, world["county_a"].operator):
        login(outsider)
        assert [client.get(url).status_code for url in urls] == [404, 404, 404], outsider
        assert f"/audit/exports/{export.pk}/".encode() not in client.get("/audit/").content
    assert client.get("/audit/exports/abc/").status_code == 404
    colleague = make_user("440106.auditor2", role="auditor", division=world.county_a)
    login(colleague)
    assert f"/audit/exports/{export.pk}/".encode() in client.get("/audit/").content
    assert client.get(urls[2]).status_code == 200


@pytest.mark.parametrize("who", ["viewer", "operator"])
def test_only_auditors_start_an_export(client, login, world, who, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    user = (make_user("440106.viewer", role="viewer", division=world.county_a) if who == "viewer"
            else world["county_a"].operator)
    login(user)
    response = client.post("/audit/exports/", {"kind": "account"})
    assert response.status_code == 403 and response.context["error"].code == "auditor_only"
    assert not AuditExport.objects.exists()


def test_a_get_of_the_audit_page_starts_nothing(client, login, auditor):
    login(auditor)
    response = client.get("/audit/", {"kind": "account", "export": "xlsx"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert b'action="/audit/exports/"' in response.content and b'name="kind" value="account"' in response.content
    assert client.get("/audit/exports/").status_code == 405
    assert not AuditExport.objects.exists()


def test_a_requester_who_lost_the_role_gets_a_failed_export(client, login, auditor, world):
    export = exports.audit_export_begin(user=auditor, filters=audit_trail.AuditFilter())
    auditor.membership.role = "viewer"
    auditor.membership.save()
    assert audit_export_task.apply(args=[export.pk]).get() == "failed"
    export.refresh_from_db()
    assert export.status == "failed" and "审计员" in export.error and not export.file
    login(auditor)
    page = client.get(f"/audit/exports/{export.pk}/")
    assert page.status_code == 200 and b'data-testid="export-error"' in page.content
    assert client.get(f"/audit/exports/{export.pk}/download/").status_code == 409


@pytest.mark.browser
def test_the_export_page_follows_the_job_and_shows_how_it_ended(world, auditor, browser_login):
    """The one progress script (``static/js/job-progress.js``) shows the rows written while
    the job runs and reloads the page when it has ended."""
    export = AuditExport.objects.create(requested_by=auditor, requested_by_name=auditor.username,
                                        unit_code="440106", scope_code="440106", status=AuditExport.Status.RUNNING,
                                        total_rows=10, processed_rows=3)
    page = browser_login(auditor)
    page.goto(f"/audit/exports/{export.pk}/")
    assert page.inner_text("[data-testid=export-processed]") == "3"
    AuditExport.objects.filter(pk=export.pk).update(processed_rows=7)
    page.wait_for_selector("[data-testid=export-processed]:text-is('7')")  # CSP: no script from the test
    assert page.get_attribute("[data-testid=progress]", "aria-valuenow") == "70"
    AuditExport.objects.filter(pk=export.pk).update(status=AuditExport.Status.FAILED, error="磁盘已满")
    page.wait_for_selector("[data-testid=export-error]")
    assert "磁盘已满" in page.inner_text("[data-testid=export-error]")
