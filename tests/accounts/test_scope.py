"""Tenancy: users try to read and write the pupils of school B1 (county 440105) from
outside its scope; every attempt is refused without data. Its own users and the units
above it succeed."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from accounts.scope import restrict, scope_of
from registry.models import Pupil
from tests.factories import resident_id

OUTSIDERS = ["a1", "county_a", "other_county", "other_province"]
INSIDERS = ["b1", "county_b", "city", "province"]


def _body(school_code: str) -> dict:
    birth = dt.date(2016, 4, 4)
    return {
        "school_code": school_code,
        "name": "赵小明",
        "sex": "1",
        "birth_date": birth.isoformat(),
        "grade": 3,
        "class_number": 2,
        "enrolled_on": "2022-09-01",
        "id_number": resident_id(birth, "1", seq=321),
        "source": "other",
        "source_reason": "插班注册",
        "guardians": [{"name": "赵大明", "relation": "51", "id_number": resident_id(dt.date(1985, 2, 2), "1")}],
    }


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsider_cannot_read_pupil_page(world, login, who):
    client = login(world[who].operator)
    pupil = world.pupils["b1"]
    response = client.get(f"/pupils/{pupil.national_number}/")
    assert response.status_code == 404
    assert pupil.name not in response.content.decode()


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsider_does_not_find_pupil_in_list(world, login, who):
    client = login(world[who].operator)
    pupil = world.pupils["b1"]
    for query in (pupil.name, pupil.national_number, pupil.id_number):
        response = client.get("/pupils/", {"q": query})
        assert response.status_code == 200
        assert f"/pupils/{pupil.national_number}/" not in response.content.decode()


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsider_cannot_read_pupil_by_api(world, client, api_token, who):
    pupil = world.pupils["b1"]
    headers = api_token(world[who].operator)
    detail = client.get(f"/api/v1/pupils/{pupil.national_number}", **headers)
    assert detail.status_code == 404
    assert detail.json()["code"] == "not_found"
    listing = client.get("/api/v1/pupils", {"q": pupil.id_number}, **headers)
    assert listing.status_code == 200 and listing.json()["items"] == []
    school = client.get(f"/api/v1/schools/{world.school_b1.code}", **headers)
    assert school.status_code == 404


@pytest.mark.parametrize("who", ["a1", "county_a", "other_province"])
def test_outsider_cannot_register_pupil_into_school_b(world, client, api_token, who):
    headers = api_token(world[who].operator)
    response = client.post(
        "/api/v1/pupils", json.dumps(_body(world.school_b1.code)), content_type="application/json", **headers
    )
    assert response.status_code == 422
    assert response.json()["code"] == "school_out_of_scope"
    assert not Pupil.objects.filter(name="赵小明").exists()


def test_anonymous_gets_nothing(world, client):
    pupil = world.pupils["b1"]
    assert client.get("/api/v1/pupils").status_code == 401
    assert client.get(f"/api/v1/pupils/{pupil.national_number}").status_code == 401
    response = client.post("/api/v1/pupils", json.dumps(_body(world.school_b1.code)), content_type="application/json")
    assert response.status_code == 401
    page = client.get(f"/pupils/{pupil.national_number}/")
    assert page.status_code == 302 and "/login/" in page["Location"]


def test_revoked_or_wrong_token_is_refused(world, client, api_token):
    from django.utils import timezone

    from accounts.models import ApiToken

    headers = api_token(world["b1"].operator)
    ApiToken.objects.update(revoked_at=timezone.now())
    assert client.get("/api/v1/pupils", **headers).status_code == 401
    assert client.get("/api/v1/pupils", HTTP_AUTHORIZATION="Bearer nonsense").status_code == 401


@pytest.mark.parametrize("who", INSIDERS)
def test_insiders_read_pupil(world, client, login, api_token, who):
    pupil = world.pupils["b1"]
    page = login(world[who].operator).get(f"/pupils/{pupil.national_number}/")
    assert page.status_code == 200 and pupil.name in page.content.decode()
    api = client.get(f"/api/v1/pupils/{pupil.national_number}", **api_token(world[who].approver))
    assert api.status_code == 200 and api.json()["national_number"] == pupil.national_number


@pytest.mark.parametrize("who", ["b1", "county_b", "province"])
def test_insiders_register_pupil_into_school_b(world, client, api_token, who):
    response = client.post(
        "/api/v1/pupils", json.dumps(_body(world.school_b1.code)), content_type="application/json",
        **api_token(world[who].operator),
    )
    assert response.status_code == 201, response.json()
    assert response.json()["school_code"] == world.school_b1.code


def test_scope_shapes(world):
    assert scope_of(world["b1"].operator).school_id == world.school_b1.pk
    assert scope_of(world["county_b"].operator).prefix == "440105"
    assert scope_of(world["city"].operator).prefix == "4401"
    assert scope_of(world["province"].admin).prefix == "44"


def test_city_sees_both_counties_but_not_other_province(world):
    visible = set(restrict(Pupil.objects.all(), world["city"].operator).values_list("pk", flat=True))
    assert {world.pupils["a1"].pk, world.pupils["b1"].pk} <= visible
    assert world.pupils["x"].pk not in visible


def test_user_without_unit_sees_nothing(world, django_user_model):
    user = django_user_model.objects.create_user("nobody", password="x-123456")
    assert not restrict(Pupil.objects.all(), user).exists()
