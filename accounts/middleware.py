"""The page guard of accounts: a read-only role posts nothing, and an account that must change
its password (a reset by the level above, the demo password outside development) does that
first. The API has the same rules in its authentication (``accounts.auth``)."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.permissions import SAFE_METHODS, membership_of, require_writer
from kernel.errors import Forbidden


def password_change_required() -> Forbidden:
    return Forbidden(_("请先修改密码，再办理业务"), code="password_change_required")


class AccountGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        membership = membership_of(getattr(request, "user", None))
        if membership is None or request.path.startswith(f"/{settings.STATIC_URL.strip('/')}/"):
            return self.get_response(request)
        exempt = request.path in (reverse("accounts:password_change"), reverse("logout"), reverse("set_language"))
        if membership.must_change_password and not exempt:
            if request.path.startswith("/api/"):
                return JsonResponse(password_change_required().as_dict(), status=403)
            return redirect(f"{reverse('accounts:password_change')}?next={request.path}")
        if request.method not in SAFE_METHODS and not exempt and not request.path.startswith("/api/"):
            try:
                require_writer(request.user)
            except Forbidden as exc:
                return render(request, "registry/error.html", {"error": exc}, status=exc.status)
        return self.get_response(request)
