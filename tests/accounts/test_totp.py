"""动态口令 (TOTP): with PROVINCE_ADMIN_TOTP on a province admin binds a device before
anything else; whoever has a device enters its code after each login; the level above
unbinds a lost one."""

from __future__ import annotations

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.models import AccountEvent
from tests.factories import PASSWORD


def _code(device) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift):06d}"


def _password_login(client, user):
    client.logout()
    return client.post("/login/", {"username": user.username, "password": PASSWORD})


@pytest.fixture
def admin(world, settings):
    settings.PROVINCE_ADMIN_TOTP = True
    return world["province"].admin


def test_a_province_admin_binds_a_device_before_anything_else(client, admin):
    _password_login(client, admin)
    response = client.get("/province/policy/")
    assert response.status_code == 302 and response["Location"].startswith("/account/otp/")
    api = client.get("/api/v1/pupils")
    assert api.status_code == 403 and api.json()["code"] == "otp_required"
    client.post("/account/otp/")
    device = TOTPDevice.objects.get(user=admin, confirmed=False)
    assert client.post("/account/otp/", {"token": "000000" if _code(device) != "000000" else "111111"}).status_code == 422
    assert client.post("/account/otp/", {"token": _code(device), "next": "/pupils/"})["Location"] == "/pupils/"
    assert client.get("/pupils/").status_code == 200
    assert AccountEvent.objects.filter(user=admin, action="totp_enrolled").exists()


def test_a_bound_device_is_asked_for_at_each_login(client, admin, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp makes a retry after a wrong code wait
    device = TOTPDevice.objects.create(user=admin, name="totp", confirmed=True)
    _password_login(client, admin)
    assert client.get("/pupils/")["Location"].startswith("/account/otp/verify/")
    response = client.post("/account/otp/verify/", {"token": "12345x"})
    assert response.status_code == 422 and "动态口令不正确" in response.content.decode()
    assert AccountEvent.objects.filter(user=admin, action="totp_failed").exists()
    assert client.post("/account/otp/verify/", {"token": _code(device)}).status_code == 302
    assert client.get("/pupils/").status_code == 200


def test_other_users_are_not_asked_without_a_device(client, login, world, settings):
    settings.PROVINCE_ADMIN_TOTP = True
    login(world["province"].operator)
    assert client.get("/pupils/").status_code == 200


def test_off_by_default(client, login, world):
    login(world["province"].admin)
    assert client.get("/pupils/").status_code == 200


def test_the_level_above_unbinds_a_lost_device(world, admin):
    other_admin = world["province"].operator  # the province runs its own accounts
    TOTPDevice.objects.create(user=other_admin, name="totp", confirmed=True)
    services.account_totp_reset(actor=admin, pk=other_admin.pk)
    assert not TOTPDevice.objects.filter(user=other_admin).exists()
    assert AccountEvent.objects.get(user=other_admin, action="totp_reset").actor == admin
