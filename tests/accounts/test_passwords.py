"""Passwords: users change their own, under the policy (length, not common, not like the
username, not reused, not the demo password); the demo password is changed at first login
outside development."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from accounts.models import AccountEvent
from tests.factories import PASSWORD

NEW = "Tianhe-Xueji-7391"


@pytest.fixture
def operator(world):
    return world["a1"].operator


def _change(client, old, new):
    return client.post("/account/password/", {"old_password": old, "new_password1": new, "new_password2": new})


def _codes(password, user):
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return {e.code for e in exc.error_list}
    return set()


def test_a_user_changes_their_own_password(client, login, operator):
    login(operator)
    response = _change(client, PASSWORD, NEW)
    assert response.status_code == 302
    operator.refresh_from_db()
    assert operator.check_password(NEW)
    event = AccountEvent.objects.get(user=operator, action="password_changed")
    assert event.actor == operator
    client.logout()
    assert client.post("/login/", {"username": operator.username, "password": NEW}).status_code == 302


def test_a_wrong_old_password_changes_nothing(client, login, operator):
    login(operator)
    assert _change(client, "not-my-password", NEW).status_code == 200
    operator.refresh_from_db()
    assert operator.check_password(PASSWORD)


def test_the_policy_refuses_short_common_username_like_numeric_and_demo_passwords(operator, settings):
    assert "password_too_short" in _codes("Ab3-xyz", operator)
    assert "password_too_common" in _codes("password123", operator)
    assert "password_too_similar" in _codes(operator.username + "x", operator)
    assert "password_entirely_numeric" in _codes("4829301756", operator)
    assert "password_demo" in _codes(settings.DEMO_PASSWORD, operator)
    assert _codes(NEW, operator) == set()


def test_the_last_passwords_cannot_be_used_again(operator, settings):
    assert "password_reused" in _codes(PASSWORD, operator)  # the current one
    for n in range(settings.PASSWORD_HISTORY_SIZE):
        operator.set_password(f"{NEW}-{n}")
        operator.save()
    assert "password_reused" in _codes(f"{NEW}-0", operator)  # four changes ago
    operator.set_password(f"{NEW}-x")
    operator.save()
    assert "password_reused" not in _codes(f"{NEW}-0", operator)  # five changes ago: out of the history
    assert operator.password_history.count() == settings.PASSWORD_HISTORY_SIZE


def test_the_page_refuses_a_reused_password(client, login, operator):
    login(operator)
    _change(client, PASSWORD, NEW)
    response = _change(client, NEW, PASSWORD)
    assert response.status_code == 200 and "不能使用最近" in response.content.decode()


def test_the_demo_password_must_be_changed_at_first_login_outside_development(client, operator, settings):
    settings.FORCE_DEMO_PASSWORD_CHANGE = True
    operator.set_password(settings.DEMO_PASSWORD)
    operator.save()
    client.post("/login/", {"username": operator.username, "password": settings.DEMO_PASSWORD})
    response = client.get("/pupils/")
    assert response.status_code == 302 and response["Location"].startswith("/account/password/")
    api = client.get("/api/v1/pupils")
    assert api.status_code == 403 and api.json()["code"] == "password_change_required"
    assert _change(client, settings.DEMO_PASSWORD, NEW).status_code == 302
    assert client.get("/pupils/").status_code == 200


def test_in_development_the_demo_password_is_kept(client, operator, settings):
    settings.FORCE_DEMO_PASSWORD_CHANGE = False
    operator.set_password(settings.DEMO_PASSWORD)
    operator.save()
    client.post("/login/", {"username": operator.username, "password": settings.DEMO_PASSWORD})
    assert client.get("/pupils/").status_code == 200
