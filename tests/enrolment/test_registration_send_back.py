"""退回修改 of a registration review: an approver sends it back with a reason to the person
who registered the pupil (still 待审核), who resubmits it to the school's review."""

from __future__ import annotations

import pytest

from accounts.models import Membership
from enrolment import registration
from enrolment.chains import REGISTRATION
from enrolment.models import RegistrationState
from enrolment.registration import pupil_register
from kernel.errors import Forbidden, NotFound, ValidationFailed
from registry.models import PupilStatus
from tests.enrolment.test_registration_review import entry_record, open_items, reg_of
from tests.registry.test_nohukou import no_id_record
from workflow import engine


@pytest.mark.parametrize("step", ["school", "county"])
def test_an_approver_sends_it_back_and_the_registrar_resubmits(world, step):
    pupil = pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1))
    row = reg_of(pupil)
    if step == "county":
        registration.registration_approve(user=world["a1"].approver, registration_id=row.pk)
    approver = world["a1" if step == "school" else "county_a"].approver
    with pytest.raises(ValidationFailed) as exc:
        registration.registration_send_back(user=approver, registration_id=row.pk, reason="")
    assert exc.value.code == "reason_required"
    row = registration.registration_send_back(user=approver, registration_id=row.pk, reason="出生日期与证明不符")
    pupil.refresh_from_db()
    assert row.state == RegistrationState.RETURNED and pupil.status == PupilStatus.PENDING
    assert not open_items(row)
    assert engine.sent_back(REGISTRATION, row).reason == "出生日期与证明不符"
    assert row.pk in [entry["row"].pk for entry in engine.started_by(world["a1"].operator)]
    with pytest.raises(Forbidden):
        registration.registration_resubmit(user=world["a1"].approver, registration_id=row.pk)
    row = registration.registration_resubmit(user=world["a1"].operator, registration_id=row.pk)
    assert row.state == RegistrationState.SCHOOL_REVIEW and open_items(row)[0].school_id == world.school_a1.pk


@pytest.mark.parametrize("who", ["a2", "b1", "county_b"])
def test_a_foreign_unit_cannot_send_it_back(world, who):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    with pytest.raises((Forbidden, NotFound)):
        registration.registration_send_back(user=world[who].approver, registration_id=reg_of(pupil).pk, reason="x")
    assert reg_of(pupil).state == RegistrationState.SCHOOL_REVIEW


def test_the_two_person_rule_holds_after_resubmission(world):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    row = reg_of(pupil)
    registration.registration_send_back(user=world["a1"].approver, registration_id=row.pk, reason="照片不清")
    Membership.objects.filter(user=world["a1"].operator).update(role=Membership.Role.APPROVER)
    initiator = world["a1"].operator
    initiator.refresh_from_db()
    registration.registration_resubmit(user=initiator, registration_id=row.pk)
    with pytest.raises(Forbidden) as exc:
        registration.registration_approve(user=initiator, registration_id=row.pk)
    assert exc.value.code == "two_person_rule"


def test_the_page_and_the_api(world, login, client, api_token):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    row = reg_of(pupil)
    page = login(world["a1"].approver).get(f"/registrations/{row.pk}/").content.decode()
    assert 'data-testid="action-send-back"' in page
    assert login(world["a1"].approver).post(f"/registrations/{row.pk}/send_back/",
                                            {"reason": "请核对姓名"}).status_code == 302
    page = login(world["a1"].operator).get(f"/registrations/{row.pk}/").content.decode()
    assert "请核对姓名" in page and 'data-testid="action-resubmit"' in page
    response = client.post(f"/api/v1/registrations/{row.pk}/resubmit", data={}, content_type="application/json",
                           **api_token(world["a1"].operator))
    assert response.status_code == 200, response.content
    response = client.post(f"/api/v1/registrations/{row.pk}/send-back", data={"reason": ""},
                           content_type="application/json", **api_token(world["a1"].approver))
    assert response.status_code == 422 and response.json()["code"] == "reason_required"


def test_the_registrar_corrects_the_source_and_reason_and_resubmits(world, login):
    from enrolment.models import Registration

    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1, grade=3, source="其他",
                                                                         source_reason="插班"))
    row = reg_of(pupil)
    registration.registration_send_back(user=world["a1"].approver, registration_id=row.pk, reason="注册原因不清楚")
    with pytest.raises(ValidationFailed) as refused:  # the rules of registration: a reason outside grade 1
        registration.registration_correct(user=world["a1"].operator, registration_id=row.pk, source="other",
                                          source_reason=" ")
    assert refused.value.code == "source_reason_required"
    with pytest.raises(Forbidden):
        registration.registration_correct(user=world["a1"].approver, registration_id=row.pk, source="other",
                                          source_reason="x")
    page = login(world["a1"].operator).get(f"/registrations/{row.pk}/").content.decode()
    assert 'data-testid="correct-form"' in page and "注册原因不清楚" in page
    response = login(world["a1"].operator).post(f"/registrations/{row.pk}/resubmit/", {
        "source": "other_province", "source_reason": "随父母由湖北省转入", "reason": "已补充"})
    assert response.status_code == 302
    row = Registration.objects.get(pk=row.pk)
    assert row.state == RegistrationState.SCHOOL_REVIEW and row.source_reason == "随父母由湖北省转入"
    last = row.log.last()
    assert last.reason.startswith("已补充") and "注册原因：插班 → 随父母由湖北省转入" in last.reason
    assert row.county_review  # outside the entry grades the county reviews it
