"""Login protection (登录保护) with django-axes, and the login events of the audit trail.

After ``AXES_FAILURE_LIMIT`` wrong passwords (5) a username is locked, and so is the address
they came from, each on its own; a locked login gets the lockout page (403) even with the
right password. The level above unlocks an account on its page (``account_unlock`` in
``accounts.services``); otherwise the lock lifts after ``AXES_COOLOFF_HOURS``. Each login,
failed login, lockout and logout is an ``AccountEvent``.
"""

from __future__ import annotations

import datetime as dt

from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models import Sum
from django.dispatch import receiver
from django.utils import timezone

from accounts.events import account_event_record
from accounts.models import AccountEvent


def client_address(request) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or behind ``TRUSTED_PROXY_COUNT`` reverse proxies
    the address the outermost of them saw (from the right of ``X-Forwarded-For``)."""
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def failures_of(username: str) -> int:
    """Wrong passwords counted against ``username`` now (within the cool-off time)."""
    attempts = AccessAttempt.objects.filter(username=username)
    if settings.AXES_COOLOFF_TIME:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - dt.timedelta(hours=settings.AXES_COOLOFF_TIME))
    return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0


def is_locked(username: str) -> bool:
    return failures_of(username) >= settings.AXES_FAILURE_LIMIT


def locked_addresses_of(username: str) -> list[str]:
    """The addresses ``username`` failed from that are locked now (by all their failures)."""
    addresses = set(AccessAttempt.objects.filter(username=username).exclude(ip_address=None)
                    .values_list("ip_address", flat=True))
    attempts = AccessAttempt.objects.filter(ip_address__in=addresses)
    if settings.AXES_COOLOFF_TIME:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - dt.timedelta(hours=settings.AXES_COOLOFF_TIME))
    totals = attempts.values("ip_address").annotate(n=Sum("failures_since_start"))
    return sorted(t["ip_address"] for t in totals if t["n"] >= settings.AXES_FAILURE_LIMIT)


def _user_named(username: str | None):
    if not username:
        return None
    return get_user_model().objects.select_related("membership__school").filter(username=username).first()


@receiver(user_logged_in, dispatch_uid="accounts.login.logged_in")
def _logged_in(sender, request, user, **kwargs):
    account_event_record(AccountEvent.Action.LOGIN, user=user, actor=user,
                         ip_address=client_address(request) if request is not None else None)


@receiver(user_logged_out, dispatch_uid="accounts.login.logged_out")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        account_event_record(AccountEvent.Action.LOGOUT, user=user, actor=user,
                             ip_address=client_address(request) if request is not None else None)


@receiver(user_login_failed, dispatch_uid="accounts.login.failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username") or "")[:150]
    if request is not None and getattr(request, "axes_locked_out", False):
        return  # the lockout itself is recorded once, below
    account_event_record(AccountEvent.Action.LOGIN_FAILED, user=_user_named(username), username=username,
                         ip_address=client_address(request) if request is not None else None)


@receiver(user_locked_out, dispatch_uid="accounts.login.locked_out")
def _locked_out(sender, request, username, ip_address, **kwargs):
    username = str(username or "")[:150]
    account_event_record(AccountEvent.Action.LOCKED_OUT, user=_user_named(username), username=username,
                         ip_address=ip_address)
