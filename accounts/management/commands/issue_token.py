"""``python manage.py issue_token USERNAME [--name NAME] [--access read|write] [--days N]`` /
``--revoke PREFIX``: API tokens (接口令牌).

The raw token is printed once on stdout (only its SHA-256 is stored); a token is read-only
unless ``--access write`` is given, expires after ``--days`` (``API_TOKEN_DEFAULT_DAYS``), and
a revoked token stops authenticating at once. Both are recorded as account events with the
actor: the account named by ``--by`` (the administrator who runs the command; the token's own
user otherwise) and the operating-system user.
"""

from __future__ import annotations

import getpass
import logging

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.audit import acting_as
from accounts.models import ApiToken
from accounts.tokens import token_issue, token_revoke
from kernel.errors import RegistryError

logger = logging.getLogger("registry.tokens")


class Command(BaseCommand):
    help = "为用户签发接口令牌（令牌只显示一次），或用 --revoke 前缀 吊销令牌。"

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?", help="用户名，例如 440106.operator")
        parser.add_argument("--name", default="", help="令牌用途说明，例如“教务系统对接”")
        parser.add_argument("--access", choices=["read", "write"], default="read",
                            help="令牌权限：read 只读（默认），write 读写")
        parser.add_argument("--days", type=int, default=None, help="有效天数（默认见 API_TOKEN_DEFAULT_DAYS）")
        parser.add_argument("--revoke", metavar="PREFIX", help="吊销以此前缀开头的令牌（令牌 k12_ 之后的 8 位）")
        parser.add_argument("--by", metavar="USERNAME", default="", help="办理人（管理员）用户名，记入审计日志")

    def _actor(self, by: str):
        if not by:
            return None
        actor = get_user_model().objects.filter(username=by, is_active=True).first()
        if actor is None:
            raise CommandError(f"办理人“{by}”不存在或已停用。")
        return actor

    def _context(self, actor, **extra):
        try:
            os_user = getpass.getuser()
        except (KeyError, OSError):  # pragma: no cover - no passwd entry in a container
            os_user = ""
        return acting_as(actor, command="issue_token", os_user=os_user, **extra)

    def handle(self, *args, username=None, name="", revoke=None, access="read", days=None, by="", **options):
        actor = self._actor(by)
        if revoke:
            self._revoke(revoke, username, actor)
            return
        if not username:
            raise CommandError("请提供用户名，例如：python manage.py issue_token 440106.operator")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"用户“{username}”不存在。")
        if not user.is_active:
            raise CommandError(f"用户“{username}”已停用，不能签发令牌。")
        try:
            with self._context(actor or user, token_for=username):
                token, raw = token_issue(user=user, actor=actor or user, name=name, access=access, days=days)
        except RegistryError as exc:
            raise CommandError(str(exc.message)) from exc
        logger.info("api token %s issued to %s (%s) by %s", token.prefix, username, name, (actor or user).username)
        self.stdout.write(raw)
        self.stderr.write(
            f"已为 {username} 签发{token.get_access_display()}令牌（前缀 {token.prefix}，"
            f"有效期至 {timezone.localtime(token.expires_at):%Y-%m-%d %H:%M}）。令牌只显示这一次，请妥善保存；"
            f"吊销：python manage.py issue_token --revoke {token.prefix}"
        )

    def _revoke(self, prefix: str, username: str | None, actor) -> None:
        prefix = prefix.strip().removeprefix("k12_")[:8]
        tokens = ApiToken.objects.filter(prefix=prefix, revoked_at__isnull=True)
        if username:
            tokens = tokens.filter(user__username=username)
        with transaction.atomic():
            found = list(tokens.select_for_update().select_related("user"))
            if not found:
                raise CommandError(f"没有找到前缀为“{prefix}”的有效令牌。")
            if len({t.user_id for t in found}) > 1:
                raise CommandError(f"前缀“{prefix}”对应多个用户的令牌，请同时给出用户名。")
            with self._context(actor or found[0].user, token_revoked=prefix):
                token_revoke(user=found[0].user, actor=actor or found[0].user, prefix=prefix)
        for token in found:
            logger.info("api token %s of %s revoked", token.prefix, token.user.username)
        self.stdout.write(f"已吊销 {found[0].user.username} 的 {len(found)} 个令牌（前缀 {prefix}）。")
