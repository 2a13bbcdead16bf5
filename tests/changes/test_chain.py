"""The one approval chain: steps, two-person rule, order, refusal, withdrawal, races."""

from __future__ import annotations

import pytest

from changes import requests
from changes.models import ChangeRequest, State
from kernel.errors import BusinessRefused, Conflict, Forbidden, NotFound, ValidationFailed
from registry.models import PupilStatus
from tests.changes.conftest import approve_both, open_request
from workflow.models import ChainEvent, OpenBusiness, WorkItem

SUSPEND = {"start": "2026-11-23", "until": "2027-06-30"}


def test_request_walks_school_then_county_and_is_applied(world):
    request = open_request(world, "suspend", SUSPEND)
    assert request.state == State.SCHOOL_REVIEW
    item = WorkItem.objects.get(object_id=request.pk, state="open", kind="status_change")
    assert item.school == world.school_a1 and item.role == "approver"

    requests.change_request_approve(user=world["a1"].approver, request_id=request.pk)
    request.refresh_from_db()
    assert request.state == State.COUNTY_REVIEW
    county_item = WorkItem.objects.get(object_id=request.pk, state="open", kind="status_change")
    assert county_item.division == world.county_a
    assert county_item.due_on > county_item.opened_on

    requests.change_request_approve(user=world["county_a"].approver, request_id=request.pk)
    request.refresh_from_db()
    pupil = world.pupils["a1"]
    pupil.refresh_from_db()
    assert request.state == State.APPROVED
    assert pupil.status == PupilStatus.SUSPENDED
    assert pupil.status_until.isoformat() == "2027-06-30"
    assert not WorkItem.objects.filter(object_id=request.pk, state="open", kind="status_change").exists()
    assert not OpenBusiness.objects.filter(pupil=pupil).exists()
    assert pupil.history.filter(kind="change_suspend").exists()
    assert [e.to_state for e in ChainEvent.objects.filter(object_id=request.pk).order_by("id")] == [
        "draft", "school_review", "county_review", "approved",
    ]


def test_field_changes_are_in_the_pghistory_audit_with_the_approver(world):
    request = open_request(world, "suspend", SUSPEND)
    approve_both(world, request)
    event = world.pupils["a1"].pgh_event_model.objects.filter(pgh_obj=world.pupils["a1"], pgh_label="update").latest(
        "pgh_created_at"
    )
    assert event.status == PupilStatus.SUSPENDED
    assert event.pgh_context.metadata["username"] == world["county_a"].approver.username


def test_open_request_is_the_pupils_open_business(world):
    open_request(world, "suspend", SUSPEND)
    assert OpenBusiness.objects.get(pupil=world.pupils["a1"]).kind == "status_change"
    with pytest.raises(BusinessRefused) as exc:
        open_request(world, "abroad", {"date": "2026-11-01", "destination": "新加坡"})
    assert exc.value.code == "open_business"


def test_two_person_rule_initiator_cannot_approve(world):
    request = open_request(world, "suspend", SUSPEND, user=world["a1"].approver)
    with pytest.raises(Forbidden) as exc:
        requests.change_request_approve(user=world["a1"].approver, request_id=request.pk)
    assert exc.value.code == "two_person_rule" and "same_person" in exc.value.aliases
    request.refresh_from_db()
    assert request.state == State.SCHOOL_REVIEW


def test_two_person_rule_for_county_initiated_key_change(world):
    request = open_request(world, "key_change", {"name": "李娜娜"}, user=world["county_a"].approver)
    assert request.state == State.COUNTY_REVIEW
    with pytest.raises(Forbidden) as exc:
        requests.change_request_approve(user=world["county_a"].approver, request_id=request.pk)
    assert exc.value.code == "two_person_rule" and "same_person" in exc.value.aliases


def test_county_cannot_act_before_school_approver(world):
    request = open_request(world, "suspend", SUSPEND)
    with pytest.raises(Conflict) as exc:
        requests.change_request_approve(user=world["county_a"].approver, request_id=request.pk)
    assert exc.value.code == "step_not_reached"
    with pytest.raises(Conflict):
        requests.change_request_refuse(user=world["county_a"].approver, request_id=request.pk, reason="不同意")


