"""What a role may do: the questions every service asks before it writes."""

from __future__ import annotations

import pytest

from accounts import permissions
from kernel.errors import Forbidden


def test_require_role_refuses_other_roles_and_users_without_a_unit(world, django_user_model):
    assert permissions.require_role(world["a1"].operator, "operator").school == world.school_a1
    with pytest.raises(Forbidden) as exc:
        permissions.require_role(world["a1"].operator, "approver")
    assert exc.value.code == "role_forbidden"
    stranger = django_user_model.objects.create_user("stranger", password="x")
    with pytest.raises(Forbidden):
        permissions.require_role(stranger, "operator")
    with pytest.raises(Forbidden) as exc:
        permissions.require_membership(stranger)
    assert exc.value.code == "no_unit"


def test_an_inactive_user_has_no_membership(world):
    user = world["a1"].approver
    user.is_active = False
    user.save()
    assert permissions.membership_of(user) is None


def test_level_checks(world):
    assert permissions.require_school_user(world["a1"].operator).school_id == world.school_a1.pk
    with pytest.raises(Forbidden) as exc:
        permissions.require_school_user(world["county_a"].operator)
    assert exc.value.code == "school_only"
    assert permissions.require_county_user(world["county_a"].approver).division_id == "440106"
    for user in (world["a1"].operator, world["city"].operator, world["province"].operator):
        with pytest.raises(Forbidden) as exc:
            permissions.require_county_user(user)
        assert exc.value.code in ("county_only", "role_forbidden")


def test_only_the_admin_of_that_province(world):
    assert permissions.require_province_admin(world["province"].admin, "440106").division_id == "44"
    for user, code in ((world["other_province"].admin, "44"), (world["province"].approver, "44")):
        with pytest.raises(Forbidden):
            permissions.require_province_admin(user, code)
    assert permissions.can_register(world["a1"].operator) and not permissions.can_register(world["a1"].approver)
    assert permissions.is_approver(world["county_a"].approver) and not permissions.is_approver(world["a1"].operator)
