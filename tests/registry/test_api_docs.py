"""The integrator contract: OpenAPI docs are served and the documented paths exist."""

from __future__ import annotations

CONTRACT = [
    ("get", "/api/v1/pupils"),
    ("get", "/api/v1/pupils/{national_number}"),
    ("post", "/api/v1/pupils"),
    ("get", "/api/v1/schools"),
    ("get", "/api/v1/divisions"),
    ("post", "/api/v1/transfers"),
    ("get", "/api/v1/transfers"),
    ("get", "/api/v1/transfers/{transfer_id}"),
    ("post", "/api/v1/transfers/{transfer_id}/submit"),
    ("post", "/api/v1/transfers/{transfer_id}/approve"),
    ("post", "/api/v1/transfers/{transfer_id}/refuse"),
    ("post", "/api/v1/transfers/{transfer_id}/cancel"),
]


def test_openapi_docs_are_served(client):
    assert client.get("/api/v1/docs").status_code == 200
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    missing = [(m, p) for m, p in CONTRACT if m not in paths.get(p, {})]
    assert not missing, missing


def test_errors_have_the_one_shape(world, client, api_token):
    response = client.post("/api/v1/pupils", "{}", content_type="application/json", **api_token(world["a1"].operator))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_request" and body["message"] and "field" in body
