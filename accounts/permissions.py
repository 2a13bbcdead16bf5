"""Who may do what (权限): the one module that reads a user's role and unit for a rule.

What a user may *see* is ``accounts.scope``; what a role may *do* is here. Services call
these before they write; views and menus call the ``can_*`` questions to offer only what
the services would accept. Every refusal is a ``Forbidden`` with a stable code.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from accounts.models import Membership
from accounts.scope import scope_of
from kernel.errors import Forbidden, ValidationFailed
from schools.models import School

Role = Membership.Role

#: Roles that fill in and submit (学籍管理员), and that approve (学籍主管领导; a province admin
#: approves at the province's own steps).
SUBMITTERS = (Role.OPERATOR, Role.APPROVER)
APPROVERS = (Role.APPROVER, Role.ADMIN)
#: Roles that see their unit's scope and change nothing (查询用户, 审计员).
READ_ONLY_ROLES = (Role.VIEWER, Role.AUDITOR)
#: Requests that change nothing.
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
#: API addresses whose POST changes no registry data and only leaves the record of a read
#: (an export): a read-only role and a read-only token may post to them (``recorded_read``).
RECORDED_READ_PATHS: set[str] = set()


def membership_of(user) -> Membership | None:
    """The user's unit and role, or ``None`` (anonymous, inactive, or no unit)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return getattr(user, "membership", None)  # RelatedObjectDoesNotExist is an AttributeError


def require_membership(user) -> Membership:
    membership = membership_of(user)
    if membership is None:
        raise Forbidden(_("您没有所属单位，不能办理此业务"), code="no_unit")
    return membership


def is_read_only(user) -> bool:
    """A viewer or an auditor (sees the scope, changes nothing)."""
    membership = membership_of(user)
    return membership is not None and membership.role in READ_ONLY_ROLES


def require_writer(user) -> None:
    """Refuses a read-only role (viewer, auditor) any write: the API's authentication, the
    page guard (``accounts.middleware``) and the chain engine call this."""
    if is_read_only(user):
        raise Forbidden(_("您的账号为只读角色，只能查询，不能提交或修改数据"), code="read_only_role")


def recorded_read(view):
    """Marks a page whose POST changes no registry data and only leaves the record of a read
    (an export): a read-only role may post to it. A GET writes nothing, so such a read is a POST."""
    view.recorded_read = True
    return view


def recorded_read_path(path: str) -> None:
    """The same for an API address (``/api/v1/...``)."""
    RECORDED_READ_PATHS.add(path)


def is_recorded_read(request, view=None) -> bool:
    return request.path in RECORDED_READ_PATHS or getattr(view, "recorded_read", False)


def can_search_audit(user) -> bool:
    """审计: an auditor (or a province admin) searches the audit trail of its scope."""
    membership = membership_of(user)
    return membership is not None and membership.role in (Role.AUDITOR, Role.ADMIN)


def require_auditor(user) -> Membership:
    if not can_search_audit(user):
        raise Forbidden(_("只有审计员可以查询审计记录"), code="auditor_only")
    return membership_of(user)


def require_role(user, *roles: str) -> Membership:
    """The user's membership when its role is one of ``roles``."""
    membership = membership_of(user)
    if membership is None or membership.role not in roles:
        raise Forbidden(_("您的角色不能办理此业务"), code="role_forbidden")
    return membership


def require_school_user(user, *roles: str, message=None) -> Membership:
    """A user of a school (in one of ``roles``, any role when none are given)."""
    membership = require_role(user, *roles) if roles else require_membership(user)
    if not membership.school_id:
        raise Forbidden(message or _("只有学校用户可以办理此业务"), code="school_only")
    return membership


def require_county_user(user, *roles: str, message=None) -> Membership:
    """A user of a county-level bureau (区县教育局, or a city without counties)."""
    membership = require_role(user, *(roles or SUBMITTERS))
    if membership.level != "county":
        raise Forbidden(message or _("此业务由区县教育行政部门办理"), code="county_only")
    return membership


def require_province_admin(user, province_code: str | None = None) -> Membership:
    """The admin of a province (of ``province_code``'s province when given)."""
    membership = require_role(user, Role.ADMIN)
    if membership.level != "province" or (province_code and membership.division_id != province_code[:2]):
        raise Forbidden(_("只有本省的省级管理员可以办理此业务"), code="province_admin_only")
    return membership


def can_register(user) -> bool:
    """新生注册 and roster imports: a school operator (or a province admin)."""
    membership = membership_of(user)
    return membership is not None and membership.role in (Role.OPERATOR, Role.ADMIN)


def is_approver(user) -> bool:
    membership = membership_of(user)
    return membership is not None and membership.role in APPROVERS


def level_of(user) -> str | None:
    """"school", "county", "city" or "province" (``None`` without a unit)."""
    membership = membership_of(user)
    return membership.level if membership is not None else None


def school_for_write(*, user, school_code: str) -> School:
    """The school a user may write pupils into, by its code; refuses schools out of scope."""
    scope = scope_of(user)
    school = School.objects.select_related("county").filter(code=school_code).first()
    if school is None or scope is None or not scope.covers_school(school):
        raise ValidationFailed(
            _("学校标识码“%(code)s”不存在或不在您的管理范围内") % {"code": school_code},
            code="school_out_of_scope",
            field="school_code",
        )
    return school
