"""The viewer (查询用户) and the auditor (审计员) see their unit's scope and change nothing:
every write of the API and every page POST is refused them."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from accounts.permissions import RECORDED_READ_PATHS
from accounts.tokens import token_issue
from config.api import api
from kernel.errors import Forbidden
from tests.factories import make_user

WRITE_METHODS = ("post", "put", "patch", "delete")
#: Pages a read-only role may post to: its own account (password, second factor, read-only
#: tokens), logging in again or out, the language.
OWN_PAGES = {"/login/", "/logout/", "/i18n/setlang/"}


def _api_writes() -> list[tuple[str, str]]:
    schema = api.get_openapi_schema(path_prefix="/api/v1")
    found = []
    for path, operations in schema["paths"].items():
        for method in operations:
            if method in WRITE_METHODS:
                found.append((method, re.sub(r"\{[^}]+\}", "1", path)))
    return found


def _page_routes(patterns=None, prefix="") -> list[str]:
    routes = []
    for p in patterns if patterns is not None else get_resolver().url_patterns:
        route = str(p.pattern)
        if route.startswith("^") or prefix.startswith(("admin/", "api/")) or route.startswith(("admin/", "api/")):
            continue
        if isinstance(p, URLResolver):
            routes += _page_routes(p.url_patterns, prefix + route)
        elif isinstance(p, URLPattern):
            routes.append("/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: "1" if m.group(1) == "int" else "x1",
                                       prefix + route))
    return sorted(set(routes))


def _recorded_read_page(path: str) -> bool:
    return getattr(resolve(path).func, "recorded_read", False)


#: POSTs that only leave the record of a read (an export): open to a read-only role.
RECORDED_READS = {"/api/v1/rosters/export", "/schools/roster/export/", "/statistics/export/",
                  "/statistics/official/export/", "/audit/exports/"}
#: A peer registry's endpoints: no user at all, only the message's signature (docs/exchange.md).
PEER_ENDPOINTS = {"/api/v1/exchange/messages", "/api/v1/exchange/messages/batch", "/api/v1/exchange/queries"}
API_WRITES = [(m, p) for m, p in _api_writes() if p not in RECORDED_READ_PATHS and p not in PEER_ENDPOINTS]
PAGES = [r for r in _page_routes() if r not in OWN_PAGES and not r.startswith("/account/")
         and not _recorded_read_page(r)]


def test_the_recorded_reads_are_exports_only():
    pages = {r for r in _page_routes() if _recorded_read_page(r)}
    assert pages | RECORDED_READ_PATHS == RECORDED_READS


@pytest.fixture(params=["viewer", "auditor"])
def read_only(request, world):
    return make_user(f"440106.{request.param}", role=request.param, division=world.county_a)


@pytest.fixture
def school_viewer(world):
    return make_user("4401060001.viewer", role="viewer", school=world.school_a1)


def test_the_enumeration_finds_the_writes():
    assert len(API_WRITES) > 30 and ("post", "/api/v1/transfers") in API_WRITES
    assert len(PAGES) > 30 and "/transfers/new/" in PAGES


def test_a_peer_endpoint_takes_nothing_from_a_logged_in_user(client, login, read_only):
    login(read_only)
    for path in PEER_ENDPOINTS:
        response = client.post(path, {}, content_type="application/json")
        assert response.status_code == 422, path  # no signed envelope: refused, whoever is logged in


def test_every_api_write_is_refused_to_a_read_only_role_by_session(client, login, read_only):
    login(read_only)
    for method, path in API_WRITES:
        response = getattr(client, method)(path, {}, content_type="application/json")
        assert response.status_code == 403, (method, path, response.status_code)
        assert response.json()["code"] == "read_only_role", (method, path)


def test_every_api_write_is_refused_to_a_read_only_role_by_token(client, school_viewer):
    _, raw = token_issue(user=school_viewer)
    for method, path in API_WRITES:
        response = getattr(client, method)(path, {}, content_type="application/json",
                                           HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert response.status_code == 403, (method, path)
        assert response.json()["code"] in ("token_read_only", "read_only_role"), (method, path)


def test_a_read_write_token_of_a_viewer_made_before_is_still_refused(client, school_viewer):
    from accounts.models import ApiToken

    _, raw = ApiToken.issue(school_viewer, access=ApiToken.Access.WRITE)  # e.g. issued before a role change
    response = client.post("/api/v1/transfers", {}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 403 and response.json()["code"] == "read_only_role"


def test_every_page_post_is_refused_to_a_read_only_role(client, login, read_only):
    login(read_only)
    for path in PAGES:
        response = client.post(path, {"reason": "x"})
        assert response.status_code == 403, (path, response.status_code)
        assert response.context["error"].code == "read_only_role", path


def test_a_writer_passes_the_guard(client, login, world):
    login(world["county_a"].operator)
    response = client.post("/transfers/new/", {})
    assert response.status_code != 403 or response.context["error"].code != "read_only_role"


def test_the_chain_engine_refuses_a_read_only_role(world, school_viewer):
    from transfers.chain import TRANSFER
    from workflow import engine

    with pytest.raises(Forbidden) as refused:
        engine.move(TRANSFER, user=school_viewer, pk=1, action="approve")
    assert refused.value.code == "read_only_role"


def test_a_viewer_sees_its_scope(client, login, world, school_viewer):
    login(school_viewer)
    assert client.get("/pupils/").status_code == 200
    numbers = {p["national_number"] for p in client.get("/api/v1/pupils").json()["items"]}
    assert numbers == {world.pupils["a1"].national_number}
    assert client.get(f"/pupils/{world.pupils['b1'].national_number}/").status_code == 404


def test_a_viewer_changes_its_own_password(client, login, school_viewer):
    from tests.factories import PASSWORD

    login(school_viewer)
    new = "Viewer-Pass-8812"
    response = client.post("/account/password/", {"old_password": PASSWORD, "new_password1": new,
                                                   "new_password2": new})
    assert response.status_code == 302


def test_a_viewer_issues_itself_a_read_only_token_on_the_page(client, login, school_viewer):
    from accounts.models import ApiToken

    login(school_viewer)
    assert client.post("/account/tokens/", {"access": "read", "days": "30"}).status_code == 200
    assert client.post("/account/tokens/", {"access": "write", "days": "30"}).status_code == 422
    assert list(ApiToken.objects.filter(user=school_viewer).values_list("access", flat=True)) == ["read"]
