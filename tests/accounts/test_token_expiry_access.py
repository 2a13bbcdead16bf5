"""API tokens: an expiry and an access (read-only or read-write) chosen at issue."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from accounts.models import AccountEvent, ApiToken
from accounts.tokens import token_issue
from kernel.errors import ValidationFailed


def _bearer(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def operator(world):
    return world["a1"].operator


def test_an_expired_token_is_refused_with_its_own_code(client, operator):
    _, raw = token_issue(user=operator, days=1)
    assert client.get("/api/v1/me", **_bearer(raw)).status_code == 200
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=1, minutes=1)):
        response = client.get("/api/v1/me", **_bearer(raw))
    assert response.status_code == 401 and response.json()["code"] == "token_expired"


def test_a_read_only_token_reads_but_never_writes(client, operator):
    _, raw = token_issue(user=operator, access="read")
    assert client.get("/api/v1/pupils", **_bearer(raw)).status_code == 200
    response = client.post("/api/v1/transfers", {}, content_type="application/json", **_bearer(raw))
    assert response.status_code == 403 and response.json()["code"] == "token_read_only"


def test_a_read_write_token_reaches_the_write(client, operator):
    _, raw = token_issue(user=operator, access="write")
    response = client.post("/api/v1/transfers", {}, content_type="application/json", **_bearer(raw))
    assert response.status_code not in (401, 403)


def test_tokens_are_read_only_unless_asked(operator):
    token, _ = token_issue(user=operator)
    assert token.access == ApiToken.Access.READ


def test_days_beyond_the_maximum_are_refused(operator, settings):
    with pytest.raises(ValidationFailed) as refused:
        token_issue(user=operator, days=settings.API_TOKEN_MAX_DAYS + 1)
    assert refused.value.code == "token_days_invalid"


def test_a_viewer_gets_no_read_write_token(world):
    from tests.factories import make_user

    viewer = make_user("440106.viewer", role="viewer", division=world.county_a)
    with pytest.raises(ValidationFailed) as refused:
        token_issue(user=viewer, access="write")
    assert refused.value.code == "token_access_invalid"


def test_the_command_issues_with_access_and_days(operator, client):
    out = StringIO()
    call_command("issue_token", operator.username, "--access", "write", "--days", "7", stdout=out, stderr=StringIO())
    token = ApiToken.objects.get(digest=ApiToken.hash(out.getvalue().strip()))
    assert token.access == "write"
    assert dt.timedelta(days=6, hours=23) < token.expires_at - token.created_at <= dt.timedelta(days=7, minutes=1)
    with pytest.raises(CommandError):
        call_command("issue_token", operator.username, "--days", "0", stdout=StringIO(), stderr=StringIO())


def test_issue_and_revoke_are_account_events(operator):
    out = StringIO()
    call_command("issue_token", operator.username, stdout=out, stderr=StringIO())
    prefix = ApiToken.objects.get(user=operator).prefix
    call_command("issue_token", "--revoke", prefix, stdout=StringIO(), stderr=StringIO())
    events = AccountEvent.objects.filter(user=operator).order_by("created_at", "pk")
    assert [e.action for e in events] == ["token_issued", "token_revoked"]
    assert events[0].details["prefix"] == prefix and events[0].division_code == "440106"


def test_the_tokens_page_issues_with_the_chosen_access_and_days(client, login, operator):
    login(operator)
    response = client.post("/account/tokens/", {"name": "教务系统", "access": "write", "days": "30"})
    assert response.status_code == 200 and "k12_" in response.content.decode()
    token = ApiToken.objects.get(user=operator)
    assert token.access == "write" and token.name == "教务系统"
    assert AccountEvent.objects.get(user=operator, action="token_issued").actor == operator


def test_the_tokens_page_revokes_only_ones_own_token(client, login, operator, world):
    other, _ = token_issue(user=world["a2"].operator)
    login(operator)
    assert client.post(f"/account/tokens/{other.prefix}/revoke/").status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None
    mine, _ = token_issue(user=operator)
    assert client.post(f"/account/tokens/{mine.prefix}/revoke/").status_code == 302
    mine.refresh_from_db()
    assert mine.revoked_at is not None
