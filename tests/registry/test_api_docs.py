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


def test_every_api_schema_has_its_own_name():
    """The OpenAPI document keys schemas by class name: two ``Schema`` classes of one name
    would make one operation's answer documented as the other's."""
    import ninja

    from config.api import api

    api.get_openapi_schema()  # imports every router's schemas

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = [s for s in subclasses(ninja.Schema) if s.__module__.split(".")[0] in PROJECT_APPS]
    names = [s.__name__ for s in ours]
    assert sorted({n for n in names if names.count(n) > 1}) == []


PROJECT_APPS = {"accounts", "administration", "changes", "config", "duplicates", "enrolment", "kernel", "photos",
                "portal", "provinces", "registry", "reports", "rosters", "schools", "transfers", "workflow"}
