"""The roster API and pages: upload → dry run → confirm, errors as {code, message, field}, scope."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from registry.models import Pupil
from rosters.models import RosterExport, RosterImport
from tests.rosters.test_support import fast_passwords, roster_media, roster_row, xlsx_bytes  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords", "roster_media")


def _upload(client, content: bytes, **headers):
    return client.post("/api/v1/rosters/imports", {"file": SimpleUploadedFile("r.xlsx", content)}, **headers)


def test_api_upload_preview_and_confirm(world, client, api_token):
    user = world["a1"].operator
    auth = api_token(user)
    rows = [roster_row(world.school_a1, seq=71), roster_row(world.school_a1, name="坏行", seq=72, sex="火")]
    response = _upload(client, xlsx_bytes(rows), **auth)
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["new_rows"], body["refused_rows"]) == ("checked", 1, 1)
    assert body["refused"][0]["row"] == 3
    assert {p["code"] for p in body["refused"][0]["problems"]} >= {"unknown_code"}

    refused = client.post(f"/api/v1/rosters/imports/{body['id']}/confirm", {"mode": "all_or_nothing"},
                          content_type="application/json", **auth)
    assert refused.status_code == 422
    assert refused.json()["code"] == "rows_refused"
    assert refused.json()["field"] == "mode"

    done = client.post(f"/api/v1/rosters/imports/{body['id']}/confirm", {"mode": "good_rows"},
                       content_type="application/json", **auth)
    assert done.status_code == 202, done.content
    assert (done.json()["status"], done.json()["imported_rows"]) == ("imported", 1)
    again = client.post(f"/api/v1/rosters/imports/{body['id']}/confirm", {"mode": "good_rows"},
                        content_type="application/json", **auth)
    assert (again.status_code, again.json()["code"]) == (409, "not_confirmable")
    report = client.get(f"/api/v1/rosters/imports/{body['id']}/report.csv", **auth)
    assert report.status_code == 200 and "unknown_code" in report.content.decode("utf-8-sig")


def test_api_refuses_a_bad_file_with_a_code(world, client, api_token):
    response = _upload(client, b"%PDF-1.7 not a roster", **api_token(world["a1"].operator))
    assert response.status_code == 422
    assert response.json()["code"] == "file_format" and response.json()["field"] == "file"


def test_outsider_gets_404_for_an_import(world, client, api_token):
    response = _upload(client, xlsx_bytes([roster_row(world.school_a1, seq=73)]), **api_token(world["a1"].operator))
    job_id = response.json()["id"]
    for who in ("b1", "county_b", "other_province", "a2"):
        outsider = client.get(f"/api/v1/rosters/imports/{job_id}", **api_token(world[who].operator))
        assert outsider.status_code == 404, who
        assert "赵小明" not in outsider.content.decode()
    assert client.get(f"/api/v1/rosters/imports/{job_id}", **api_token(world["county_a"].operator)).status_code == 200


def test_api_export_is_scoped_and_audited(world, client, api_token):
    response = client.post("/api/v1/rosters/export", {"school": world.school_b1.code}, content_type="application/json", **api_token(world["a1"].operator))
    assert response.status_code == 200
    log = RosterExport.objects.get()
    assert log.row_count == 0
    response = client.post("/api/v1/rosters/export", {"school": world.school_a1.code}, content_type="application/json", **api_token(world["a1"].operator))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert RosterExport.objects.order_by("-id").first().row_count == 1


def test_the_old_get_addresses_export_nothing(world, client, login, api_token):
    response = client.get("/api/v1/rosters/export", {"school": world.school_a1.code}, **api_token(world["a1"].operator))
    assert response.status_code == 405 and response.json()["code"] == "post_required"
    page = login(world["a1"].operator).get("/schools/roster/export/", {"school": world.school_a1.code, "grade": "3"})
    text = page.content.decode()
    assert page.status_code == 200 and 'data-testid="export-form"' in text and 'name="grade" value="3"' in text
    assert not RosterExport.objects.exists()


def test_a_read_only_role_exports_by_post(world, client, login):
    from accounts.tokens import token_issue
    from tests.factories import make_user

    viewer = make_user("4401060001.viewer", role="viewer", school=world.school_a1)
    _, raw = token_issue(user=viewer)  # a read-only token
    response = client.post("/api/v1/rosters/export", {"school": world.school_a1.code}, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    response = login(viewer).post("/schools/roster/export/", {"school": world.school_a1.code})
    assert response.status_code == 200 and RosterExport.objects.filter(actor=viewer).count() == 2
    assert login(viewer).post("/transfers/new/", {}).status_code == 403  # still no write


def test_pages_upload_preview_confirm(world, login):
    client = login(world["a1"].operator)
    assert client.get("/schools/roster/").status_code == 200
    response = client.post("/schools/roster/", {"file": SimpleUploadedFile("名单.xlsx", xlsx_bytes(
        [roster_row(world.school_a1, seq=81)]))})
    assert response.status_code == 302
    job = RosterImport.objects.get()
    page = client.get(response["Location"])
    assert page.status_code == 200 and "确认导入" in page.content.decode()
    client.post(f"/schools/roster/imports/{job.pk}/confirm/", {"mode": "good_rows"})
    job.refresh_from_db()
    assert job.status == "imported"
    assert Pupil.objects.filter(name="赵小明", school=world.school_a1).exists()
    assert client.get("/schools/roster/template.xlsx").status_code == 200
    assert client.get(f"/schools/roster/imports/{job.pk}/report.xlsx").status_code == 200


def test_page_of_another_schools_import_is_404(world, login):
    client = login(world["a1"].operator)
    client.post("/schools/roster/", {"file": SimpleUploadedFile("r.xlsx", xlsx_bytes([roster_row(world.school_a1, seq=82)]))})
    job = RosterImport.objects.get()
    other = login(world["b1"].operator)
    assert other.get(f"/schools/roster/imports/{job.pk}/").status_code == 404
    assert other.get(f"/schools/roster/imports/{job.pk}/report.csv").status_code == 404
