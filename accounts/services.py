"""Accounts run by the levels (账号管理): each unit runs the accounts of the units right below it.

- a county (区县, or a city without counties) runs its schools' accounts;
- a city (地市) runs its counties' accounts;
- a province (省) runs its cities' accounts (and those of cities without counties) and its own.

Its operators, approvers and (in a province) admins create accounts, disable and enable
them, reset their passwords, set their role (operator, approver, viewer, auditor; admin only
in the province, by an admin) and unlock a login locked after wrong passwords. An account
of any other unit is "not found" (404), never said to exist. No one acts on their own
account here (their own password is on ``/account/password/``). Every change is an
``AccountEvent`` with the actor, in the change's transaction.
"""

from __future__ import annotations

import secrets

from axes.utils import reset as axes_reset
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.events import account_event_record
from accounts.login import is_locked, locked_addresses_of
from accounts.models import AccountEvent, Membership
from accounts.permissions import membership_of
from kernel.errors import Forbidden, NotFound, ValidationFailed
from provinces.models import Division
from schools.models import School

Role = Membership.Role
User = get_user_model()

#: Roles of a unit that run the accounts of the units below it.
MANAGERS = (Role.OPERATOR, Role.APPROVER, Role.ADMIN)
#: Roles a manager may give; ``admin`` only to the province's own accounts, by an admin.
ASSIGNABLE = (Role.OPERATOR, Role.APPROVER, Role.VIEWER, Role.AUDITOR, Role.ADMIN)


def _manager(user) -> Membership:
    membership = membership_of(user)
    if membership is None or membership.role not in MANAGERS or membership.school_id:
        raise Forbidden(_("只有教育行政部门的学籍管理员、主管领导或省级管理员可以管理账号"), code="accounts_forbidden")
    return membership


def can_manage_accounts(user) -> bool:
    membership = membership_of(user)
    return membership is not None and membership.role in MANAGERS and not membership.school_id


def _managed(manager: Membership) -> Q:
    code = manager.division_id
    condition = Q(membership__school__county_id=code) | Q(membership__division__parent_id=code)
    if manager.level == "province":
        condition |= Q(membership__division_id=code)
    return condition


def accounts_managed_by(user) -> QuerySet:
    """The accounts ``user``'s unit runs (users with their membership), newest units first."""
    manager = _manager(user)
    return (
        User.objects.filter(_managed(manager)).exclude(pk=user.pk)
        .select_related("membership__school", "membership__division").order_by("username")
    )


def account_get(user, pk: int):
    """One account ``user``'s unit runs, or ``NotFound`` (never saying whether it exists)."""
    found = accounts_managed_by(user).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("未找到该账号，或不在您的管理范围内"), code="account_not_found")
    return found


def unit_for_new_account(user, unit_code: str) -> tuple[School | None, Division | None]:
    """The school (10-digit code) or bureau (division code) ``user`` may create an account in."""
    manager = _manager(user)
    code = (unit_code or "").strip()
    school = division = None
    if len(code) == 10:
        school = School.objects.filter(code=code, county_id=manager.division_id).first()
    elif code:
        division = Division.objects.filter(Q(parent_id=manager.division_id) | (
            Q(code=manager.division_id) if manager.level == "province" else Q(pk__in=[])), code=code).first()
    if school is None and division is None:
        raise ValidationFailed(
            _("单位代码“%(code)s”不存在或不由您管理") % {"code": code[:20]}, code="unit_out_of_reach", field="unit_code"
        )
    return school, division


def _check_role(manager: Membership, role: str, *, province_unit: bool) -> None:
    if role not in ASSIGNABLE:
        raise ValidationFailed(_("角色“%(role)s”不存在") % {"role": role[:20]}, code="role_invalid", field="role")
    if role == Role.ADMIN and not (province_unit and manager.role == Role.ADMIN):
        raise ValidationFailed(_("省级管理员角色只能由省级管理员授予本省厅的账号"), code="role_not_assignable",
                               field="role")


def temporary_password() -> str:
    """A one-time password the holder must change at first login."""
    return "Xj-" + secrets.token_urlsafe(12)


@transaction.atomic
def account_create(*, actor, unit_code: str, username: str, role: str, full_name: str = "") -> tuple:
    """A new account in a unit below ``actor``'s, with a temporary password (returned once)."""
    manager = _manager(actor)
    school, division = unit_for_new_account(actor, unit_code)
    _check_role(manager, role, province_unit=division is not None and division.level == "province")
    return _create(actor=actor, school=school, division=division, username=username, role=role, full_name=full_name)


