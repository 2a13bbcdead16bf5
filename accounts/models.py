"""Accounts and tenancy: which unit a user belongs to and in which role, and API tokens.

Terms of the national system, named once here:

- ``Membership`` — a user's unit (学校, 区县/地市/省教育行政部门) and role: 学籍管理员
  (operator), 学籍主管领导 (approver), 省级管理员 (admin), 查询用户 (viewer: sees the unit's
  scope, changes nothing), 审计员 (auditor: a viewer who also searches the audit trail)
- ``ApiToken`` — 接口令牌 for integrations (only its SHA-256 is stored), read-only or
  read-write, with an expiry
- ``PasswordHistory`` — the last password hashes of a user (a password is not reused)
- ``AccountEvent`` — 账号操作记录: logins and every change to an account, with the actor

The scope of a user (``accounts.scope``) and what a role may do (``accounts.permissions``)
are decided from these rows only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from provinces.divisions import division_full_name
from provinces.models import Division
from schools.models import School


@dataclass(frozen=True)
class Unit:
    """A unit that acts in a chain: a school (学校), or an education bureau (教育行政部门) by its
    division code. ``scope_code`` is where the unit's work shows in scope filters: a school's
    county code, a bureau's own code; it takes no part in comparing units."""

    school_id: int | None = None
    division_code: str | None = None
    scope_code: str = field(default="", compare=False)

    @property
    def is_county(self) -> bool:
        return self.school_id is None and len(self.division_code or "") == 6

    @property
    def is_province(self) -> bool:
        return self.school_id is None and len(self.division_code or "") == 2

    @property
    def code(self) -> str:
        return self.scope_code or self.division_code or ""


