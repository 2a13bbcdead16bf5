"""API authentication: bearer tokens for integrations, the session for the browser.

Both refuse a write (any method but GET, HEAD, OPTIONS; but a POST that only records a read,
``accounts.permissions.recorded_read_path``) from a read-only role (403 ``read_only_role``); a bearer token is also refused when it has expired (401
``token_expired``) and a read-only token is refused every write (403 ``token_read_only``).
"""

from __future__ import annotations

import datetime as dt

import pghistory
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import HttpBearer, SessionAuth

from accounts.audit import context_for
from accounts.models import ApiToken
from accounts.permissions import SAFE_METHODS, is_recorded_read, require_writer
from kernel.errors import Forbidden, Unauthenticated

LAST_USED_PRECISION = dt.timedelta(minutes=5)


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``; tokens are stored hashed, expire and can be revoked."""

    def authenticate(self, request, token: str):
        try:
            found = ApiToken.objects.select_related("user__membership__school").get(
                digest=ApiToken.hash(token), revoked_at__isnull=True, user__is_active=True
            )
        except ApiToken.DoesNotExist:
            return None
        if found.is_expired:
            raise Unauthenticated(_("接口令牌已过期，请重新签发"), code="token_expired")
        if request.method not in SAFE_METHODS and not is_recorded_read(request):
            if found.access != ApiToken.Access.WRITE:
                raise Forbidden(_("此接口令牌为只读令牌，不能提交或修改数据"), code="token_read_only")
            require_writer(found.user)
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at > LAST_USED_PRECISION:
            # At most one write per token per interval: a hot integration must not turn
            # every read into a write (and an audit event).
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        request.user = found.user
        # The audit middleware ran before the token was read: name the actor now.
        pghistory.context(**context_for(found.user))
        return found.user


class Session(SessionAuth):
    """The browser's session, with Django's CSRF check on writes; a read-only role writes
    nothing. A request that presents a bearer token, or carries no logged-in session, is not a
    session request: it gets 401 (``unauthenticated``), never a 403 CSRF failure that would
    hide the bad credentials."""

    def _get_key(self, request):
        if request.headers.get("Authorization") or not request.user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request, key):
        if key is None:
            return None
        user = super().authenticate(request, key)
        if user and request.method not in SAFE_METHODS and not is_recorded_read(request):
            require_writer(user)
        return user


API_AUTH = [BearerToken(), Session()]
