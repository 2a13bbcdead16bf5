"""接口令牌: issuing and revoking API tokens (the command and the page call these).

A token's access is chosen at issue: ``read`` (every write refused, 403 ``token_read_only``)
or ``write``; a read-only role (viewer, auditor) gets read-only tokens only. A token expires
after ``days`` (``API_TOKEN_DEFAULT_DAYS``, at most ``API_TOKEN_MAX_DAYS``); an expired token
is refused with 401 ``token_expired``. Every issue and revocation is an account event.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.events import account_event_record
from accounts.models import AccountEvent, ApiToken
from kernel.errors import NotFound, ValidationFailed


def token_issue(*, user, actor=None, name: str = "", access: str = ApiToken.Access.READ,
                days: int | None = None) -> tuple[ApiToken, str]:
    """A new token of ``user`` and its raw text (shown once)."""
    if access not in ApiToken.Access.values:
        raise ValidationFailed(_("令牌权限只能是 read（只读）或 write（读写）"), code="token_access_invalid", field="access")
    days = settings.API_TOKEN_DEFAULT_DAYS if days is None else days
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise ValidationFailed(
            _("令牌有效天数须在 1 到 %(max)s 之间") % {"max": settings.API_TOKEN_MAX_DAYS},
            code="token_days_invalid", field="days",
        )
    if not user.is_active:
        raise ValidationFailed(_("账号已停用，不能签发令牌"), code="account_disabled", field="username")
    membership = getattr(user, "membership", None)
    if access == ApiToken.Access.WRITE and membership is not None and membership.is_read_only:
        raise ValidationFailed(_("只读角色只能签发只读令牌"), code="token_access_invalid", field="access")
    with transaction.atomic():
        token, raw = ApiToken.issue(user, name=name[:64], access=access, days=days)
        account_event_record(AccountEvent.Action.TOKEN_ISSUED, user=user, actor=actor,
                             prefix=token.prefix, access=access, expires_at=token.expires_at.isoformat())
    return token, raw


def token_revoke(*, user, actor=None, prefix: str) -> list[ApiToken]:
    """Revoke ``user``'s live tokens that start with ``prefix``."""
    prefix = prefix.strip().removeprefix("k12_")[:8]
    with transaction.atomic():
        found = list(ApiToken.objects.select_for_update().filter(user=user, prefix=prefix, revoked_at__isnull=True))
        if not found:
            raise NotFound(_("没有找到前缀为“%(prefix)s”的有效令牌") % {"prefix": prefix}, code="token_not_found")
        ApiToken.objects.filter(pk__in=[t.pk for t in found]).update(revoked_at=timezone.now())
        for token in found:
            account_event_record(AccountEvent.Action.TOKEN_REVOKED, user=user, actor=actor, prefix=token.prefix)
    return found