@pghistory.track(meta={"db_table": "registry_membershipevent"})
class Membership(models.Model):
    """Ties a user to one unit (school, county, city or province) with one role."""

    class Role(models.TextChoices):
        OPERATOR = "operator", _("学籍管理员")
        APPROVER = "approver", _("学籍主管领导")
        ADMIN = "admin", _("省级管理员")
        VIEWER = "viewer", _("查询用户")
        AUDITOR = "auditor", _("审计员")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    role = models.CharField(_("角色"), max_length=16, choices=Role.choices)
    school = models.ForeignKey(School, verbose_name=_("学校"), null=True, blank=True, on_delete=models.PROTECT)
    division = models.ForeignKey(
        Division, verbose_name=_("教育行政部门所在区划"), null=True, blank=True, on_delete=models.PROTECT
    )
    must_change_password = models.BooleanField(_("下次登录须修改密码"), default=False)

    class Meta:
        db_table = "registry_membership"  # moved from the registry app; the table kept its name
        verbose_name = _("用户单位与角色")
        verbose_name_plural = _("用户单位与角色")
        constraints = [
            models.CheckConstraint(
                name="membership_one_unit",
                condition=Q(school__isnull=False, division__isnull=True)
                | Q(school__isnull=True, division__isnull=False),
            ),
            models.CheckConstraint(
                name="membership_admin_is_province",
                condition=~Q(role="admin") | Q(division__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.unit_name} ({self.get_role_display()})"

    @property
    def unit_code(self) -> str:
        """The unit's code: the 10-digit school code or the division code."""
        return self.school.code if self.school_id else self.division_id

    @property
    def unit_name(self) -> str:
        if self.school_id:
            return self.school.name
        place = division_full_name(self.division_id) or self.division.full_name()
        return _("%(place)s教育行政部门") % {"place": place}

    @property
    def level(self) -> str:
        """"school", "county", "city" or "province"."""
        return "school" if self.school_id else self.division.level

    @property
    def unit(self) -> Unit:
        if self.school_id:
            return Unit(school_id=self.school_id)
        return Unit(division_code=self.division_id, scope_code=self.division_id)

    @property
    def is_approver(self) -> bool:
        return self.role in (self.Role.APPROVER, self.Role.ADMIN)

    @property
    def is_read_only(self) -> bool:
        """A viewer or an auditor: sees the scope, changes nothing."""
        return self.role in (self.Role.VIEWER, self.Role.AUDITOR)

    @property
    def scope_code(self) -> str:
        """The division code the unit's rows are filed under: a school's county, a bureau's own."""
        return self.school.county_id if self.school_id else self.division_id


@pghistory.track(meta={"db_table": "registry_apitokenevent"})
class ApiToken(models.Model):
    """A bearer token for integrations; only its SHA-256 is stored. ``access`` is chosen at
    issue: a read-only token is refused every write (403 ``token_read_only``); after
    ``expires_at`` the token authenticates no more (401 ``token_expired``)."""

    class Access(models.TextChoices):
        READ = "read", _("只读")
        WRITE = "write", _("读写")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("用途"), max_length=64, blank=True)
    prefix = models.CharField(max_length=8, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(_("有效期至"))
    access = models.CharField(_("权限"), max_length=8, choices=Access.choices, default=Access.READ)

    class Meta:
        db_table = "registry_apitoken"  # moved from the registry app; the table kept its name
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @classmethod
    def issue(cls, user, name: str = "", *, access: str = Access.READ, days: int | None = None) -> tuple[ApiToken, str]:
        """A new token and its raw text (shown once). Use ``accounts.tokens.token_issue``,
        which checks the days and the access against the user's role and records the event."""
        raw = "k12_" + secrets.token_urlsafe(32)
        while raw[4] == "-":  # a prefix starting with "-" reads as an option on a command line
            raw = "k12_" + secrets.token_urlsafe(32)
        days = days or settings.API_TOKEN_DEFAULT_DAYS
        token = cls.objects.create(
            user=user, name=name, prefix=raw[4:12], digest=cls.hash(raw), access=access,
            expires_at=timezone.now() + dt.timedelta(days=days),
        )
        return token, raw


class PasswordHistory(models.Model):
    """A password a user had (its hash): ``accounts.passwords.NotReusedValidator`` refuses
    the last ``PASSWORD_HISTORY_SIZE`` of them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]


class AccountEvent(models.Model):
    """账号操作记录: a login (or a failed one, or a lockout) and every change to an account —
    created, disabled, enabled, password reset or changed, role changed, unlocked, token
    issued or revoked — with who did it. Filed under the account's unit so that the
    auditors of that unit and the levels above find it (``accounts.scope``)."""

    class Action(models.TextChoices):
        LOGIN = "login", _("登录")
        LOGIN_FAILED = "login_failed", _("登录失败")
        LOCKED_OUT = "locked_out", _("登录被锁定")
        LOGOUT = "logout", _("退出")
        CREATED = "created", _("创建账号")
        DISABLED = "disabled", _("停用账号")
        ENABLED = "enabled", _("启用账号")
        ROLE_CHANGED = "role_changed", _("变更角色")
        PASSWORD_RESET = "password_reset", _("重置密码")
        PASSWORD_CHANGED = "password_changed", _("修改密码")
        UNLOCKED = "unlocked", _("解除锁定")
        TOKEN_ISSUED = "token_issued", _("签发接口令牌")
        TOKEN_REVOKED = "token_revoked", _("吊销接口令牌")
        TOTP_ENROLLED = "totp_enrolled", _("绑定动态口令")
        TOTP_FAILED = "totp_failed", _("动态口令错误")
        TOTP_RESET = "totp_reset", _("解绑动态口令")

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(_("操作"), max_length=24, choices=Action.choices)
    #: The account acted on (a failed login names a username that may not exist).
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="account_events")
    username = models.CharField(_("账号"), max_length=150, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_username = models.CharField(_("操作人"), max_length=150, blank=True)
    actor_unit = models.CharField(_("操作人单位"), max_length=10, blank=True)
    #: The account's unit: its school (if any) and the division code it is filed under.
    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    division_code = models.CharField(max_length=6, blank=True, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    scope_paths = (("division_code", "school"),)

    class Meta:
        verbose_name = _("账号操作记录")
        verbose_name_plural = _("账号操作记录")
        ordering = ["-created_at", "-pk"]
