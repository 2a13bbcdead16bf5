"""``issue_token``: a printed token authenticates against the API once issued, never after revocation."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import ApiToken
from provinces.models import Division
from tests.factories import make_user


def _issue(*args) -> str:
    out = StringIO()
    call_command("issue_token", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def _me(client, token: str):
    return client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def operator(world):
    return world["a1"].operator


def test_printed_token_authenticates_as_the_user(operator, client):
    token = _issue(operator.username, "--name", "教务系统对接")
    response = _me(client, token)
    assert response.status_code == 200
    assert response.json()["username"] == operator.username
    assert response.json()["unit_code"] == operator.membership.unit_code


def test_only_the_hash_is_stored(operator):
    token = _issue(operator.username, "--name", "教务系统对接")
    stored = ApiToken.objects.get(user=operator)
    assert stored.digest == ApiToken.hash(token) and token not in (stored.digest, stored.prefix)
    assert stored.name == "教务系统对接"


def test_revoked_token_is_refused(operator, client):
    token = _issue(operator.username)
    other = _issue(operator.username)
    prefix = ApiToken.objects.get(digest=ApiToken.hash(token)).prefix
    out = _issue("--revoke", prefix)
    assert prefix in out
    response = _me(client, token)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert _me(client, other).status_code == 200


def test_revoke_accepts_the_full_token_prefix_form(operator, client):
    token = _issue(operator.username)
    _issue("--revoke", token[:12])  # "k12_" + the 8-char prefix
    assert _me(client, token).status_code == 401


def test_unknown_prefix_is_refused_with_a_message(db):
    with pytest.raises(CommandError, match="没有找到前缀"):
        _issue("--revoke", "nosuchpx")


def test_revoking_twice_is_refused(operator):
    token = _issue(operator.username)
    _issue("--revoke", token[4:12])
    with pytest.raises(CommandError, match="没有找到前缀"):
        _issue("--revoke", token[4:12])


def test_unknown_or_inactive_user_gets_no_token(db):
    with pytest.raises(CommandError, match="不存在"):
        _issue("nobody")
    user = make_user("440106.retired", role="operator", division=Division.objects.get(code="440106"))
    user.is_active = False
    user.save()
    with pytest.raises(CommandError, match="已停用"):
        _issue(user.username)
    assert not ApiToken.objects.exists()


def test_username_is_required_to_issue(db):
    with pytest.raises(CommandError, match="请提供用户名"):
        _issue()


def test_a_prefix_never_starts_with_a_dash(operator, monkeypatch):
    """``issue_token --revoke <prefix>`` must never see an option in the prefix."""
    draws = iter(["-" + "a" * 42, "b" * 43])
    monkeypatch.setattr("accounts.models.secrets.token_urlsafe", lambda n: next(draws))
    token, raw = ApiToken.issue(operator)
    assert token.prefix == "b" * 8 and raw.startswith("k12_b")
