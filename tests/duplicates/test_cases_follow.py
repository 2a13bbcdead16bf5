"""An open case follows a pupil who moves: after a completed transfer (转学) or 升学 the county
where the pupil now is decides the case, and the county the pupil left no longer sees it."""

from __future__ import annotations

import pytest

from duplicates import cases
from duplicates.models import CaseMember, DuplicateCase
from duplicates.selectors import case_detail_for, case_list_for
from enrolment import receiving
from kernel.errors import BusinessRefused, Forbidden, NotFound
from tests.duplicates.helpers import pinyin_pair
from tests.enrolment.conftest import graduates  # noqa: F401  (fixture)
from tests.transfers.chain import apply, open_season, run_chain, submit  # noqa: F401  (fixture)
from transfers import completion, services


def _open_case(a, b, *, status=DuplicateCase.Status.OPEN) -> DuplicateCase:
    """A case of ``a`` and ``b`` as a sweep opens it (members get their county)."""
    low, high = sorted((a.pk, b.pk))
    cases.create_cases("44", [((low, high), 0.9, ["同音字"], "pinyin_slip")], source=DuplicateCase.Source.SWEEP)
    case = DuplicateCase.objects.get(pupil_low_id=low, pupil_high_id=high, status=DuplicateCase.Status.OPEN)
    if status != DuplicateCase.Status.OPEN:
        DuplicateCase.objects.filter(pk=case.pk).update(status=status, resolution=DuplicateCase.Resolution.EVIDENCE)
    return case


def _counties(case) -> dict[int, str]:
    return dict(CaseMember.objects.filter(case=case).values_list("pupil_id", "county_code"))


def _complete_past_the_case(world, transfer, open_case):
    """Run the chain to its last step, where ``open_case`` opens a case of the pupil: the
    chain stops there (a problem record, ``transfers.rules.problem_refusal``); the completion
    itself still takes an open case along — for a case a sweep commits between the last
    step's check and the move — and that is what the callers test. Returns the case."""
    submit(world, transfer)
    for unit in ("county_b", "a1"):
        services.transfer_approve(user=world[unit].approver, transfer_id=transfer.pk)
    case = open_case()
    with pytest.raises(BusinessRefused) as refused:
        services.transfer_approve(user=world["county_a"].approver, transfer_id=transfer.pk)
    assert refused.value.code == "problem_record"
    transfer.refresh_from_db()
    completion.complete(transfer, user=world["county_a"].approver)
    return case


@pytest.mark.usefixtures("open_season")
def test_a_transfer_completed_while_a_case_is_open_moves_the_case_to_the_new_county(world):
    a, b = pinyin_pair(world, school_b=world.school_a1)  # both in county a (440106)
    world.pupils["dup"] = a
    transfer = apply(world, "dup", dest="b1")
    case = _complete_past_the_case(world, transfer, lambda: _open_case(a, b))  # a sweep found it meanwhile
    a.refresh_from_db()
    assert a.county_code == "440105"
    assert _counties(case) == {a.pk: "440105", b.pk: "440106"}
    # the county where the pupil now is decides for it; the county it left may not
    cases.case_member_for_delete(user=world["county_b"].approver, case_id=case.pk, pupil=a.national_number,
                                 note="重复录入")
    with pytest.raises(Forbidden):
        cases.case_member_for_delete(user=world["county_a"].approver, case_id=case.pk, pupil=a.national_number,
                                     note="重复录入")
    assert case in case_list_for(world["county_b"].operator)


@pytest.mark.usefixtures("open_season")
def test_a_resolved_case_keeps_the_county_that_decided_it(world):
    a, b = pinyin_pair(world, school_b=world.school_a1)
    world.pupils["dup"] = a
    transfer = apply(world, "dup", dest="b1")
    resolved = _open_case(a, b, status=DuplicateCase.Status.RESOLVED)
    run_chain(world, transfer)
    assert _counties(resolved) == {a.pk: "440106", b.pk: "440106"}


def test_graduates_received_by_another_county_take_their_case_along(world, graduates):  # noqa: F811
    case = _open_case(graduates[0], graduates[1])  # both of county a
    refs = [receiving.graduate_find(user=world["b2"].operator, number=p.national_number, name=p.name)[0].ref
            for p in graduates[:2]]
    row = receiving.progression_start(user=world["b2"].operator, refs=refs)
    receiving.progression_approve(user=world["b2"].approver, progression_id=row.pk)
    receiving.progression_approve(user=world["county_b"].approver, progression_id=row.pk)
    assert _counties(case) == {graduates[0].pk: "440105", graduates[1].pk: "440105"}
    assert case_detail_for(world["county_b"].operator, case.pk) == case
    with pytest.raises(NotFound):  # the county they left no longer reads them through the case
        case_detail_for(world["county_a"].operator, case.pk)
    assert case not in case_list_for(world["county_a"].operator)


def test_the_move_is_in_the_membership_history(world, graduates):  # noqa: F811
    case = _open_case(graduates[0], graduates[1])
    moved = CaseMember.objects.get(case=case, pupil=graduates[0])
    type(graduates[0]).objects.filter(pk=graduates[0].pk).update(county_code="440105")
    assert cases.cases_follow_pupils([graduates[0].pk]) == 1
    assert list(moved.events.order_by("pgh_id").values_list("pgh_label", "county_code")) == [
        ("insert", "440106"), ("update", "440105")]
    assert cases.cases_follow_pupils([graduates[0].pk]) == 0  # nothing left to move


@pytest.mark.usefixtures("open_season")
def test_the_case_todo_follows_the_pupil_to_the_new_county(world):
    from workflow.models import WorkItem

    a, b = pinyin_pair(world, school_b=world.school_a1)  # both in county a (440106)
    world.pupils["dup"] = a
    transfer = apply(world, "dup", dest="b1")

    def open_and_check():
        case = _open_case(a, b)
        items = WorkItem.objects.filter(kind=cases.CASE_KIND, object_id=case.pk, state=WorkItem.State.OPEN)
        assert list(items.values_list("scope_code", flat=True)) == ["440106"]
        return case

    case = _complete_past_the_case(world, transfer, open_and_check)
    open_items = WorkItem.objects.filter(kind=cases.CASE_KIND, object_id=case.pk, state=WorkItem.State.OPEN)
    # b stays in county a, so its item stays, with its deadline; county b gets one for a
    assert sorted(open_items.values_list("scope_code", flat=True)) == ["440105", "440106"]
    b.school = world.school_b1
    type(b).objects.filter(pk=b.pk).update(school=world.school_b1, county_code="440105")
    cases.cases_follow_pupils([b.pk])
    assert list(open_items.values_list("scope_code", flat=True)) == ["440105"]  # county a is free of it
