"""删除 of a duplicate case takes two persons: proposed by one of the member's county,
approved by an approver of that county (another person); undo within the retention period."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from duplicates import deletion
from duplicates.models import DeletionRequest
from kernel.errors import BusinessRefused, Conflict, Forbidden, NotFound
from provinces.models import ProvincePolicy
from registry.models import PupilStatus
from tests.duplicates.helpers import open_cases, pinyin_pair
from workflow.models import OpenBusiness, WorkItem


@pytest.fixture
def case(world):
    from duplicates import sweeps

    a, b = pinyin_pair(world)
    sweeps.sweep_run_inline(user=world["province"].admin, province_code="44", partitions=1)
    found = open_cases().get()
    found.a, found.b = a, b
    return found


def propose(world, case, user=None):
    return deletion.deletion_propose(user=user or world["county_b"].operator, case_id=case.pk,
                                     pupil=case.b.national_number, note="重复建籍")


def test_a_proposal_deletes_nothing_and_waits_for_an_approver_of_the_county(world, case):
    row = propose(world, case)
    case.b.refresh_from_db()
    assert case.b.status == PupilStatus.ENROLLED
    assert row.state == "county_review"
    assert OpenBusiness.objects.get(pupil=case.b).kind == "deletion"  # no transfer meanwhile
    item = WorkItem.objects.get(object_id=row.pk, kind="deletion", state="open")
    assert item.division_id == "440105" and item.role == "approver"
    case.refresh_from_db()
    assert case.status == "open"


def test_the_proposer_cannot_approve_and_an_operator_cannot_either(world, case):
    row = propose(world, case, user=world["county_b"].approver)
    with pytest.raises(Forbidden) as own:
        deletion.deletion_approve(user=world["county_b"].approver, request_id=row.pk)
    assert own.value.code == "two_person_rule"
    with pytest.raises(Forbidden) as operator:
        deletion.deletion_approve(user=world["county_b"].operator, request_id=row.pk)
    assert operator.value.code == "role_forbidden"
    with pytest.raises((Forbidden, NotFound)):
        deletion.deletion_approve(user=world["county_a"].approver, request_id=row.pk)  # the other member's county


def test_an_approver_of_the_county_deletes_and_it_can_be_undone_within_the_retention_period(world, case):
    row = propose(world, case)
    row = deletion.deletion_approve(user=world["county_b"].approver, request_id=row.pk)
    case.b.refresh_from_db()
    case.refresh_from_db()
    assert row.state == "approved" and row.approved_by == world["county_b"].approver
    assert case.b.status == PupilStatus.DELETED and case.status == "resolved" and case.resolution == "delete"
    assert not OpenBusiness.objects.filter(pupil=case.b).exists()
    with pytest.raises(Forbidden):
        deletion.deletion_undo(user=world["county_b"].operator, request_id=row.pk)  # an approver undoes
    row = deletion.deletion_undo(user=world["county_b"].approver, request_id=row.pk)
    case.b.refresh_from_db()
    case.refresh_from_db()
    assert row.undone_at and case.b.status == PupilStatus.ENROLLED
    assert case.status == "open" and case.resolution == ""
    assert case.b.history.filter(kind="deletion_undone").exists()
    with pytest.raises(Conflict) as again:
        deletion.deletion_undo(user=world["county_b"].approver, request_id=row.pk)
    assert again.value.code == "deletion_not_approved"


def test_undo_after_the_retention_period_is_refused(world, case):
    ProvincePolicy.objects.filter(province_id="44").delete()
    ProvincePolicy.objects.create(province_id="44", deletion_undo_days=5)
    row = deletion.deletion_approve(user=world["county_b"].approver, request_id=propose(world, case).pk)
    with time_machine.travel(dt.timedelta(days=6)):
        with pytest.raises(Conflict) as late:
            deletion.deletion_undo(user=world["county_b"].approver, request_id=row.pk)
    assert late.value.code == "deletion_undo_expired"


def test_a_refusal_needs_a_reason_and_keeps_the_record(world, case):
    row = propose(world, case)
    with pytest.raises(Exception) as bare:
        deletion.deletion_refuse(user=world["county_b"].approver, request_id=row.pk, reason="")
    assert bare.value.code == "reason_required"
    row = deletion.deletion_refuse(user=world["county_b"].approver, request_id=row.pk, reason="两人均真实")
    case.b.refresh_from_db()
    assert row.state == "refused" and case.b.status == PupilStatus.ENROLLED
    assert not OpenBusiness.objects.filter(pupil=case.b).exists()


def test_one_proposal_at_a_time(world, case):
    propose(world, case)
    with pytest.raises((Conflict, BusinessRefused)):
        propose(world, case, user=world["county_b"].approver)
    assert DeletionRequest.objects.count() == 1


def test_resolve_with_delete_through_the_api_only_proposes(world, case, client, login):
    login(world["county_b"].operator)
    response = client.post(f"/api/v1/duplicate-cases/{case.pk}/resolve",
                           {"resolution": "delete", "pupil": case.b.national_number, "note": "重复建籍"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "open" and body["deletion_request"]
    rid = body["deletion_request"]
    assert client.post(f"/api/v1/deletion-requests/{rid}/approve", "{}",
                       content_type="application/json").json()["code"] == "role_forbidden"
    login(world["county_b"].approver)
    response = client.post(f"/api/v1/deletion-requests/{rid}/approve", "{}", content_type="application/json")
    assert response.status_code == 200 and response.json()["state"] == "approved"
    assert response.json()["undo_until"]
    login(world["county_a"].operator)  # the other member's county sees the case, not this request's pupil
    assert client.get(f"/api/v1/deletion-requests/{rid}").status_code == 404


def test_the_proposal_is_on_the_county_approvers_home_page(world, case, login):
    propose(world, case)
    page = login(world["county_b"].approver).get("/").content.decode()
    assert "删除学籍待区县审核" in page
    assert "删除学籍待区县审核" not in login(world["county_a"].approver).get("/").content.decode()