def test_operator_cannot_approve(world):
    request = open_request(world, "suspend", SUSPEND, user=world["a1"].approver)
    with pytest.raises(Forbidden) as exc:
        requests.change_request_approve(user=world["a1"].operator, request_id=request.pk)
    assert exc.value.code == "role_forbidden"


def test_double_approval_gets_conflict(world):
    request = open_request(world, "suspend", SUSPEND)
    requests.change_request_approve(user=world["a1"].approver, request_id=request.pk)
    with pytest.raises(Conflict) as exc:
        requests.change_request_approve(user=world["a1"].approver, request_id=request.pk)
    assert exc.value.code == "state_conflict" and "state_changed" in exc.value.aliases
    assert exc.value.status == 409
    assert WorkItem.objects.filter(object_id=request.pk, state="open", kind="status_change").count() == 1


def test_other_county_and_other_school_get_not_found(world):
    request = open_request(world, "suspend", SUSPEND)
    for user in (world["b1"].approver, world["county_b"].approver, world["other_province"].admin):
        with pytest.raises(NotFound):
            requests.change_request_approve(user=user, request_id=request.pk)


def test_another_school_cannot_open_for_a_pupil_out_of_scope(world):
    with pytest.raises(NotFound):
        open_request(world, "suspend", SUSPEND, user=world["b1"].operator)


def test_city_user_cannot_initiate(world):
    with pytest.raises(Forbidden) as exc:
        open_request(world, "suspend", SUSPEND, user=world["city"].operator)
    assert exc.value.code == "school_only"


def test_refusal_needs_a_reason_and_ends_the_chain(world):
    request = open_request(world, "suspend", SUSPEND)
    with pytest.raises(ValidationFailed) as exc:
        requests.change_request_refuse(user=world["a1"].approver, request_id=request.pk, reason="  ")
    assert exc.value.code == "reason_required"
    requests.change_request_refuse(user=world["a1"].approver, request_id=request.pk, reason="材料不全")
    request.refresh_from_db()
    assert request.state == State.REFUSED and request.refusal_reason == "材料不全"
    assert not OpenBusiness.objects.filter(pupil=world.pupils["a1"]).exists()
    assert not WorkItem.objects.filter(object_id=request.pk, state="open", kind="status_change").exists()
    world.pupils["a1"].refresh_from_db()
    assert world.pupils["a1"].status == PupilStatus.ENROLLED


def test_initiator_withdraws_until_the_county_decides(world):
    request = open_request(world, "suspend", SUSPEND)
    requests.change_request_approve(user=world["a1"].approver, request_id=request.pk)
    with pytest.raises(Forbidden) as exc:
        requests.change_request_withdraw(user=world["a1"].approver, request_id=request.pk)
    assert exc.value.code == "not_initiator"
    requests.change_request_withdraw(user=world["a1"].operator, request_id=request.pk)
    request.refresh_from_db()
    assert request.state == State.WITHDRAWN
    assert not OpenBusiness.objects.filter(pupil=world.pupils["a1"]).exists()


def test_withdrawal_after_the_county_decided_is_refused(world):
    request = open_request(world, "suspend", SUSPEND)
    approve_both(world, request)
    with pytest.raises(Conflict):
        requests.change_request_withdraw(user=world["a1"].operator, request_id=request.pk)


def test_draft_then_submit(world):
    request = open_request(world, "suspend", SUSPEND, submit=False)
    assert request.state == State.DRAFT
    assert not WorkItem.objects.filter(object_id=request.pk, kind="status_change").exists()
    requests.change_request_submit(user=world["a1"].operator, request_id=request.pk)
    request.refresh_from_db()
    assert request.state == State.SCHOOL_REVIEW
    with pytest.raises(Conflict):
        requests.change_request_submit(user=world["a1"].operator, request_id=request.pk)


def test_one_open_request_per_pupil_is_a_database_constraint():
    names = [c.name for c in ChangeRequest._meta.constraints]
    assert "one_open_change_request_per_pupil" in names
