"""The password policy (密码策略) beyond Django's own validators, and the password history.

``AUTH_PASSWORD_VALIDATORS`` (settings): at least 10 characters, not a common password, not
like the username, not all digits, not the demo password, and none of the user's last
``PASSWORD_HISTORY_SIZE`` passwords. Whenever a user's password hash changes, however it is
saved, the one it replaces goes into the history (``remember_replaced_password``).
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.utils.translation import gettext as _

from accounts.models import PasswordHistory


def history_size() -> int:
    return getattr(settings, "PASSWORD_HISTORY_SIZE", 5)


def is_demo_password(password: str) -> bool:
    demo = getattr(settings, "DEMO_PASSWORD", "")
    return bool(demo) and hmac.compare_digest(password.encode(), demo.encode())


class NotReusedValidator:
    """Refuses the user's last ``PASSWORD_HISTORY_SIZE`` passwords (the current one included)."""

    def validate(self, password, user=None):
        if user is None or user.pk is None:
            return
        hashes = [user.password] if user.password else []
        hashes += list(PasswordHistory.objects.filter(user=user).values_list("password", flat=True)[: history_size() - 1])
        if any(check_password(password, encoded) for encoded in hashes):
            raise ValidationError(
                _("不能使用最近 %(count)s 次用过的密码") % {"count": history_size()}, code="password_reused"
            )

    def get_help_text(self):
        return _("不能使用最近 %(count)s 次用过的密码。") % {"count": history_size()}


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.passwords.history")
def remember_replaced_password(sender, instance, update_fields=None, **kwargs):
    """Keeps the hash a save replaces, and no more than ``PASSWORD_HISTORY_SIZE`` of them."""
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return
    old = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if not old or old == instance.password:
        return
    PasswordHistory.objects.create(user_id=instance.pk, password=old)
    stale = PasswordHistory.objects.filter(user_id=instance.pk).values_list("pk", flat=True)[history_size():]
    PasswordHistory.objects.filter(pk__in=list(stale)).delete()


class NotDemoPasswordValidator:
    """Refuses the demo accounts' shared password."""

    def validate(self, password, user=None):
        if is_demo_password(password):
            raise ValidationError(_("不能使用演示账号的公共密码"), code="password_demo")

    def get_help_text(self):
        return _("不能使用演示账号的公共密码。")
