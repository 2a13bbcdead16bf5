"""退回修改 answered with the record corrected: name, ID, birth date, sex and the family are
checked again as at registration (the record never its own duplicate), written, logged old →
new, and the registration is resubmitted through the chain."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from enrolment import registration
from enrolment.chains import REGISTRATION
from enrolment.models import Registration, RegistrationState
from enrolment.registration import pupil_register
from kernel.errors import BusinessRefused, Conflict, Forbidden, NotFound, ValidationFailed
from registry.models import HistoryEntry, Pupil
from registry.records import GuardianData
from tests.enrolment.test_registration import PUPIL_ID
from tests.enrolment.test_registration_review import entry_record, reg_of
from tests.factories import resident_id
from tests.registry.test_nohukou import BIRTH, FATHER_ID, father, mother, no_id_record
from transfers.models import TransferLookup
from workflow import engine

NEW_BIRTH = dt.date(2016, 3, 9)
NEW_ID = resident_id(NEW_BIRTH, "2", region="440106", seq=202)


def sent_back(world, data=None):
    pupil = pupil_register(user=world["a1"].operator, data=data or entry_record(world.school_a1))
    row = registration.registration_send_back(user=world["a1"].approver, registration_id=reg_of(pupil).pk,
                                              reason="身份证号与户口簿不符")
    return pupil, row


def test_name_id_and_birth_date_corrected_are_written_and_logged(world):
    pupil, row = sent_back(world)
    row = registration.registration_correct(
        user=world["a1"].operator, registration_id=row.pk, note="按户口簿更正",
        record={"name": "黄晓梅", "id_number": NEW_ID, "birth_date": NEW_BIRTH},
    )
    pupil.refresh_from_db()
    assert (pupil.name, pupil.id_number, pupil.birth_date) == ("黄晓梅", NEW_ID, NEW_BIRTH)
    assert row.state == RegistrationState.SCHOOL_REVIEW
    reason = Registration.objects.get(pk=row.pk).log.last().reason
    assert reason.startswith("按户口簿更正")
    assert "姓名：黄小梅 → 黄晓梅" in reason and f"身份证件号：{PUPIL_ID} → {NEW_ID}" in reason
    assert f"出生日期：{BIRTH.isoformat()} → 2016-03-09" in reason
    event = HistoryEntry.objects.get(pupil=pupil, kind="registration_corrected")
    assert {"field": "姓名", "old": "黄小梅", "new": "黄晓梅"} in event.data["changes"]


def test_the_corrected_values_pass_the_rules_of_registration(world):
    pupil, row = sent_back(world)
    with pytest.raises(ValidationFailed) as refused:  # the checksum of the ID number
        registration.registration_correct(user=world["a1"].operator, registration_id=row.pk,
                                          record={"id_number": NEW_ID[:-1] + ("0" if NEW_ID[-1] != "0" else "1")})
    assert refused.value.code == "id_check_char"
    with pytest.raises(ValidationFailed) as refused:  # the ID's birth date and the record's agree
        registration.registration_correct(user=world["a1"].operator, registration_id=row.pk,
                                          record={"birth_date": NEW_BIRTH})
    assert refused.value.code == "id_birth_mismatch"
    pupil.refresh_from_db()
    assert pupil.birth_date != NEW_BIRTH and reg_of(pupil).state == RegistrationState.RETURNED


def test_an_id_of_another_pupil_is_refused_as_at_registration(world):
    other = world.pupils["b1"]  # another province's county, outside the school's scope
    at_registration = None
    try:
        pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1, id_number=other.id_number,
                                                                    name=other.name, sex=other.sex,
                                                                    birth_date=other.birth_date))
    except BusinessRefused as exc:
        at_registration = exc.code
    pupil, row = sent_back(world)
    with pytest.raises(BusinessRefused) as refused:
        registration.registration_correct(user=world["a1"].operator, registration_id=row.pk, record={
            "id_number": other.id_number, "name": other.name, "sex": other.sex, "birth_date": other.birth_date})
    assert refused.value.code == at_registration == "id_number_active_elsewhere"
    assert TransferLookup.objects.filter(actor=world["a1"].operator, kind="id_held", pupils=[other.pk]).exists()
    pupil.refresh_from_db()
    assert pupil.id_number == PUPIL_ID


def test_the_record_is_not_its_own_duplicate(world):
    """Unchanged ID (its own holder), and a no-hukou pupil with the same parents (its own
    existing record) and the same name and birth date (its own likely duplicate)."""
    pupil, row = sent_back(world)
    registration.registration_correct(user=world["a1"].operator, registration_id=row.pk,
                                      record={"name": "黄晓梅"})
    no_id, row = sent_back(world, no_id_record(world.school_a1))
    row = registration.registration_correct(user=world["a1"].operator, registration_id=row.pk,
                                            record={"sex": "1", "name": "林小海"})
    no_id.refresh_from_db()
    assert (no_id.name, no_id.sex, row.state) == ("林小海", "1", RegistrationState.SCHOOL_REVIEW)


def test_the_no_hukou_rules_apply_to_the_corrected_family(world):
    no_id, row = sent_back(world, no_id_record(world.school_a1))
    with pytest.raises(ValidationFailed):  # a no-hukou pupil needs both parents (or a reason)
        registration.registration_correct(user=world["a1"].operator, registration_id=row.pk,
                                          guardians=[father()])
    assert no_id.guardians.count() == 2


def test_the_family_is_corrected_up_to_four_and_a_fifth_is_refused(world):
    pupil, row = sent_back(world)
    members = [GuardianData(name="黄大强", relation="51", id_number=FATHER_ID, is_first_guardian=True),
               GuardianData(name="李芳", relation="52"), GuardianData(name="黄老伯", relation="61"),
               GuardianData(name="王阿婆", relation="64")]
    with pytest.raises(ValidationFailed) as refused:
        registration.registration_correct(user=world["a1"].operator, registration_id=row.pk,
                                          guardians=[*members, GuardianData(name="黄小叔", relation="71")])
    assert refused.value.code == "too_many_members" and "4" in refused.value.message
    row = registration.registration_correct(user=world["a1"].operator, registration_id=row.pk, guardians=members)
    assert [g.name for g in pupil.guardians.order_by("order")] == ["黄大强", "李芳", "黄老伯", "王阿婆"]
    assert "家庭成员：" in Registration.objects.get(pk=row.pk).log.last().reason


@pytest.mark.parametrize("who", ["a2", "b1"])
def test_a_foreign_unit_cannot_correct(world, who):
    pupil, row = sent_back(world)
    with pytest.raises((Forbidden, NotFound)):
        registration.registration_correct(user=world[who].operator, registration_id=row.pk,
                                          record={"name": "黄晓梅"})
    pupil.refresh_from_db()
    assert pupil.name == "黄小梅" and reg_of(pupil).state == RegistrationState.RETURNED


def test_the_approver_of_the_school_cannot_correct(world):
    pupil, row = sent_back(world)
    with pytest.raises(Forbidden):
        registration.registration_correct(user=world["a1"].approver, registration_id=row.pk,
                                          record={"name": "黄晓梅"})


def test_a_registration_not_sent_back_is_not_corrected(world, client, api_token):
    pupil = pupil_register(user=world["a1"].operator, data=entry_record(world.school_a1))
    with pytest.raises(Conflict):
        registration.registration_correct(user=world["a1"].operator, registration_id=reg_of(pupil).pk,
                                          record={"name": "黄晓梅"})
    response = client.post(f"/api/v1/registrations/{reg_of(pupil).pk}/correct", data={"name": "黄晓梅"},
                           content_type="application/json", **api_token(world["a1"].operator))
    assert response.status_code == 409, response.content
    pupil.refresh_from_db()
    assert pupil.name == "黄小梅"


def test_the_api_corrects_and_resubmits(world, client, api_token):
    pupil, row = sent_back(world)
    body = {"name": "黄晓梅", "reason": "已更正", "guardians": [
        {"name": "黄大强", "relation": "51", "id_number": FATHER_ID, "is_first_guardian": True},
        {"name": "李芳", "relation": "52", "phone": "13800138000"},
        {"name": "黄老伯", "relation": "61", "vital": "deceased"}]}
    response = client.post(f"/api/v1/registrations/{row.pk}/correct", data=body,
                           content_type="application/json", **api_token(world["a1"].operator))
    assert response.status_code == 200, response.content
    assert response.json()["state"] == RegistrationState.SCHOOL_REVIEW and response.json()["name"] == "黄晓梅"
    assert pupil.guardians.count() == 3
    assert reg_of(pupil).source_reason == ""  # grade 1: nothing asked, nothing kept


def test_the_api_refuses_an_id_held_by_another_pupil(world, client, api_token):
    other = world.pupils["a1"]
    pupil, row = sent_back(world)
    response = client.post(f"/api/v1/registrations/{row.pk}/correct", data={
        "id_number": other.id_number, "name": other.name, "birth_date": other.birth_date.isoformat()},
        content_type="application/json", **api_token(world["a1"].operator))
    assert response.status_code == 422 and response.json()["code"] == "id_number_active_elsewhere"


def test_the_page_corrects_the_record(world, login):
    pupil, row = sent_back(world, dataclasses.replace(entry_record(world.school_a1),
                                                      guardians=[father(id_number=FATHER_ID), mother()]))
    client = login(world["a1"].operator)
    page = client.get(f"/registrations/{row.pk}/").content.decode()
    assert 'data-testid="correct-form"' in page and 'name="g3_name"' in page and 'name="g4_name"' in page
    assert 'value="黄小梅"' in page and "<script>" not in page.split('data-testid="correct-form"')[1]
    post = {"name": "黄晓梅", "sex": "2", "birth_date": pupil.birth_date.isoformat(), "id_type": "1",
            "id_number": PUPIL_ID, "source": "", "source_reason": "", "reason": "更正姓名", "duplicate_reason": ""}
    for n, g in enumerate(pupil.guardians.order_by("order"), start=1):
        post.update({f"g{n}_name": g.name, f"g{n}_relation": g.relation, f"g{n}_id_type": g.id_type,
                     f"g{n}_id_number": g.id_number, f"g{n}_vital": g.vital, f"g{n}_is_guardian": "on",
                     f"g{n}_hukou_division_code": g.hukou_division_id or ""})
    post.update({"g3_name": "林阿公", "g3_relation": "63", "g3_vital": "deceased"})
    response = client.post(f"/registrations/{row.pk}/resubmit/", post)
    assert response.status_code == 302
    pupil.refresh_from_db()
    assert pupil.name == "黄晓梅" and pupil.guardians.count() == 3
    assert reg_of(pupil).state == RegistrationState.SCHOOL_REVIEW
    assert engine.timeline(REGISTRATION, reg_of(pupil))


def test_a_pupil_record_is_its_own_no_hukou_match_only_by_exclusion(world):
    """The shared checks take the record's own pk: without it the pupil matches itself."""
    from enrolment.checks import check_against_registry
    from registry.records import record_of

    no_id, _row = sent_back(world, no_id_record(world.school_a1))
    data = record_of(Pupil.objects.get(pk=no_id.pk))
    [own] = check_against_registry([data], [world.school_a1])
    assert own.same_child == no_id or own.refusals
    [excluded] = check_against_registry([data], [world.school_a1], exclude_pk=no_id.pk)
    assert excluded.same_child is None and not excluded.refusals and not excluded.likely


