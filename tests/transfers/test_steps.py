"""The steps: order, party, role, reason, 409 on a moved step, completion and its effects."""

from __future__ import annotations

import pytest

from kernel.errors import BusinessRefused, Conflict, Forbidden, NotFound, ValidationFailed
from provinces.models import ProvincePolicy
from registry.models import HistoryEntry, Pupil
from tests.transfers.chain import apply, run_chain, submit
from transfers import services
from transfers.models import TransferSnapshot
from transfers.states import State
from workflow.models import OpenBusiness, WorkItem


def _approve(world, unit, transfer):
    return services.transfer_approve(user=world[unit].approver, transfer_id=transfer.pk)


def test_full_chain_moves_through_the_four_parties_in_order(world):
    transfer = apply(world)
    assert submit(world, transfer).state == State.DEST_COUNTY
    assert _approve(world, "county_b", transfer).state == State.ORIGIN_SCHOOL
    assert _approve(world, "a1", transfer).state == State.ORIGIN_COUNTY
    done = _approve(world, "county_a", transfer)
    assert done.state == State.COMPLETED and done.closed_at is not None
    assert [s.to_state for s in done.log.all()] == [
        "draft", "dest_county", "origin_school", "origin_county", "completed"
    ]


def test_completion_moves_the_pupil_and_keeps_the_number(world):
    pupil = world.pupils["a1"]
    number = pupil.national_number
    run_chain(world, apply(world, dest_class_number=4))
    pupil.refresh_from_db()
    assert pupil.national_number == number
    assert pupil.school == world.school_b1 and pupil.county_code == "440105"
    assert pupil.school_class.school == world.school_b1 and pupil.school_class.number == 4  # class created
    assert not OpenBusiness.objects.filter(pupil=pupil).exists()
    assert not WorkItem.objects.filter(state="open").exists()


def test_both_schools_history_shows_the_move(world):
    run_chain(world, apply(world))
    entries = {e.kind: e for e in HistoryEntry.objects.filter(pupil=world.pupils["a1"])}
    assert entries["transferred_out"].school == world.school_a1
    assert entries["transferred_in"].school == world.school_b1
    assert "天河第一小学" in entries["transferred_in"].summary


def test_origin_keeps_a_read_only_snapshot_as_the_record_stood(world):
    transfer = run_chain(world, apply(world))
    snap = TransferSnapshot.objects.get(transfer=transfer)
    assert snap.data["school_code"] == world.school_a1.code
    assert snap.data["county_code"] == "440106"
    assert snap.data["guardians"][0]["name"] == "张父"
    from transfers import selectors

    assert selectors.snapshot_get(world["a1"].operator, transfer.pk) == snap
    with pytest.raises(NotFound):
        selectors.snapshot_get(world["b1"].operator, transfer.pk)  # the destination has the live record


def test_work_item_follows_the_step(world):
    transfer = apply(world)
    submit(world, transfer)
    item = WorkItem.objects.get(object_id=transfer.pk, state="open")
    assert item.division_id == "440105" and item.due_on is not None
    _approve(world, "county_b", transfer)
    item = WorkItem.objects.get(object_id=transfer.pk, state="open")
    assert item.school == world.school_a1
    assert WorkItem.objects.filter(object_id=transfer.pk, state="done").count() == 2


def test_origin_school_cannot_act_before_destination_county(world):
    transfer = apply(world)
    submit(world, transfer)
    with pytest.raises(NotFound):  # it cannot even see it yet
        _approve(world, "a1", transfer)
    with pytest.raises(NotFound):
        _approve(world, "county_a", transfer)


def test_second_approval_of_the_same_step_is_a_conflict_with_the_state(world):
    transfer = apply(world)
    submit(world, transfer)
    _approve(world, "county_b", transfer)
    with pytest.raises(Conflict) as exc:
        _approve(world, "county_b", transfer)
    assert exc.value.status == 409 and exc.value.details["state"] == "origin_school"
    assert transfer.log.filter(action="approve").count() == 1


def test_second_submit_is_a_conflict(world):
    transfer = apply(world)
    submit(world, transfer)
    with pytest.raises(Conflict):
        submit(world, transfer)


def test_refusal_needs_a_reason_and_ends_the_chain(world):
    transfer = apply(world)
    submit(world, transfer)
    with pytest.raises(ValidationFailed) as exc:
        services.transfer_refuse(user=world["county_b"].approver, transfer_id=transfer.pk, reason=" ")
    assert exc.value.code == "reason_required"
    refused = services.transfer_refuse(user=world["county_b"].approver, transfer_id=transfer.pk, reason="材料不全")
    assert refused.state == State.REFUSED
    assert refused.log.last().reason == "材料不全"
    assert not OpenBusiness.objects.filter(pupil=world.pupils["a1"]).exists()
    with pytest.raises(Conflict):
        services.transfer_refuse(user=world["county_b"].approver, transfer_id=transfer.pk, reason="again")
    world.pupils["a1"].refresh_from_db()
    assert world.pupils["a1"].school == world.school_a1


