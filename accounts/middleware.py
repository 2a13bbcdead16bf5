"""The page guard of accounts: an account with a TOTP device enters its code first (and a
province admin binds one first when ``PROVINCE_ADMIN_TOTP`` is on); an account that must
change its password (a reset by the level above, the demo password outside development)
does that next; a read-only role posts nothing. The API has the same rules in its authentication (``accounts.auth``)."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.otp import otp_step
from accounts.permissions import SAFE_METHODS, is_recorded_read, membership_of, require_writer
from kernel.errors import Forbidden


def password_change_required() -> Forbidden:
    return Forbidden(_("请先修改密码，再办理业务"), code="password_change_required")


def otp_required() -> Forbidden:
    return Forbidden(_("请先输入动态口令"), code="otp_required")


OTP_PAGES = {"enrol": "accounts:otp_enrol", "verify": "accounts:otp_verify"}


class AccountGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        membership = membership_of(getattr(request, "user", None))
        if membership is None or request.path.startswith(f"/{settings.STATIC_URL.strip('/')}/"):
            return self.get_response(request)
        always = (reverse("login"), reverse("logout"), reverse("set_language"))
        step = otp_step(request, membership)
        if step is not None and request.path not in (*always, reverse(OTP_PAGES[step])):
            if request.path.startswith("/api/"):
                return JsonResponse(otp_required().as_dict(), status=403)
            return redirect(f"{reverse(OTP_PAGES[step])}?next={request.path}")
        own = (reverse("accounts:password_change"), *always, *(reverse(name) for name in OTP_PAGES.values()))
        if membership.must_change_password and request.path not in own:
            if request.path.startswith("/api/"):
                return JsonResponse(password_change_required().as_dict(), status=403)
            return redirect(f"{reverse('accounts:password_change')}?next={request.path}")
        return self.get_response(request)

    def process_view(self, request, view, args, kwargs):
        """A read-only role posts nothing but its own account's pages and recorded reads."""
        if request.method in SAFE_METHODS or request.path.startswith("/api/") or membership_of(request.user) is None:
            return None
        own = (reverse("accounts:password_change"), reverse("login"), reverse("logout"), reverse("set_language"),
               *(reverse(name) for name in OTP_PAGES.values()))
        if request.path in own or request.path.startswith(reverse("accounts:tokens")) or is_recorded_read(request, view):
            # One's own password, second factor and (read-only) tokens are no registry writes.
            return None
        try:
            require_writer(request.user)
        except Forbidden as exc:
            return render(request, "registry/error.html", {"error": exc}, status=exc.status)
        return None


#: The session key holding when the session was last extended (seconds since the epoch).
LAST_SEEN = "_seen"


class SessionRefreshMiddleware:
    """Extends a logged-in session (``SESSION_COOKIE_AGE`` from now) when it was last extended
    more than ``SESSION_REFRESH_SECONDS`` ago, instead of on every request: a read does not
    write the session row each time, and a session still ends after a working day of
    inactivity (give or take the refresh interval)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or SESSION_KEY not in session:
            return response
        now = int(time.time())
        if now - session.get(LAST_SEEN, 0) >= settings.SESSION_REFRESH_SECONDS:
            session[LAST_SEEN] = now  # marks the session modified: SessionMiddleware saves it
        return response
