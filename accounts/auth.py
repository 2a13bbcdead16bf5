"""API authentication: bearer tokens for integrations, the session for the browser."""

from __future__ import annotations

import datetime as dt

import pghistory
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from accounts.audit import context_for
from accounts.models import ApiToken

LAST_USED_PRECISION = dt.timedelta(minutes=5)


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``; tokens are stored hashed and can be revoked."""

    def authenticate(self, request, token: str):
        try:
            found = ApiToken.objects.select_related("user__membership__school").get(
                digest=ApiToken.hash(token), revoked_at__isnull=True, user__is_active=True
            )
        except ApiToken.DoesNotExist:
            return None
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
    """The browser's session, with Django's CSRF check on writes. A request that presents a
    bearer token, or carries no logged-in session, is not a session request: it gets 401
    (``unauthenticated``), never a 403 CSRF failure that would hide the bad credentials."""

    def _get_key(self, request):
        if request.headers.get("Authorization") or not request.user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request, key):
        if key is None:
            return None
        return super().authenticate(request, key)


API_AUTH = [BearerToken(), Session()]
