"""The origin-school lookup by a parent's resident ID number, for pupils without an ID
(无户籍: the receiving school finds the pupil by the parents' ID numbers)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from enrolment.registration import pupil_register
from kernel.errors import BusinessRefused, Forbidden, ValidationFailed
from registry import nohukou
from registry.records import GuardianData
from tests.factories import admit, make_pupil, resident_id
from tests.registry.test_nohukou import (
    FATHER_ID,
    GRANNY_ID,
    MOTHER_ID,
    father,
    granny,
    mother,
    no_id_record,
    orphan_record,
)
from tests.transfers.chain import OPEN_DAY
from transfers import lookup, services
from transfers.models import TransferLookup
from transfers.states import State

MINIMAL = {"ref", "name", "sex", "birth_date", "grade", "class_number"}


@pytest.fixture
def no_id_pupil(world):
    """林小溪, no resident ID (J number), both parents recorded, at 天河第一小学 (a1); admitted
    by the school and the county (新生注册审核)."""
    pupil = pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1))
    admit(pupil)
    return pupil


def _lookup(world, parent_id_number, *, name="", origin=None, user=None, id_number=""):
    return lookup.transfer_lookup(
        user=user or world["b1"].operator,
        origin_school_code=(origin or world.school_a1).code,
        name=name,
        id_number=id_number,
        parent_id_number=parent_id_number,
    )


# Found --------------------------------------------------------------------------------


@pytest.mark.parametrize("parent_id", [FATHER_ID, MOTHER_ID], ids=["father", "mother"])
def test_either_parents_id_number_finds_the_no_id_pupil_with_only_the_minimal_fields(world, no_id_pupil, parent_id):
    result = _lookup(world, parent_id)
    [card] = result.found
    assert {f.name for f in dataclasses.fields(card)} == MINIMAL
    assert (card.name, card.sex, card.birth_date, card.grade, card.class_number) == (
        "林小溪", "2", dt.date(2017, 6, 1), 2, 1
    )
    assert result.hint is None


def test_the_legal_guardians_id_number_finds_the_pupil(world):
    pupil_register(user=world["a1"].operator, data=orphan_record(world.school_a1, granny()))
    assert [c.name for c in _lookup(world, GRANNY_ID).found] == ["林小溪"]


def test_lower_case_x_and_spaces_are_normalised(world, no_id_pupil):
    typed = f" {MOTHER_ID.lower()} "
    assert len(_lookup(world, typed).found) == 1


def test_the_name_is_optional_and_narrows_when_given(world, no_id_pupil):
    pupil_register(
        user=world["a1"].operator,
        data=no_id_record(world.school_a1, name="林小山", birth_date=dt.date(2018, 2, 2), grade=1),
    )
    assert sorted(c.name for c in _lookup(world, FATHER_ID).found) == ["林小山", "林小溪"]
    assert [c.name for c in _lookup(world, FATHER_ID, name="林小溪").found] == ["林小溪"]


def test_a_name_slip_offers_the_parents_children_with_look_alike_names_only(world, no_id_pupil):
    result = _lookup(world, FATHER_ID, name="林晓溪")  # sound-alike slip
    assert result.found == [] and [c.name for c in result.close] == ["林小溪"]
    unrelated = _lookup(world, FATHER_ID, name="王大伟")
    assert unrelated.found == [] and unrelated.close == []


def test_the_ref_starts_the_transfer_like_any_other(world, no_id_pupil, open_season):
    card = _lookup(world, FATHER_ID).found[0]
    transfer = services.transfer_apply(
        user=world["b1"].operator, pupil_ref=card.ref, origin_school_code=world.school_a1.code,
        dest_grade=2, dest_class_number=1, reason="随父母务工", today=OPEN_DAY,
    )
    assert transfer.state == State.DRAFT and transfer.pupil_id == no_id_pupil.pk


# Nothing found ------------------------------------------------------------------------


def test_wrong_origin_school_finds_nothing(world, no_id_pupil):
    result = _lookup(world, FATHER_ID, origin=world.school_a2)
    assert result.found == [] and result.close == []
    assert "无户籍" in str(result.hint)


def test_a_parent_of_a_pupil_with_an_id_number_finds_nothing(world):
    pupil = world.pupils["a1"]  # 李娜, with a resident ID, her father's ID is on file
    parent_id = pupil.guardians.get().id_number
    assert _lookup(world, parent_id).found == []
    assert _lookup(world, parent_id, name="李娜").found == []
    assert _lookup(world, parent_id, name="李纳").close == []


def test_a_hmt_pupil_without_id_is_not_found_by_parent(world):
    pupil = make_pupil(world.school_a1, name="陈港生", sex="1", birth_date=dt.date(2016, 2, 2), id_number="",
                       hmt="01")
    parent_id = pupil.guardians.get().id_number
    assert _lookup(world, parent_id).found == []


def test_a_non_guardian_relative_does_not_find_the_pupil(world):
    uncle_id = resident_id(dt.date(1980, 6, 6), "1", region="440106", seq=104)
    uncle = GuardianData(name="林二海", relation="97", id_number=uncle_id, is_guardian=False)
    pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1, father(), mother(), uncle))
    assert _lookup(world, uncle_id).found == []
    assert len(_lookup(world, FATHER_ID).found) == 1


def test_deleted_records_are_not_found(world, no_id_pupil):
    type(no_id_pupil).objects.filter(pk=no_id_pupil.pk).update(status="deleted")
    assert _lookup(world, FATHER_ID).found == []


# Input errors -------------------------------------------------------------------------


def test_an_invalid_parent_id_number_is_refused_naming_the_field(world):
    bad = FATHER_ID[:-1] + ("0" if FATHER_ID[-1] != "0" else "1")
    with pytest.raises(ValidationFailed) as exc:
        _lookup(world, bad)
    assert (exc.value.code, exc.value.field) == ("id_check_char", "parent_id_number")
    assert "父母" in str(exc.value.message)


def test_pupil_id_and_parent_id_together_are_refused(world, no_id_pupil):
    with pytest.raises(ValidationFailed) as exc:
        _lookup(world, FATHER_ID, id_number=world.pupils["a1"].id_number)
    assert (exc.value.code, exc.value.field) == ("parent_id_with_pupil_id", "id_number")


def test_neither_name_nor_parent_id_is_refused(world):
    with pytest.raises(ValidationFailed) as exc:
        _lookup(world, "")
    assert (exc.value.code, exc.value.field) == ("name_required", "name")
    assert "父母身份证号" in str(exc.value.message)


def test_own_school_is_refused(world, no_id_pupil):
    with pytest.raises(BusinessRefused) as exc:
        _lookup(world, FATHER_ID, user=world["a1"].operator)
    assert exc.value.code == "same_school"


# Audit --------------------------------------------------------------------------------


def test_every_parent_lookup_is_audited_with_its_kind(world, no_id_pupil):
    _lookup(world, FATHER_ID)
    _lookup(world, MOTHER_ID, origin=world.school_a2)
    lookup.transfer_lookup(user=world["b1"].operator, origin_school_code=world.school_a1.code, name="李娜")
    rows = list(TransferLookup.objects.order_by("id"))
    assert [(r.kind, r.parent_id_number, r.origin_school_id, r.found, r.actor_name) for r in rows] == [
        ("parent", FATHER_ID, world.school_a1.pk, 1, world["b1"].operator.username),
        ("parent", MOTHER_ID, world.school_a2.pk, 0, world["b1"].operator.username),
        ("pupil", "", world.school_a1.pk, 1, world["b1"].operator.username),
    ]
    assert rows[0].school_id == world.school_b1.pk and rows[0].county_code == "440105"


def test_a_refused_parent_lookup_is_not_recorded_as_a_search(world):
    with pytest.raises(ValidationFailed):
        _lookup(world, "123")
    assert not TransferLookup.objects.exists()


# Tenancy ------------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["county_b", "county_a", "city", "province"])
def test_divisions_cannot_use_the_lookup(world, no_id_pupil, unit):
    with pytest.raises(Forbidden):
        _lookup(world, FATHER_ID, user=world[unit].approver)
    assert not TransferLookup.objects.exists()


def test_api_answers_only_the_minimal_fields_to_another_school(world, no_id_pupil, client, api_token):
    response = client.post(
        "/api/v1/transfers/lookup",
        {"origin_school_code": world.school_a1.code, "parent_id_number": FATHER_ID}, content_type="application/json",
        **api_token(world["b2"].operator),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    [card] = body["found"]
    assert set(card) == MINIMAL
    text = response.content.decode()
    for secret in (no_id_pupil.national_number, MOTHER_ID, "陈小红", "林大海"):
        assert secret not in text
    assert TransferLookup.objects.get().kind == "parent"


def test_api_lookup_does_not_open_the_record_to_the_other_school(world, no_id_pupil, client, api_token):
    headers = api_token(world["b1"].operator)
    client.post("/api/v1/transfers/lookup", {"origin_school_code": world.school_a1.code, "parent_id_number": FATHER_ID},
                content_type="application/json", **headers)
    response = client.get(f"/api/v1/pupils/{no_id_pupil.national_number}", **headers)
    assert response.status_code == 404
    assert "林小溪" not in response.content.decode()


def test_api_refuses_a_county_user(world, no_id_pupil, client, api_token):
    response = client.post(
        "/api/v1/transfers/lookup",
        {"origin_school_code": world.school_a1.code, "parent_id_number": FATHER_ID}, content_type="application/json",
        **api_token(world["county_a"].approver),
    )
    assert response.status_code == 403
    assert response.json()["code"] == "school_only"
    assert "林小溪" not in response.content.decode()


def test_api_invalid_parent_id_names_the_field(world, client, api_token):
    response = client.post(
        "/api/v1/transfers/lookup",
        {"origin_school_code": world.school_a1.code, "parent_id_number": "44010519860303"}, content_type="application/json",
        **api_token(world["b1"].operator),
    )
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "parent_id_number" and body["code"].startswith("id_")


def test_api_not_found_hint_explains_the_parent_lookup(world, client, api_token):
    response = client.post(
        "/api/v1/transfers/lookup",
        {"origin_school_code": world.school_a1.code, "parent_id_number": FATHER_ID}, content_type="application/json",
        **api_token(world["b1"].operator),
    )
    body = response.json()
    assert body["found"] == [] and "无户籍" in body["hint"]


# The page -----------------------------------------------------------------------------


def test_the_page_finds_the_pupil_by_parent_id(world, no_id_pupil, login):
    client = login(world["b1"].operator)
    response = client.post("/transfers/new/lookup/", {"origin": world.school_a1.code, "parent_id_number": MOTHER_ID})
    text = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="lookup-found"' in text and "林小溪" in text
    assert no_id_pupil.national_number not in text and FATHER_ID not in text
    assert TransferLookup.objects.get().kind == "parent"


def test_the_page_get_shows_the_form_and_looks_nothing_up(world, no_id_pupil, login):
    client = login(world["b1"].operator)
    response = client.get("/transfers/new/", {"origin": world.school_a1.code, "parent_id_number": MOTHER_ID})
    assert response.status_code == 200 and 'data-testid="lookup-form"' in response.content.decode()
    assert "林小溪" not in response.content.decode() and not TransferLookup.objects.exists()


# The registration refusal points to this lookup ---------------------------------------


def test_existing_record_refusal_points_to_the_parent_id_lookup(world, no_id_pupil):
    [problem] = nohukou.registration_problems(no_id_record(world.school_b1))
    assert problem.code == "nohukou_existing_record"
    message = str(problem.message)
    assert "转学申请" in message and "父母（或法定监护人）身份证号" in message


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_lookup_by_parent_id_in_the_browser(world, page, browser_login, open_season):
    pupil = pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1))
    admit(pupil)
    browser_login(world["b1"].operator)
    page.goto("/transfers/new/")
    page.fill("[data-testid=school-keyword]", "天河第一")
    page.keyboard.press("Enter")
    page.click(f"[data-testid=choose-school-{world.school_a1.code}]")
    page.fill("[data-testid=lookup-parent-id]", FATHER_ID)
    page.click("[data-testid=lookup]")
    found = page.inner_text("[data-testid=lookup-found]")
    assert "林小溪" in found and "2017-06-01" in found
    page.fill("input[name=dest_grade]", "2")
    page.fill("input[name=dest_class_number]", "1")
    page.fill("textarea[name=reason]", "随父母务工")
    page.click("[data-testid=save-apply]")
    page.wait_for_selector("[data-testid=state][data-state=draft]")
    assert pupil.transfers.get().dest_school_id == world.school_b1.pk
