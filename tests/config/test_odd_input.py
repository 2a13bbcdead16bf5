"""Odd input gets a 422 with the reason, never a 500: NUL characters, numbers beyond 64 bits,
over-long values, broken multipart, values only the database can refuse."""

from __future__ import annotations

import json

import pytest

from tests.transfers.chain import apply, submit
from transfers import services


@pytest.fixture
def headers(world, api_token):
    return api_token(world["county_a"].approver)


@pytest.mark.parametrize("path", [
    "/api/v1/pupils?q=%00",
    "/api/v1/pupils?q=a%00b",
    "/api/v1/transfers/99999999999999999999999",
    "/api/v1/pupils?page=99999999999999999999",
    "/api/v1/pupils?q=" + "x" * 2001,
])
def test_odd_query_and_path_values_get_a_422_with_the_code(client, headers, path):
    response = client.get(path, **headers)
    assert response.status_code == 422, response.content[:200]
    assert response.json()["code"] in ("nul_character", "number_too_large", "too_long")


def test_a_nul_in_a_json_string_is_refused(world, client, api_token):
    body = json.dumps({"number": "L1\u0000", "name": "x"})
    response = client.post("/api/v1/progressions/lookup", body, content_type="application/json",
                           **api_token(world["a2"].operator))
    assert response.status_code == 422 and response.json()["code"] == "nul_character"


def test_a_nul_in_a_form_field_is_refused_on_a_page(world, login):
    response = login(world["a2"].operator).get("/progressions/", {"q": "L\x00", "name": "x"})
    assert response.status_code == 422 and "NUL" in response.content.decode()


def test_multipart_without_a_boundary_is_refused(world, client, api_token):
    response = client.generic("POST", "/api/v1/rosters/imports", b"--x\r\n", content_type="multipart/form-data",
                              **api_token(world["a1"].operator))
    assert response.status_code == 422 and response.json()["code"] == "malformed_multipart"


def test_a_value_only_the_database_refuses_is_a_422(world, client, api_token):
    body = json.dumps({"school_year": 40000})
    response = client.post("/api/v1/graduations", body, content_type="application/json",
                           **api_token(world["a1"].operator))
    assert response.status_code == 422, response.content[:300]


def test_an_over_long_reason_is_refused_before_the_step(world):
    transfer = apply(world)
    submit(world, transfer)
    with pytest.raises(Exception) as refused:
        services.transfer_refuse(user=world["county_b"].approver, transfer_id=transfer.pk, reason="理" * 501)
    assert refused.value.code == "too_long" and refused.value.field == "reason"
    transfer.refresh_from_db()
    assert transfer.state == "dest_county"


def test_every_operation_documents_its_error_answers(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "Error" in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert {"401", "403", "404", "409", "422"} <= set(operation["responses"]), (method, path)


def test_pages_carry_the_policy_and_pupil_data_is_never_cached(world, login, client, api_token):
    page = login(world["a1"].operator).get("/")
    assert "script-src 'self'" in page["Content-Security-Policy"] and page["Cache-Control"] == "no-store"
    answer = client.get("/api/v1/pupils", **api_token(world["a1"].operator))
    assert answer["Cache-Control"] == "no-store"


def test_no_template_has_inline_script():
    import re
    from pathlib import Path

    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son(submit|change|click|load)=", re.I)
    offenders = [str(p) for p in Path("templates").rglob("*.html") if inline.search(p.read_text())]
    assert offenders == []
