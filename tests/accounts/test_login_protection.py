"""Login protection: lockout per username and per address (django-axes), sessions that end
after a working day of inactivity and at browser close, login events in the audit trail."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings

from accounts.models import AccountEvent
from tests.factories import PASSWORD


def _login(client, username, password, address="10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.fixture
def operator(world):
    return world["a1"].operator


def test_five_wrong_passwords_lock_the_username_even_for_the_right_one(client, operator):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, operator.username, "wrong-password").status_code == 200
    assert _login(client, operator.username, "wrong-password").status_code == 429
    response = _login(client, operator.username, PASSWORD)
    assert response.status_code == 429
    assert "登录已锁定" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_username_lock_holds_from_another_address(client, operator):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, operator.username, "wrong-password", address="10.0.0.1")
    assert _login(client, operator.username, PASSWORD, address="10.9.9.9").status_code == 429


def test_an_address_trying_many_usernames_is_locked(client, world):
    for i in range(settings.AXES_FAILURE_LIMIT):
        _login(client, f"guess-{i}", "wrong-password", address="10.0.0.7")
    approver = world["a1"].approver
    assert _login(client, approver.username, PASSWORD, address="10.0.0.7").status_code == 429
    assert _login(client, approver.username, PASSWORD, address="10.0.0.8").status_code == 302


def test_fewer_failures_than_the_limit_still_log_in(client, operator):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, operator.username, "wrong-password")
    assert _login(client, operator.username, PASSWORD).status_code == 302


def test_logins_failures_and_lockouts_are_account_events(client, operator):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, operator.username, "wrong-password")
    actions = list(AccountEvent.objects.filter(username=operator.username).values_list("action", flat=True))
    assert AccountEvent.Action.LOGIN_FAILED in actions and AccountEvent.Action.LOCKED_OUT in actions
    event = AccountEvent.objects.filter(username=operator.username, action="login_failed").first()
    assert event.ip_address == "10.0.0.1" and event.division_code == operator.membership.scope_code


def test_a_login_is_an_account_event_of_the_unit(client, operator):
    _login(client, operator.username, PASSWORD)
    event = AccountEvent.objects.get(username=operator.username, action="login")
    assert event.actor == operator and event.school_id == operator.membership.school_id


def test_the_session_cookie_ends_with_the_browser(client, operator):
    response = _login(client, operator.username, PASSWORD)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert not cookie["max-age"] and not cookie["expires"]


def test_a_session_ends_after_a_working_day_without_a_request(client, operator):
    start = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        _login(client, operator.username, PASSWORD)
        assert client.get("/").status_code == 200
    with time_machine.travel(start + dt.timedelta(hours=8, minutes=1), tick=False):
        response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_request_extends_the_session(client, operator):
    start = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        _login(client, operator.username, PASSWORD)
    with time_machine.travel(start + dt.timedelta(hours=7), tick=False):
        assert client.get("/").status_code == 200
    with time_machine.travel(start + dt.timedelta(hours=14), tick=False):
        assert client.get("/").status_code == 200


def _session_expiry(client):
    from django.contrib.sessions.models import Session

    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_the_session_is_written_at_most_once_in_the_refresh_interval(client, operator):
    start = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        _login(client, operator.username, PASSWORD)
    expiry = _session_expiry(client)
    assert expiry == start + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    with time_machine.travel(start + dt.timedelta(minutes=4), tick=False):
        assert client.get("/").status_code == 200
        assert client.get("/pupils/").status_code == 200
    assert _session_expiry(client) == expiry  # read twice, not written
    later = start + dt.timedelta(minutes=6)
    with time_machine.travel(later, tick=False):
        assert client.get("/").status_code == 200
    assert _session_expiry(client) == later + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
