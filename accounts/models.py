"""Accounts and tenancy: which unit a user belongs to and in which role, and API tokens.

Terms of the national system, named once here:

- ``Membership`` — a user's unit (学校, 区县/地市/省教育行政部门) and role: 学籍管理员
  (operator), 学籍主管领导 (approver), 省级管理员 (admin)
- ``ApiToken`` — 接口令牌 for integrations (only its SHA-256 is stored)

The scope of a user (``accounts.scope``) and what a role may do (``accounts.permissions``)
are decided from these rows only.
"""

from __future__ import annotations

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

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    role = models.CharField(_("角色"), max_length=16, choices=Role.choices)
    school = models.ForeignKey(School, verbose_name=_("学校"), null=True, blank=True, on_delete=models.PROTECT)
    division = models.ForeignKey(
        Division, verbose_name=_("教育行政部门所在区划"), null=True, blank=True, on_delete=models.PROTECT
    )

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


@pghistory.track(meta={"db_table": "registry_apitokenevent"})
class ApiToken(models.Model):
    """A bearer token for integrations; only its SHA-256 is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("用途"), max_length=64, blank=True)
    prefix = models.CharField(max_length=8, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "registry_apitoken"  # moved from the registry app; the table kept its name
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def issue(cls, user, name: str = "") -> tuple[ApiToken, str]:
        raw = "k12_" + secrets.token_urlsafe(32)
        while raw[4] == "-":  # a prefix starting with "-" reads as an option on a command line
            raw = "k12_" + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, prefix=raw[4:12], digest=cls.hash(raw))
        return token, raw
