"""退回修改 answered: the person who filled in a transfer corrects the application (the same
rules as at apply), resubmits it through the chain engine with old → new in its log; a
sent-back application expires like a draft and waits in its author's 待办 meanwhile."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from kernel.errors import BusinessRefused, Conflict, Forbidden, ValidationFailed
from tests.transfers.chain import apply, submit
from transfers import expiry, services
from transfers.models import Transfer
from transfers.states import State
from workflow import engine
from workflow.models import OpenBusiness

pytestmark = pytest.mark.usefixtures("open_season")


def sent_back(world, *, reason="班号填错"):
    transfer = apply(world)
    submit(world, transfer)
    return services.transfer_send_back(user=world["county_b"].approver, transfer_id=transfer.pk, reason=reason)


def correct(world, transfer, **overrides):
    data = {"user": world["b1"].operator, "transfer_id": transfer.pk, "dest_grade": transfer.dest_grade,
            "dest_class_number": transfer.dest_class_number, "transfer_date": transfer.transfer_date,
            "reason": transfer.reason}
    data.update(overrides)
    return services.transfer_correct(**data)


def test_the_correction_is_saved_and_resubmitted_with_old_and_new_in_the_log(world):
    transfer = sent_back(world)
    row = correct(world, transfer, dest_class_number=5, reason="随父母工作调动到海珠区", note="已改班号")
    assert row.state == State.DRAFT
    assert (row.dest_class_number, row.reason) == (5, "随父母工作调动到海珠区")
    last = row.log.last()
    assert last.action == engine.RESUBMIT
    assert last.reason.startswith("已改班号")
    assert "转入班号：2 → 5" in last.reason and "转学原因：随父母工作调动 → 随父母工作调动到海珠区" in last.reason
    events = Transfer.pgh_event_model.objects.filter(pgh_obj_id=row.pk).order_by("pgh_id")
    assert [e.dest_class_number for e in events].count(5) >= 1 and events.first().dest_class_number == 2
    submit(world, row)  # the school's review runs again
    row.refresh_from_db()
    assert row.state == State.DEST_COUNTY


def test_the_correction_adds_proof_material(world):
    transfer = sent_back(world, reason="请补充证明")
    proof = __import__("django.core.files.uploadedfile", fromlist=["x"]).SimpleUploadedFile(
        "证明.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
    row = correct(world, transfer, attachments=[proof])
    assert row.attachments.count() == 1
    assert "证明材料：— → 证明.pdf" in row.log.last().reason


@pytest.mark.parametrize(("overrides", "code"), [
    ({"dest_grade": 11}, "grade_not_offered"),
    ({"dest_class_number": 120}, "invalid_class_number"),
    ({"reason": "  "}, "reason_required"),
])
def test_the_correction_obeys_the_rules_of_apply(world, overrides, code):
    transfer = sent_back(world)
    with pytest.raises(ValidationFailed) as refused:
        correct(world, transfer, **overrides)
    assert refused.value.code == code
    transfer.refresh_from_db()
    assert transfer.state == State.RETURNED and transfer.dest_class_number == 2


def test_the_correction_keeps_the_same_grade_policy(world):
    transfer = sent_back(world)
    with pytest.raises(BusinessRefused) as refused:
        correct(world, transfer, dest_grade=transfer.dest_grade + 1)
    assert refused.value.code == "grade_mismatch"


def test_only_the_initiator_corrects_and_only_when_sent_back(world):
    transfer = sent_back(world)
    with pytest.raises(Forbidden):
        correct(world, transfer, user=world["b1"].approver)
    with pytest.raises(Forbidden):
        correct(world, transfer, user=world["county_b"].approver)
    correct(world, transfer)
    with pytest.raises((Conflict, Forbidden)):  # resubmitted: nothing to correct any more
        correct(world, transfer, dest_class_number=7)
    transfer.refresh_from_db()
    assert transfer.dest_class_number == 2


def test_a_sent_back_transfer_expires_and_frees_the_pupil(world):
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False):  # a Monday
        transfer = sent_back(world)
    assert OpenBusiness.objects.filter(pupil=world.pupils["a1"]).exists()
    assert expiry.expires_on(transfer) == dt.date(2026, 3, 16)
    with time_machine.travel(dt.datetime(2026, 3, 16, 9, 0, tzinfo=dt.UTC), tick=False):
        assert services.transfer_drafts_expire() == 0
    with time_machine.travel(dt.datetime(2026, 3, 17, 9, 0, tzinfo=dt.UTC), tick=False):
        assert services.transfer_drafts_expire() == 1
    transfer.refresh_from_db()
    assert transfer.state == State.CANCELLED and transfer.log.last().action == "expire"
    assert "退回修改" in transfer.log.last().reason
    assert not OpenBusiness.objects.filter(pupil=world.pupils["a1"]).exists()


def test_a_resubmitted_draft_counts_from_its_resubmission(world):
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False):
        transfer = sent_back(world)
    with time_machine.travel(dt.datetime(2026, 3, 13, 9, 0, tzinfo=dt.UTC), tick=False):
        correct(world, transfer)
    with time_machine.travel(dt.datetime(2026, 3, 17, 9, 0, tzinfo=dt.UTC), tick=False):
        assert services.transfer_drafts_expire() == 0  # 10 working days from 03-13, not from 03-02
    transfer.refresh_from_db()
    assert transfer.state == State.DRAFT and expiry.expires_on(transfer) == dt.date(2026, 3, 27)


def test_the_sent_back_transfer_waits_in_its_authors_todo_with_a_warning(world, login):
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False):
        transfer = sent_back(world, reason="请核对班号")
    with time_machine.travel(dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.UTC), tick=False):
        page = login(world["b1"].operator).get("/").content.decode()
        assert 'data-testid="returned"' in page and "请核对班号" in page and "2026-03-16" in page
        assert 'data-testid="expires-soon"' not in page
    with time_machine.travel(dt.datetime(2026, 3, 13, 9, 0, tzinfo=dt.UTC), tick=False):
        page = login(world["b1"].operator).get("/").content.decode()
        assert 'data-testid="expires-soon"' in page
        assert 'data-testid="returned"' not in login(world["b1"].approver).get("/").content.decode()
    assert transfer.pk


def test_the_correction_page(world, login):
    transfer = sent_back(world, reason="班号应为3班")
    operator = login(world["b1"].operator)
    page = operator.get(f"/transfers/{transfer.pk}/correct/").content.decode()
    assert "班号应为3班" in page and 'name="dest_class_number"' in page and 'value="2"' in page
    response = operator.post(f"/transfers/{transfer.pk}/correct/", {
        "dest_grade": transfer.dest_grade, "dest_class_number": 120, "transfer_date": "2026-03-10",
        "reason": "随父母工作调动"})
    assert response.status_code == 422
    response = operator.post(f"/transfers/{transfer.pk}/correct/", {
        "dest_grade": transfer.dest_grade, "dest_class_number": 3, "transfer_date": "2026-03-10",
        "reason": "随父母工作调动", "note": "改为3班"})
    assert response.status_code == 302
    transfer.refresh_from_db()
    assert transfer.state == State.DRAFT and transfer.dest_class_number == 3
    response = login(world["b1"].approver).get(f"/transfers/{transfer.pk}/correct/")
    assert response.status_code == 302  # nothing to correct for anyone else


def test_the_api_corrects_and_resubmits(world, client, api_token):
    transfer = sent_back(world)
    headers = api_token(world["b1"].operator)
    body = {"dest_grade": transfer.dest_grade, "dest_class_number": 120, "transfer_date": "2026-03-10",
            "reason": "随父母工作调动"}
    response = client.post(f"/api/v1/transfers/{transfer.pk}/correct", data=body, content_type="application/json",
                           **headers)
    assert response.status_code == 422 and response.json()["code"] == "invalid_class_number"
    body.update(dest_class_number=4, note="改为4班")
    response = client.post(f"/api/v1/transfers/{transfer.pk}/correct", data=body, content_type="application/json",
                           **headers)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == State.DRAFT
    transfer.refresh_from_db()
    assert transfer.dest_class_number == 4
