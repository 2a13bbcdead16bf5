"""退回修改 of a status change: the school or county approver sends it back with a reason to
its draft; the initiator submits it again and the approval runs from the school again."""

from __future__ import annotations

import pytest

from changes import requests
from changes.models import ChangeRequest, State
from kernel.errors import Forbidden, NotFound, ValidationFailed
from tests.changes.conftest import open_request
from workflow import engine
from workflow.models import OpenBusiness, WorkItem

SUSPEND = {"start": "2026-11-23", "until": "2027-06-30"}


def open_items(request):
    return list(WorkItem.objects.filter(object_id=request.pk, state="open", kind="status_change"))


@pytest.mark.parametrize("step", ["school", "county"])
def test_an_approver_sends_it_back_and_the_initiator_resubmits(world, step):
    request = open_request(world, "suspend", SUSPEND)
    if step == "county":
        requests.change_request_approve(user=world["a1"].approver, request_id=request.pk)
    approver = world["a1" if step == "school" else "county_a"].approver
    with pytest.raises(ValidationFailed) as exc:
        requests.change_request_send_back(user=approver, request_id=request.pk, reason="")
    assert exc.value.code == "reason_required"
    row = requests.change_request_send_back(user=approver, request_id=request.pk, reason="请补充休学证明")
    assert row.state == State.DRAFT and not open_items(row)
    assert OpenBusiness.objects.filter(pupil=world.pupils["a1"]).exists()
    assert engine.sent_back(engine.chain_of(ChangeRequest), row).reason == "请补充休学证明"
    assert row.pk in [entry["row"].pk for entry in engine.started_by(world["a1"].operator)]
    row = requests.change_request_submit(user=world["a1"].operator, request_id=request.pk)
    assert row.state == State.SCHOOL_REVIEW and open_items(row)[0].school_id == world.school_a1.pk


@pytest.mark.parametrize("who", ["a2", "b1", "county_b", "other_county"])
def test_a_foreign_unit_cannot_send_it_back(world, who):
    request = open_request(world, "suspend", SUSPEND)
    with pytest.raises((Forbidden, NotFound)):
        requests.change_request_send_back(user=world[who].approver, request_id=request.pk, reason="x")
    request.refresh_from_db()
    assert request.state == State.SCHOOL_REVIEW


def test_an_operator_cannot_send_it_back(world):
    request = open_request(world, "suspend", SUSPEND, user=world["a1"].approver)
    with pytest.raises(Forbidden) as exc:
        requests.change_request_send_back(user=world["a1"].operator, request_id=request.pk, reason="x")
    assert exc.value.code == "role_forbidden"


def test_the_two_person_rule_holds_after_resubmission(world):
    from tests.factories import make_user

    other = make_user("a1.approver2", role="approver", school=world.school_a1)
    request = open_request(world, "suspend", SUSPEND, user=world["a1"].approver)
    with pytest.raises(Forbidden):
        requests.change_request_send_back(user=world["a1"].approver, request_id=request.pk, reason="x")
    requests.change_request_send_back(user=other, request_id=request.pk, reason="日期有误")
    requests.change_request_submit(user=world["a1"].approver, request_id=request.pk)
    with pytest.raises(Forbidden) as exc:
        requests.change_request_approve(user=world["a1"].approver, request_id=request.pk)
    assert exc.value.code == "two_person_rule"


def test_the_page_and_the_api(world, login, client, api_token):
    request = open_request(world, "suspend", SUSPEND)
    page = login(world["a1"].approver).get(f"/changes/{request.pk}/").content.decode()
    assert 'data-testid="action-send-back"' in page
    assert login(world["a1"].approver).post(f"/changes/{request.pk}/send-back/",
                                            {"reason": "请补充证明"}).status_code == 302
    page = login(world["a1"].operator).get(f"/changes/{request.pk}/").content.decode()
    assert "请补充证明" in page and 'data-testid="submit"' in page
    requests.change_request_submit(user=world["a1"].operator, request_id=request.pk)
    response = client.post(f"/api/v1/changes/{request.pk}/send-back", data={"reason": "再改"},
                           content_type="application/json", **api_token(world["a1"].approver))
    assert response.status_code == 200, response.content
    assert response.json()["state"] == State.DRAFT


def test_the_change_list_pager_keeps_the_filters(world, login):
    body = login(world["a1"].operator).get("/changes/?kind=suspend&state=draft&page=2").content.decode()
    assert "?kind=suspend&amp;state=draft&amp;page=1" in body
