"""The Django admin is no side door: pupils, numbers, statuses, schools, classes, chains, cases,
accounts and tokens cannot be added, changed or deleted there — not even by a superuser."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.http import HttpRequest

from accounts.models import AccountEvent, ApiToken, Membership
from changes.models import ChangeRequest, DropoutFollowUp, GraduationList, PromotionRun, SuspensionOverdue
from duplicates.models import CleanPair, DuplicateCase, DuplicateSweep, IdentityCheckRun
from registry.models import HistoryEntry, Pupil
from rosters.models import RosterExport, RosterImport
from schools.models import School, SchoolClass
from transfers.models import Transfer, TransferLookup
from workflow.models import WorkItem

READ_ONLY = [
    Pupil, HistoryEntry, School, SchoolClass, Transfer, TransferLookup, ChangeRequest, GraduationList,
    DropoutFollowUp, SuspensionOverdue, PromotionRun, DuplicateSweep, DuplicateCase, CleanPair, IdentityCheckRun,
    WorkItem, RosterImport, RosterExport, Membership, ApiToken, AccountEvent, User,
]


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", "root@example.org", "root-pass-12345")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda m: m.__name__)
def test_no_add_change_or_delete_in_the_admin(model, superuser):
    model_admin = admin.site._registry[model]
    request = HttpRequest()
    request.user = superuser
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert "delete_selected" not in model_admin.get_actions(request)
    for inline in model_admin.get_inline_instances(request):
        assert not inline.has_add_permission(request, None)
        assert not inline.has_change_permission(request)
        assert not inline.has_delete_permission(request)


def test_a_pupil_cannot_be_edited_through_the_admin(admin_client, world):
    pupil = world.pupils["a1"]
    url = f"/admin/registry/pupil/{pupil.pk}/change/"
    assert admin_client.get(url).status_code == 200  # visible, read-only
    response = admin_client.post(url, {"name": "改名", "status": "deleted", "national_number": "G1"})
    assert response.status_code == 403
    pupil.refresh_from_db()
    assert pupil.name == "李娜" and pupil.status == "enrolled"


def test_a_pupil_cannot_be_added_or_deleted_through_the_admin(admin_client, world):
    pupil = world.pupils["a1"]
    assert admin_client.get("/admin/registry/pupil/add/").status_code == 403
    assert admin_client.post(f"/admin/registry/pupil/{pupil.pk}/delete/", {"post": "yes"}).status_code == 403
    response = admin_client.post("/admin/registry/pupil/", {"action": "delete_selected", "_selected_action": [pupil.pk],
                                                             "post": "yes"})
    assert response.status_code in (200, 302)
    assert Pupil.objects.filter(pk=pupil.pk).exists()


def test_a_school_cannot_be_edited_through_the_admin(admin_client, world):
    school = world.school_a1
    response = admin_client.post(f"/admin/schools/school/{school.pk}/change/", {"code": "9999999999", "name": "x"})
    assert response.status_code == 403
    school.refresh_from_db()
    assert school.code == "4401060001"


def test_a_membership_cannot_be_changed_through_the_admin(admin_client, world):
    membership = world["a1"].operator.membership
    response = admin_client.post(f"/admin/accounts/membership/{membership.pk}/change/", {"role": "admin"})
    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.role == "operator"