@transaction.atomic
def account_create_on_server(*, unit_code: str, username: str, role: str, full_name: str = "") -> tuple:
    """The first accounts of an installation (``manage.py create_account``): any unit, any role
    (``admin`` only in a province); the event has no actor."""
    code = (unit_code or "").strip()
    school = School.objects.filter(code=code).first() if len(code) == 10 else None
    division = Division.objects.filter(code=code).first() if school is None else None
    if school is None and division is None:
        raise ValidationFailed(_("单位代码“%(code)s”不存在") % {"code": code[:20]}, code="unit_out_of_reach",
                               field="unit_code")
    if role not in ASSIGNABLE or (role == Role.ADMIN and (division is None or division.level != "province")):
        raise ValidationFailed(_("角色“%(role)s”不能用于此单位") % {"role": role[:20]}, code="role_not_assignable",
                               field="role")
    return _create(actor=None, school=school, division=division, username=username, role=role, full_name=full_name)


def _create(*, actor, school, division, username: str, role: str, full_name: str) -> tuple:
    username = (username or "").strip()
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        raise ValidationFailed(_("用户名只能包含字母、数字和 @ . + - _"), code="username_invalid", field="username") from None
    if not username or len(username) > 150:
        raise ValidationFailed(_("请填写用户名（不超过 150 个字符）"), code="username_invalid", field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationFailed(_("用户名“%(name)s”已被使用") % {"name": username}, code="username_taken", field="username")
    password = temporary_password()
    user = User.objects.create_user(username=username, password=password, first_name=(full_name or "")[:150])
    Membership.objects.create(user=user, role=role, school=school, division=division, must_change_password=True)
    user = User.objects.select_related("membership__school").get(pk=user.pk)
    account_event_record(AccountEvent.Action.CREATED, user=user, actor=actor, role=role)
    return user, password


def _locked_target(actor, pk: int):
    target = account_get(actor, pk)
    return User.objects.select_for_update(of=("self",)).select_related("membership__school").get(pk=target.pk)


@transaction.atomic
def account_disable(*, actor, pk: int):
    target = _locked_target(actor, pk)
    if target.is_active:
        target.is_active = False
        target.save(update_fields=["is_active"])
        account_event_record(AccountEvent.Action.DISABLED, user=target, actor=actor)
    return target


@transaction.atomic
def account_enable(*, actor, pk: int):
    target = _locked_target(actor, pk)
    if not target.is_active:
        target.is_active = True
        target.save(update_fields=["is_active"])
        account_event_record(AccountEvent.Action.ENABLED, user=target, actor=actor)
    return target


@transaction.atomic
def account_role_set(*, actor, pk: int, role: str):
    manager = _manager(actor)
    target = _locked_target(actor, pk)
    membership = target.membership
    _check_role(manager, role, province_unit=membership.level == "province")
    if membership.role != role:
        old = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        account_event_record(AccountEvent.Action.ROLE_CHANGED, user=target, actor=actor, old=old, new=role)
    return target


@transaction.atomic
def account_password_reset(*, actor, pk: int, password: str | None = None) -> tuple:
    """A new password (a temporary one unless given, under the policy) that must be changed
    at the next login; returns the account and the password (shown once)."""
    target = _locked_target(actor, pk)
    if password:
        try:
            validate_password(password, target)
        except ValidationError as exc:
            raise ValidationFailed(" ".join(exc.messages), code="password_policy", field="password") from None
    password = password or temporary_password()
    target.set_password(password)
    target.save()
    Membership.objects.filter(user=target).update(must_change_password=True)
    account_event_record(AccountEvent.Action.PASSWORD_RESET, user=target, actor=actor)
    return target, password


@transaction.atomic
def account_unlock(*, actor, pk: int):
    """Lift the lockout of an account after wrong passwords (django-axes), and of the addresses
    it failed from that are locked."""
    target = _locked_target(actor, pk)
    was_locked = is_locked(target.username)
    addresses = locked_addresses_of(target.username)
    axes_reset(username=target.username)
    for address in addresses:  # a school behind one address: its other users get in again too
        axes_reset(ip=address)
    account_event_record(AccountEvent.Action.UNLOCKED, user=target, actor=actor, was_locked=was_locked,
                         addresses=",".join(addresses))
    return target


@transaction.atomic
def account_totp_reset(*, actor, pk: int):
    """Unbind the account's TOTP devices (a lost phone); it binds a new one at its next login
    when it must have one."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    target = _locked_target(actor, pk)
    removed, _ = TOTPDevice.objects.filter(user=target).delete()
    account_event_record(AccountEvent.Action.TOTP_RESET, user=target, actor=actor, devices=removed)
    return target
