"""退回修改 of a transfer: a school or county approver sends it back with a reason to the
person who filled it in, who resubmits it to the school's review; the two-person rule holds."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType

from accounts.models import Membership
from kernel.errors import Forbidden, NotFound, ValidationFailed
from tests.transfers.chain import apply, submit
from transfers import services
from transfers.models import Transfer
from transfers.states import State
from workflow import engine
from workflow.models import OpenBusiness, WorkItem

pytestmark = pytest.mark.usefixtures("open_season")


def open_items(transfer):
    return list(WorkItem.objects.filter(content_type=ContentType.objects.get_for_model(Transfer),
                                        object_id=transfer.pk, state=WorkItem.State.OPEN))


def test_the_county_sends_it_back_and_the_initiator_resubmits(world):
    transfer = apply(world)
    submit(world, transfer)
    with pytest.raises(ValidationFailed) as exc:
        services.transfer_send_back(user=world["county_b"].approver, transfer_id=transfer.pk, reason=" ")
    assert exc.value.code == "reason_required"
    row = services.transfer_send_back(user=world["county_b"].approver, transfer_id=transfer.pk, reason="转学原因不清楚")
    assert row.state == State.RETURNED
    assert not open_items(row)  # the county's 待办 closed; the draft waits for its author
    assert OpenBusiness.objects.filter(pupil=world.pupils["a1"]).exists()  # still claimed
    assert engine.sent_back(engine.chain_of(Transfer), row).reason == "转学原因不清楚"
    mine = [entry["row"].pk for entry in engine.started_by(world["b1"].operator)]
    assert row.pk in mine
    assert engine.actions_for(engine.chain_of(Transfer), world["b1"].operator, row) == ["resubmit", "cancel"]
    row = services.transfer_resubmit(user=world["b1"].operator, transfer_id=transfer.pk)
    assert row.state == State.DRAFT and [i.school_id for i in open_items(row)] == [world.school_b1.pk]
    submit(world, row)  # the school's approver reviews it again; submitting twice keeps the one business
    row.refresh_from_db()
    assert row.state == State.DEST_COUNTY


def test_the_school_approver_sends_the_draft_back(world):
    transfer = apply(world)
    row = services.transfer_send_back(user=world["b1"].approver, transfer_id=transfer.pk, reason="班级填错")
    assert row.state == State.RETURNED


def test_only_the_initiator_resubmits(world):
    transfer = apply(world)
    services.transfer_send_back(user=world["b1"].approver, transfer_id=transfer.pk, reason="班级填错")
    with pytest.raises(Forbidden):
        services.transfer_resubmit(user=world["b1"].approver, transfer_id=transfer.pk)


@pytest.mark.parametrize("who", ["county_a", "a2", "other_county"])
def test_a_foreign_unit_cannot_send_it_back(world, who):
    transfer = apply(world)
    submit(world, transfer)
    with pytest.raises((Forbidden, NotFound)):
        services.transfer_send_back(user=world[who].approver, transfer_id=transfer.pk, reason="x")
    transfer.refresh_from_db()
    assert transfer.state == State.DEST_COUNTY


def test_the_two_person_rule_holds_after_resubmission(world):
    # The operator who filled it in is later made an approver: after a send-back and their
    # resubmission, another approver must still review it.
    transfer = apply(world)
    services.transfer_send_back(user=world["b1"].approver, transfer_id=transfer.pk, reason="附件不全")
    Membership.objects.filter(user=world["b1"].operator).update(role=Membership.Role.APPROVER)
    initiator = world["b1"].operator
    initiator.refresh_from_db()
    services.transfer_resubmit(user=initiator, transfer_id=transfer.pk)
    with pytest.raises(Forbidden) as exc:
        services.transfer_submit(user=initiator, transfer_id=transfer.pk)
    assert exc.value.code == "two_person_rule"
    with pytest.raises(Forbidden):
        services.transfer_send_back(user=initiator, transfer_id=transfer.pk, reason="x")


def test_the_page_and_the_api(world, login, client, api_token):
    transfer = apply(world)
    submit(world, transfer)
    page = login(world["county_b"].approver).get(f"/transfers/{transfer.pk}/").content.decode()
    assert 'data-testid="action-send-back"' in page
    response = login(world["county_b"].approver).post(f"/transfers/{transfer.pk}/send-back/", {"reason": "请补充证明"})
    assert response.status_code == 302
    page = login(world["b1"].operator).get(f"/transfers/{transfer.pk}/").content.decode()
    assert "请补充证明" in page and 'data-testid="action-resubmit"' in page
    headers = api_token(world["b1"].operator)
    response = client.post(f"/api/v1/transfers/{transfer.pk}/resubmit", data={}, content_type="application/json",
                           **headers)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == State.DRAFT
    submit(world, transfer)
    headers = api_token(world["county_b"].approver)
    response = client.post(f"/api/v1/transfers/{transfer.pk}/send-back", data={"reason": ""},
                           content_type="application/json", **headers)
    assert response.status_code == 422 and response.json()["code"] == "reason_required"


def test_the_transfer_list_pager_keeps_the_filters(world, login):
    body = login(world["b1"].operator).get("/transfers/?tab=all&state=draft&q=李&page=2").content.decode()
    assert "?tab=all&amp;state=draft&amp;q=%E6%9D%8E&amp;page=1" in body
