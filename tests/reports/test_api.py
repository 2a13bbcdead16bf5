"""``GET /api/v1/statistics``: the same tables, scoped; documented in the OpenAPI schema."""

from __future__ import annotations

import pytest

from reports import snapshot

pytestmark = pytest.mark.django_db


def _tables(body) -> dict:
    return {t["key"]: t for t in body["tables"]}


def test_county_statistics_over_the_api(world, client, api_token):
    response = client.get("/api/v1/statistics", **api_token(world["county_a"].operator))
    assert response.status_code == 200
    body = response.json()
    assert body["unit"] == {"key": "d:440106", "level": "county", "name": "天河区", "crumbs": []}
    assert body["as_of"] is None
    tables = _tables(body)
    assert tables["children"]["rows"] == [["天河第一小学", 1, 0, 1, "0.0%", "0.0%", 0, 0]]
    assert tables["children"]["links"] == [f"s:{world.school_a1.code}"]
    assert ["在读", 1] in tables["status"]["rows"]
    assert response["Cache-Control"] == "no-store"


def test_division_counts_say_as_of_when(world, client, api_token):
    taken = snapshot.pupil_counts_refresh()
    body = client.get("/api/v1/statistics", {"unit": "d:4401"}, **api_token(world["province"].operator)).json()
    assert body["as_of"] == taken.taken_at.isoformat()
    assert {r[0] for r in _tables(body)["children"]["rows"]} == {"天河区", "海珠区"}


@pytest.mark.parametrize("user_key, unit_key", [
    ("county_b", "d:440106"), ("a1", "s:4401060002"), ("other_province", "d:44"), ("a1", "d:440106")])
def test_foreign_unit_is_404_with_the_code(world, client, api_token, user_key, unit_key):
    response = client.get("/api/v1/statistics", {"unit": unit_key}, **api_token(world[user_key].operator))
    assert response.status_code == 404
    assert response.json()["code"] in ("unit_not_found", "not_found")


def test_bad_period_is_422_naming_the_field(world, client, api_token):
    headers = api_token(world["county_a"].operator)
    body = client.get("/api/v1/statistics", {"date_from": "yesterday"}, **headers).json()
    assert (body["code"], body["field"]) == ("invalid_date", "date_from")
    body = client.get("/api/v1/statistics", {"date_from": "2026-05-01", "date_to": "2026-01-01"}, **headers).json()
    assert (body["code"], body["field"]) == ("period_reversed", "date_from")


def test_anonymous_is_401(client):
    assert client.get("/api/v1/statistics").status_code == 401


def test_statistics_is_documented(client):
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/statistics"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"unit", "date_from", "date_to"}
    assert {"200", "404", "422"} <= set(operation["responses"])


def test_official_comparison_over_the_api(world, client, api_token):
    import io

    import openpyxl

    from reports import official

    workbook = openpyxl.Workbook()
    for row in (["学校标识码", "学校名称", "3年级男", "3年级女"], [world.school_a1.code, "", 2, 2]):
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    official.official_upload(user=world["county_a"].operator, content=buffer.getvalue(), school_year=2026)
    body = client.get("/api/v1/statistics/official", {"school_year": 2026},
                      **api_token(world["county_a"].operator)).json()
    assert body["table"]["rows"] == [["天河第一小学", 1, 4, -3, -2, -1]] and body["uploaded_at"]
    assert body["grades"]["rows"] == [["天河第一小学", 3, 1, 4, -3, -2, -1]]
    body = client.get("/api/v1/statistics/official", {"school_year": 2026}, **api_token(world["city"].operator)).json()
    assert ["天河区", 1, 4, -3, -2, -1] in body["table"]["rows"]
    response = client.get("/api/v1/statistics/official", **api_token(world["a1"].operator))
    assert (response.status_code, response.json()["code"]) == (403, "province_or_city_only")
    response = client.get("/api/v1/statistics/official", {"school_year": 1900}, **api_token(world["city"].operator))
    assert (response.status_code, response.json()["code"]) == (422, "invalid_school_year")



def _sheet(*rows) -> bytes:
    import io

    import openpyxl

    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_official_upload_over_the_api(world, client, api_token):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from reports.models import OfficialFigure, OfficialReturn

    header = ["学校标识码", "学校名称", "3年级男", "3年级女", "7年级男", "7年级女"]
    auth = api_token(world["county_a"].operator)

    def post(content, name="统计.xlsx", **extra):
        return client.post("/api/v1/statistics/official",
                           {"file": SimpleUploadedFile(name, content), "school_year": 2026, **extra}, **auth)

    response = post(_sheet(header, [world.school_a1.code, "", 3, 4, None, None],
                           [world.school_a2.code, "", None, None, 5, 6]))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["county"], body["school_year"], body["row_count"]) == ("440106", 2026, 2)
    assert sorted(OfficialFigure.objects.values_list("grade", "boys", "girls")) == [(3, 3, 4), (7, 5, 6)]

    bad = post(_sheet(header, [world.school_a1.code, "", -1, 4, None, None], ["4401069999", "", 1, 1, None, None],
                      [world.school_a2.code, "", 1, 1, None, None]))
    assert bad.status_code == 422
    error = bad.json()
    assert error["code"] == "official_rows_invalid"
    assert [(d["row"], d["field"], d["code"]) for d in error["details"]] == [
        (2, "3年级男", "official_count_invalid"), (3, "学校标识码", "official_school_unknown"),
        (4, "3年级男", "official_grade_invalid")]
    assert post(b"%PDF-1.4 not a sheet").status_code == 422  # judged by its bytes, not its name
    header_bad = post(_sheet(["学校标识码", "学校名称", "年级", "男", "女"], [world.school_a1.code, "", 3, 1, 1]))
    assert (header_bad.status_code, header_bad.json()["code"]) == (422, "official_header_invalid")
    assert OfficialReturn.objects.count() == 1  # nothing of the refused files

    school = client.post("/api/v1/statistics/official", {"file": SimpleUploadedFile("x.xlsx", _sheet(header))},
                         **api_token(world["a1"].operator))
    assert school.status_code == 403
    assert client.post("/api/v1/statistics/official", {"school_year": 2026}, **auth).status_code == 422


def test_official_upload_is_in_the_schema(client):
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/statistics/official"]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert "201" in operation["responses"]
