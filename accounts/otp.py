"""动态口令 (TOTP, django-otp): a second step after the password.

A user with a confirmed TOTP device enters its 6-digit code after each login before any
page or session API call answers (``accounts.middleware``; the API: 403 ``otp_required``).
With ``PROVINCE_ADMIN_TOTP`` on, a province admin without a device must bind one first.
The level above can unbind a lost device (``account_totp_reset``). API tokens are a
credential of their own and need no code.
"""

from __future__ import annotations

import base64

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.events import account_event_record
from accounts.models import AccountEvent
from kernel.errors import ValidationFailed


def totp_required(membership) -> bool:
    return bool(settings.PROVINCE_ADMIN_TOTP) and membership.role == "admin" and membership.level == "province"


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def otp_step(request, membership) -> str | None:
    """``"enrol"`` or ``"verify"`` when the user must do that before anything else."""
    if getattr(request.user, "is_verified", lambda: False)():
        return None
    if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        return "verify"
    if totp_required(membership):
        return "enrol"
    return None


def pending_device(user) -> TOTPDevice:
    """The unconfirmed device being bound (made on the first POST of the binding page)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="totp", confirmed=False)


def secret_of(device: TOTPDevice) -> str:
    """The key as the authenticator apps type it (base32)."""
    return base64.b32encode(device.bin_key).decode().rstrip("=")


@transaction.atomic
def totp_confirm(request, token: str) -> TOTPDevice:
    device = TOTPDevice.objects.select_for_update().filter(user=request.user, confirmed=False).first()
    if device is None or not device.verify_token((token or "").strip()):
        raise ValidationFailed(_("动态口令不正确，请查看验证器中的 6 位数字后重试"), code="otp_invalid", field="token")
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=request.user, confirmed=False).delete()
    otp_login(request, device)
    account_event_record(AccountEvent.Action.TOTP_ENROLLED, user=request.user, actor=request.user)
    return device


def totp_verify(request, token: str) -> None:
    device = confirmed_device(request.user)
    if device is None or not device.verify_token((token or "").strip()):
        account_event_record(AccountEvent.Action.TOTP_FAILED, user=request.user, actor=request.user)
        raise ValidationFailed(_("动态口令不正确，请查看验证器中的 6 位数字后重试"), code="otp_invalid", field="token")
    otp_login(request, device)