def test_operator_of_a_county_cannot_approve(world):
    transfer = apply(world)
    submit(world, transfer)
    with pytest.raises(Forbidden):
        _approve_as(world["county_b"].operator, transfer)


def _approve_as(user, transfer):
    return services.transfer_approve(user=user, transfer_id=transfer.pk)


def test_city_above_both_counties_sees_but_cannot_act(world):
    transfer = apply(world)
    submit(world, transfer)
    with pytest.raises(Forbidden) as exc:
        _approve_as(world["city"].approver, transfer)
    assert exc.value.code == "not_a_party"


def test_destination_cancels_while_open_but_not_after_completion(world):
    transfer = apply(world)
    submit(world, transfer)
    cancelled = services.transfer_cancel(user=world["b1"].operator, transfer_id=transfer.pk)
    assert cancelled.state == State.CANCELLED
    assert not OpenBusiness.objects.filter(pupil=world.pupils["a1"]).exists()
    with pytest.raises(Conflict):
        services.transfer_cancel(user=world["b1"].operator, transfer_id=transfer.pk)
    done = run_chain(world, apply(world))
    with pytest.raises(Conflict) as exc:
        services.transfer_cancel(user=world["b1"].approver, transfer_id=done.pk)
    assert exc.value.details["state"] == "completed"


def test_origin_school_cannot_cancel(world):
    transfer = apply(world)
    submit(world, transfer)
    _approve(world, "county_b", transfer)
    with pytest.raises(Forbidden):
        services.transfer_cancel(user=world["a1"].approver, transfer_id=transfer.pk)


def test_cross_province_chain_each_county_acts_in_its_own_province(world):
    transfer = apply(world, "x")  # 江岸 (42) → 海珠 (44)
    transfer = run_chain(world, transfer, origin="x", origin_county="other_county")
    assert transfer.state == State.COMPLETED
    assert transfer.steps == ["dest_county", "origin_school", "origin_county"]


def test_cross_province_province_step_when_the_policy_asks(world):
    ProvincePolicy.objects.create(province_id="42", transfer_cross_province_province_step=True)
    transfer = apply(world, "x")
    submit(world, transfer)
    for unit in ("county_b", "x", "other_county"):
        transfer = _approve(world, unit, transfer)
    assert transfer.state == State.ORIGIN_PROVINCE
    assert WorkItem.objects.get(object_id=transfer.pk, state="open").division_id == "42"
    transfer = services.transfer_approve(user=world["other_province"].admin, transfer_id=transfer.pk)
    assert transfer.state == State.COMPLETED


def test_no_province_step_within_one_province_even_when_the_policy_asks(world):
    ProvincePolicy.objects.create(province_id="44", transfer_cross_province_province_step=True)
    transfer = apply(world)
    submit(world, transfer)
    transfer.refresh_from_db()
    assert transfer.steps == ["dest_county", "origin_school", "origin_county"]


def test_a_transfer_open_across_promotion_completes_into_the_current_grade(world):
    pupil = world.pupils["a1"]
    transfer = apply(world)  # applied for grade 3
    Pupil.objects.filter(pk=pupil.pk).update(grade=4)  # the yearly 升级 ran meanwhile
    run_chain(world, transfer)
    pupil.refresh_from_db()
    assert pupil.grade == 4 and pupil.school_class.grade == 4
    entry = HistoryEntry.objects.get(pupil=pupil, kind="transferred_in")
    assert "四年级" in entry.summary and entry.data["grade"] == 4


def test_the_last_step_refuses_when_the_grade_no_longer_fits_the_destination(world):
    pupil = world.pupils["a1"]
    transfer = apply(world)
    submit(world, transfer)
    for unit in ("county_b", "a1"):
        _approve(world, unit, transfer)
    Pupil.objects.filter(pk=pupil.pk).update(grade=7)  # beyond the primary school's grades
    with pytest.raises(BusinessRefused) as refused:
        _approve(world, "county_a", transfer)
    assert refused.value.code == "grade_changed_since_apply"
    transfer.refresh_from_db()
    assert transfer.state == State.ORIGIN_COUNTY  # nothing moved; the county can refuse with a reason
    pupil.refresh_from_db()
    assert pupil.school == world.school_a1


def test_the_last_step_refuses_a_pupil_no_longer_enrolled(world):
    pupil = world.pupils["a1"]
    transfer = apply(world)
    submit(world, transfer)
    for unit in ("county_b", "a1"):
        _approve(world, unit, transfer)
    Pupil.objects.filter(pk=pupil.pk).update(status="deceased")
    with pytest.raises(BusinessRefused) as refused:
        _approve(world, "county_a", transfer)
    assert refused.value.code == "pupil_not_enrolled"
