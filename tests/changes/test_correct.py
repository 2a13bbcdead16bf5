"""退回修改 of a change request answered: its initiator corrects the fields in the form it was
filed with (the rules of the kind again), and the submission's log names old → new."""

from __future__ import annotations

import pytest

from changes import requests
from changes.models import ChangeRequest, State
from kernel.errors import Forbidden, RegistryError
from tests.changes.conftest import open_request

SUSPEND = {"start": "2026-11-23", "until": "2027-06-30"}


def sent_back(world):
    request = open_request(world, "suspend", SUSPEND)
    return requests.change_request_send_back(user=world["a1"].approver, request_id=request.pk, reason="截止日期有误")


def test_the_initiator_corrects_and_submits(world):
    request = sent_back(world)
    row = requests.change_request_correct(user=world["a1"].operator, request_id=request.pk,
                                          payload={"start": "2026-11-23", "until": "2027-01-31"},
                                          reason="病休", note="改截止日期")
    assert row.state == State.SCHOOL_REVIEW and row.payload["until"] == "2027-01-31"
    last = row.log.last()
    assert last.action == "submit" and last.reason.startswith("改截止日期")
    assert "2027-06-30 → 2027-01-31" in last.reason
    history = ChangeRequest.pgh_event_model.objects.filter(pgh_obj_id=row.pk).order_by("pgh_id")
    assert history.first().payload["until"] == "2027-06-30"


def test_the_correction_obeys_the_rules_of_the_kind(world):
    request = sent_back(world)
    with pytest.raises(RegistryError):
        requests.change_request_correct(user=world["a1"].operator, request_id=request.pk,
                                        payload={"start": "2026-11-23", "until": "2026-11-01"}, reason="病休")
    request.refresh_from_db()
    assert request.state == State.DRAFT and request.payload["until"] == "2027-06-30"


def test_only_the_initiator_corrects(world):
    request = sent_back(world)
    with pytest.raises(Forbidden):
        requests.change_request_correct(user=world["a1"].approver, request_id=request.pk, payload=SUSPEND)


def test_the_correction_page(world, login):
    request = sent_back(world)
    client = login(world["a1"].operator)
    body = client.get(f"/changes/{request.pk}/correct/").content.decode()
    assert "截止日期有误" in body and 'value="2027-06-30"' in body
    response = client.post(f"/changes/{request.pk}/correct/", {"start": "2026-11-23", "until": "2027-02-28",
                                                              "reason": "病休"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.state == State.SCHOOL_REVIEW and request.payload["until"] == "2027-02-28"
    assert login(world["a1"].approver).get(f"/changes/{request.pk}/correct/").status_code == 302


def test_only_what_was_sent_back_waits_in_the_authors_todo(world):
    from workflow import engine

    draft = open_request(world, "suspend", SUSPEND, submit=False)
    assert draft.state == State.DRAFT
    assert [entry["row"].pk for entry in engine.returned_to(world["a1"].operator)] == []
    requests.change_request_submit(user=world["a1"].operator, request_id=draft.pk)
    requests.change_request_send_back(user=world["a1"].approver, request_id=draft.pk, reason="请附证明")
    [entry] = engine.returned_to(world["a1"].operator)
    assert entry["row"].pk == draft.pk and entry["sent_back"].reason == "请附证明"
    assert entry["expires_on"] is None  # a change request does not expire