def test_a_member_s_phone_alone_is_corrected_and_logged(world):
    pupil, row = sent_back(world)
    members = [GuardianData(name="黄大强", relation="51", id_number=FATHER_ID, is_first_guardian=True,
                            phone="13800138000")]
    row = registration.registration_correct(user=world["a1"].operator, registration_id=row.pk, guardians=members)
    assert pupil.guardians.get().phone == "13800138000"
    reason = Registration.objects.get(pk=row.pk).log.last().reason
    assert f"家庭成员：黄大强（父亲，{FATHER_ID}） → 黄大强（父亲，{FATHER_ID}，13800138000）" in reason


def test_a_corrected_birth_date_gives_the_number_the_record_would_have_had(world):
    """The L number carries the birth date: corrected, the record gets a new L number of the
    right date, and the old one is retired (never given again) and logged."""
    from registry.models import RetiredNumber

    pupil, row = sent_back(world)
    old = pupil.national_number
    assert old.startswith("L") and old[7:15] == BIRTH.strftime("%Y%m%d")
    row = registration.registration_correct(user=world["a1"].operator, registration_id=row.pk,
                                            record={"id_number": NEW_ID, "birth_date": NEW_BIRTH})
    pupil.refresh_from_db()
    assert pupil.national_number.startswith("L" + pupil.county_code + "20160309")
    assert RetiredNumber.objects.filter(number=old, pupil=pupil).exists()
    reason = Registration.objects.get(pk=row.pk).log.last().reason
    assert f"全国学籍号：{old} → {pupil.national_number}" in reason


def test_a_number_that_still_agrees_stays(world):
    pupil, row = sent_back(world)
    old = pupil.national_number
    registration.registration_correct(user=world["a1"].operator, registration_id=row.pk, record={"name": "黄晓梅"})
    pupil.refresh_from_db()
    assert pupil.national_number == old


def test_a_record_corrected_to_no_resident_id_gets_a_j_number(world):
    pupil, row = sent_back(world)
    old = pupil.national_number
    family = no_id_record(world.school_a1).guardians  # without an ID, the no-hukou rules' family
    registration.registration_correct(user=world["a1"].operator, registration_id=row.pk,
                                      record={"id_type": "Z", "id_number": ""}, guardians=family)
    pupil.refresh_from_db()
    assert pupil.national_number.startswith("J" + pupil.county_code + BIRTH.strftime("%Y%m%d")), old
