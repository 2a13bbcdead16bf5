"""Accounts run by the levels: a county runs its schools' accounts, a city its counties', a
province its cities' and its own; any other account is "not found"; every change is an
account event with the actor."""

from __future__ import annotations

import pytest
from django.conf import settings

from accounts import services
from accounts.models import AccountEvent, Membership
from kernel.errors import Forbidden, NotFound, ValidationFailed
from tests.factories import PASSWORD


def _login_page(client, username, password, address="10.1.1.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_a_county_creates_an_account_in_its_school(client, login, world):
    login(world["county_a"].operator)
    response = client.post("/accounts/new/", {"unit_code": "4401060001", "username": "4401060001.viewer",
                                              "full_name": "王老师", "role": "viewer"})
    assert response.status_code == 200
    membership = Membership.objects.get(user__username="4401060001.viewer")
    assert membership.school == world.school_a1 and membership.role == "viewer" and membership.must_change_password
    password = response.context["password"]
    assert password in response.content.decode()
    event = AccountEvent.objects.get(username="4401060001.viewer", action="created")
    assert event.actor == world["county_a"].operator and event.division_code == "440106"
    client.logout()
    _login_page(client, "4401060001.viewer", password)
    assert client.get("/pupils/")["Location"].startswith("/account/password/")


@pytest.mark.parametrize("unit_code", ["4401050001", "4201020001", "440105", "4401", "44", "9999999999"])
def test_a_county_cannot_create_accounts_outside_its_schools(world, unit_code):
    with pytest.raises(ValidationFailed) as refused:
        services.account_create(actor=world["county_a"].operator, unit_code=unit_code, username="x.new", role="operator")
    assert refused.value.code == "unit_out_of_reach"
    assert "不存在或不由您管理" in str(refused.value.message)


def test_the_list_shows_only_the_accounts_the_unit_runs(world):
    names = set(services.accounts_managed_by(world["county_a"].operator).values_list("username", flat=True))
    assert names == {f"{c}.{r}" for c in ("4401060001", "4401060002") for r in ("operator", "approver")}
    city = set(services.accounts_managed_by(world["city"].approver).values_list("username", flat=True))
    assert city == {f"{c}.{r}" for c in ("440106", "440105") for r in ("operator", "approver")}
    province = set(services.accounts_managed_by(world["province"].admin).values_list("username", flat=True))
    assert province == {"4401.operator", "4401.approver", "44.operator", "44.approver"}


@pytest.mark.parametrize(("manager", "target"), [
    ("county_a", "b1"), ("county_a", "x"), ("county_a", "county_b"), ("county_a", "city"),
    ("city", "a1"), ("city", "other_county"), ("province", "county_a"), ("province", "other_province"),
    ("other_province", "city"),
])
def test_an_account_of_another_unit_is_not_found(client, login, world, manager, target):
    account = world[target].operator
    login(world[manager].operator if manager != "other_province" else world[manager].admin)
    assert client.get(f"/accounts/{account.pk}/").status_code == 404
    for action in ("disable", "unlock", "password-reset"):
        assert client.post(f"/accounts/{account.pk}/{action}/").status_code == 404
    assert client.post(f"/accounts/{account.pk}/role/", {"role": "viewer"}).status_code == 404
    account.refresh_from_db()
    assert account.is_active and account.membership.role == "operator" and account.check_password(PASSWORD)
    assert not AccountEvent.objects.filter(user=account).exclude(action="login").exists()


def test_a_missing_account_reads_the_same_as_a_foreign_one(client, login, world):
    login(world["county_a"].operator)
    foreign = client.get(f"/accounts/{world['b1'].operator.pk}/")
    missing = client.get("/accounts/99999999/")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.context["error"].message == missing.context["error"].message


def test_no_one_manages_their_own_account_here(world):
    admin = world["province"].admin
    with pytest.raises(NotFound):
        services.account_disable(actor=admin, pk=admin.pk)


def test_schools_and_read_only_roles_run_no_accounts(world):
    from tests.factories import make_user

    viewer = make_user("440106.viewer", role="viewer", division=world.county_a)
    for user in (world["a1"].operator, world["a1"].approver, viewer):
        with pytest.raises(Forbidden):
            services.accounts_managed_by(user)


def test_disable_and_enable(client, world):
    target = world["a1"].operator
    services.account_disable(actor=world["county_a"].approver, pk=target.pk)
    assert _login_page(client, target.username, PASSWORD).status_code == 200  # the form again: refused
    assert "_auth_user_id" not in client.session
    services.account_enable(actor=world["county_a"].approver, pk=target.pk)
    assert _login_page(client, target.username, PASSWORD).status_code == 302
    actions = list(AccountEvent.objects.filter(user=target, actor=world["county_a"].approver)
                   .order_by("created_at", "pk").values_list("action", flat=True))
    assert actions == ["disabled", "enabled"]


def test_a_disabled_account_loses_its_open_session(client, login, world):
    target = world["a1"].operator
    login(target)
    services.account_disable(actor=world["county_a"].operator, pk=target.pk)
    assert client.get("/pupils/").status_code == 302


def test_a_password_reset_gives_a_temporary_password_to_change(client, world):
    target = world["b1"].operator
    _, password = services.account_password_reset(actor=world["county_b"].operator, pk=target.pk)
    assert _login_page(client, target.username, PASSWORD).status_code == 200
    assert _login_page(client, target.username, password).status_code == 302
    assert client.get("/")["Location"].startswith("/account/password/")
    assert AccountEvent.objects.get(user=target, action="password_reset").actor == world["county_b"].operator


def test_role_changes_and_who_may_give_admin(world):
    target = world["county_a"].operator
    services.account_role_set(actor=world["city"].operator, pk=target.pk, role="auditor")
    target.membership.refresh_from_db()
    assert target.membership.role == "auditor"
    event = AccountEvent.objects.get(user=target, action="role_changed")
    assert event.details == {"old": "operator", "new": "auditor"}
    with pytest.raises(ValidationFailed) as refused:
        services.account_role_set(actor=world["city"].operator, pk=target.pk, role="admin")
    assert refused.value.code == "role_not_assignable"
    own = world["province"].operator
    with pytest.raises(ValidationFailed):
        services.account_role_set(actor=world["province"].approver, pk=own.pk, role="admin")
    services.account_role_set(actor=world["province"].admin, pk=own.pk, role="admin")


def test_the_level_above_unlocks_a_locked_account(client, login, world):
    target = world["a2"].approver
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login_page(client, target.username, "wrong-password")
    assert _login_page(client, target.username, PASSWORD, address="10.2.2.2").status_code == 429
    login(world["county_a"].operator)
    page = client.get(f"/accounts/{target.pk}/")
    assert 'data-testid="unlock"' in page.content.decode()
    assert client.post(f"/accounts/{target.pk}/unlock/").status_code == 302
    client.logout()
    assert _login_page(client, target.username, PASSWORD, address="10.2.2.2").status_code == 302
    assert AccountEvent.objects.filter(user=target, action="unlocked", actor=world["county_a"].operator).exists()


def test_a_username_is_taken_once(world):
    with pytest.raises(ValidationFailed) as refused:
        services.account_create(actor=world["county_a"].operator, unit_code="4401060001",
                                username="4401060002.OPERATOR", role="operator")
    assert refused.value.code == "username_taken"


def test_the_province_creates_accounts_in_its_cities_and_itself(world):
    user, _ = services.account_create(actor=world["province"].admin, unit_code="4401", username="4401.auditor",
                                      role="auditor")
    assert user.membership.division == world.city
    user, _ = services.account_create(actor=world["province"].admin, unit_code="44", username="44.admin2",
                                      role="admin")
    assert user.membership.role == "admin"


def test_the_first_accounts_are_made_on_the_server(world):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("create_account", "44.admin2", "--unit", "44", "--role", "admin", stdout=out, stderr=StringIO())
    user = Membership.objects.get(user__username="44.admin2").user
    assert user.check_password(out.getvalue().strip()) and user.membership.must_change_password
    assert AccountEvent.objects.get(user=user, action="created").actor is None
    with pytest.raises(CommandError):
        call_command("create_account", "x.admin", "--unit", "440106", "--role", "admin", stdout=StringIO(),
                     stderr=StringIO())


def test_unlocking_also_frees_the_locked_address_it_failed_from(client, world):
    target, colleague = world["a1"].operator, world["a1"].approver
    for name in (target.username, target.username, target.username, "typo-1", "typo-2"):
        _login_page(client, name, "wrong-password", address="10.3.3.3")
    assert _login_page(client, colleague.username, PASSWORD, address="10.3.3.3").status_code == 429
    services.account_unlock(actor=world["county_a"].operator, pk=target.pk)
    assert _login_page(client, colleague.username, PASSWORD, address="10.3.3.3").status_code == 302
    event = AccountEvent.objects.get(user=target, action="unlocked")
    assert event.details["addresses"] == "10.3.3.3"
