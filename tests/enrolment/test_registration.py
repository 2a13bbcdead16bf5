"""Registering a pupil (学籍建立) through the service, the API ``POST /api/v1/pupils`` and the
form ``/pupils/new/``: numbers given, IDs checked, held IDs refused, and the no-ID cases."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from urllib.parse import urlencode

import pytest

from enrolment.registration import pupil_register
from kernel.errors import BusinessRefused, ValidationFailed
from kernel.identity import id_check_char, validate_national_number
from registry.models import HistoryEntry, Pupil
from registry.records import GuardianData, PupilData
from tests.factories import resident_id
from tests.registry.test_nohukou import BIRTH, FATHER_ID, MOTHER_ID, no_id_record

PUPIL_ID = resident_id(BIRTH, "2", region="440106", seq=201)


def id_record(school, **changes) -> PupilData:
    base = PupilData(
        school_code=school.code,
        name="黄小梅",
        sex="2",
        birth_date=BIRTH,
        grade=2,
        class_number=1,
        enrolled_on=dt.date(2023, 9, 1),
        id_type="1",
        id_number=PUPIL_ID,
        guardians=[GuardianData(name="黄大强", relation="51", id_number=FATHER_ID, is_first_guardian=True)],
        source="other",  # grade 2 is not an entry grade: the registration states source and reason
        source_reason="插班注册",
    )
    return dataclasses.replace(base, **changes)


def bad_check_char(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


# The service ------------------------------------------------------------------------------


def test_pupil_with_id_gets_an_l_number_and_a_history_entry(world):
    pupil = pupil_register(user=world["a1"].operator, data=id_record(world.school_a1, id_number=PUPIL_ID.lower()))
    assert pupil.id_number == PUPIL_ID.upper()
    assert validate_national_number(pupil.national_number).kind == "L"
    assert pupil.national_number[1:15] == f"440106{BIRTH:%Y%m%d}"
    assert pupil.county_code == "440106"
    assert HistoryEntry.objects.get(pupil=pupil).kind == "registered"


def test_id_held_by_an_active_pupil_is_refused_naming_school_and_county(world):
    holder = world.pupils["b1"]
    data = id_record(world.school_a1, id_number=holder.id_number, name=holder.name, sex=holder.sex,
                     birth_date=holder.birth_date)
    with pytest.raises(BusinessRefused) as caught:
        pupil_register(user=world["a1"].operator, data=data)
    exc = caught.value
    assert (exc.code, exc.field) == ("id_number_active_elsewhere", "id_number")
    assert "海珠第一小学" in str(exc.message) and "海珠区" in str(exc.message)
    assert exc.details == {"school_code": "4401050001", "school_name": "海珠第一小学", "county_code": "440105"}
    assert holder.national_number not in str(exc.message)
    assert Pupil.objects.filter(id_number=holder.id_number).count() == 1


def test_id_held_in_another_province_is_refused_too(world):
    holder = world.pupils["x"]
    data = id_record(world.school_a1, id_number=holder.id_number, sex=holder.sex, birth_date=holder.birth_date)
    with pytest.raises(BusinessRefused) as caught:
        pupil_register(user=world["a1"].operator, data=data)
    assert "江岸实验小学" in str(caught.value.message)


@pytest.mark.parametrize("status", ["graduated", "completed", "incomplete"])
def test_id_of_a_graduate_is_refused_and_points_to_progression(world, status):
    holder = world.pupils["b1"]
    Pupil.objects.filter(pk=holder.pk).update(status=status)
    data = id_record(world.school_a2, id_number=holder.id_number, name=holder.name, sex=holder.sex,
                     birth_date=holder.birth_date, grade=7)
    with pytest.raises(BusinessRefused) as caught:
        pupil_register(user=world["a2"].operator, data=data)
    exc = caught.value
    assert (exc.code, exc.field) == ("graduate_use_progression", "id_number")
    assert "升学接收" in str(exc.message) and "海珠第一小学" in str(exc.message)
    assert holder.national_number not in json.dumps(exc.as_dict(), ensure_ascii=False)  # never the number
    assert exc.details["url"] == f"/progressions/?{urlencode({'q': holder.id_number, 'name': holder.name})}"
    assert Pupil.objects.filter(id_number=holder.id_number).count() == 1


def test_id_of_a_dead_pupil_is_refused_for_another_name_and_a_warning_for_the_same(world):
    holder = world.pupils["b1"]
    Pupil.objects.filter(pk=holder.pk).update(status="deceased")
    other = id_record(world.school_a1, id_number=holder.id_number, name="另一人", sex=holder.sex,
                      birth_date=holder.birth_date)
    with pytest.raises(BusinessRefused) as caught:
        pupil_register(user=world["a1"].operator, data=other)
    assert caught.value.code == "id_number_of_deceased"
    same = id_record(world.school_a1, id_number=holder.id_number, name=holder.name, sex=holder.sex,
                     birth_date=holder.birth_date)
    with pytest.raises(BusinessRefused) as warned:
        pupil_register(user=world["a1"].operator, data=same)
    assert warned.value.code == "likely_duplicate" and "死亡" in warned.value.details[0]["summary"]


def test_id_of_a_deleted_record_may_be_registered_again(world):
    holder = world.pupils["b1"]
    Pupil.objects.filter(pk=holder.pk).update(status="deleted")
    data = id_record(world.school_a1, id_number=holder.id_number, sex=holder.sex, birth_date=holder.birth_date)
    assert pupil_register(user=world["a1"].operator, data=data).id_number == holder.id_number


def test_a_likely_duplicate_that_graduated_says_to_receive_it(world):
    from tests.duplicates.helpers import record_like

    holder = world.pupils["a1"]  # 李娜
    Pupil.objects.filter(pk=holder.pk).update(status="graduated", grade=6)
    data = record_like(holder, world.school_a2, name="李纳", grade=7)  # a pinyin slip, an invented ID
    with pytest.raises(BusinessRefused) as warned:
        pupil_register(user=world["a2"].operator, data=data)
    assert warned.value.code == "likely_duplicate"
    assert "升学接收" in warned.value.details[0]["summary"] and warned.value.details[0]["status"] == "graduated"


@pytest.mark.parametrize(
    ("id_number", "code"),
    [
        (bad_check_char(PUPIL_ID), "id_check_char"),
        (PUPIL_ID[:6] + PUPIL_ID[8:17], "id_legacy_15"),
        ("99" + PUPIL_ID[2:], "id_province"),
        (PUPIL_ID[:17], "id_length"),
    ],
)
def test_invalid_id_is_refused_not_registered_as_no_id(world, id_number, code):
    with pytest.raises(ValidationFailed) as caught:
        pupil_register(user=world["a1"].operator, data=id_record(world.school_a1, id_number=id_number))
    assert (caught.value.code, caught.value.field) == (code, "id_number")
    assert not Pupil.objects.filter(name="黄小梅").exists()
    assert not Pupil.objects.filter(national_number__startswith="J").exists()


def test_resident_id_type_without_number_is_refused(world):
    with pytest.raises(ValidationFailed) as caught:
        pupil_register(user=world["a1"].operator, data=id_record(world.school_a1, id_number=""))
    exc = caught.value
    codes = {d["code"]: d["field"] for d in exc.details} if exc.code == "invalid_record" else {exc.code: exc.field}
    assert codes["id_number_required"] == "id_number"
    assert not Pupil.objects.filter(name="黄小梅").exists()


def test_no_document_type_with_a_number_is_refused(world):
    data = no_id_record(world.school_a1, id_number=PUPIL_ID)
    with pytest.raises(ValidationFailed) as caught:
        pupil_register(user=world["a1"].operator, data=data)
    assert (caught.value.code, caught.value.field) == ("id_number_not_allowed", "id_number")


def test_birth_date_must_agree_with_the_id(world):
    with pytest.raises(ValidationFailed) as caught:
        pupil_register(user=world["a1"].operator, data=id_record(world.school_a1, birth_date=dt.date(2017, 6, 2)))
    assert (caught.value.code, caught.value.field) == ("id_birth_mismatch", "birth_date")


def test_no_id_pupil_gets_a_j_number_with_check_char(world):
    pupil = pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1))
    body = f"440106{BIRTH:%Y%m%d}001"
    assert pupil.national_number == f"J{body}{id_check_char(body)}"
    assert len(pupil.national_number) == 19


def test_approver_cannot_register(world):
    from kernel.errors import Forbidden

    with pytest.raises(Forbidden):
        pupil_register(user=world["a1"].approver, data=id_record(world.school_a1))


# The API --------------------------------------------------------------------------------------


def _guardian_json(g: GuardianData) -> dict:
    body = dataclasses.asdict(g)
    body["police_date"] = g.police_date.isoformat() if g.police_date else None
    return body


def api_body(data: PupilData) -> dict:
    body = dataclasses.asdict(data)
    body["guardians"] = [_guardian_json(g) for g in data.guardians]
    for key in ("birth_date", "enrolled_on"):
        body[key] = body[key].isoformat()
    return body


def post(client, headers, data: PupilData):
    return client.post("/api/v1/pupils", json.dumps(api_body(data)), content_type="application/json", **headers)


def test_api_registers_a_no_id_pupil(world, client, api_token):
    response = post(client, api_token(world["a1"].operator), no_id_record(world.school_a1))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["national_number"].startswith(f"J440106{BIRTH:%Y%m%d}001")
    assert body["id_type"] == "Z" and body["id_number"] == ""
    detail = client.get(f"/api/v1/pupils/{body['national_number']}", **api_token(world["a1"].operator)).json()
    assert detail["hukou_division_code"] == "440105"
    assert [g["is_first_guardian"] for g in detail["guardians"]] == [True, False]


def test_api_refuses_a_missing_parent_with_its_code(world, client, api_token):
    data = no_id_record(
        world.school_a1,
        GuardianData(name="陈小红", relation="52", id_number=MOTHER_ID, is_first_guardian=True,
                     hukou_division_code="440106"),
    )
    response = post(client, api_token(world["a1"].operator), data)
    assert response.status_code == 422
    assert response.json() == {
        "code": "nohukou_father_required",
        "message": response.json()["message"],
        "field": "guardians",
    }
    assert "父亲" in response.json()["message"]


def test_api_lists_every_problem(world, client, api_token):
    data = no_id_record(
        world.school_a1,
        GuardianData(name="林大海", relation="51", id_number="", is_first_guardian=True),
    )
    response = post(client, api_token(world["a1"].operator), data)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_record"
    assert {(d["code"], d["field"]) for d in body["details"]} == {
        ("nohukou_father_id_required", "guardians[1].id_number"),
        ("nohukou_mother_required", "guardians"),
        ("nohukou_first_guardian_hukou_required", "guardians[1].hukou_division_code"),
    }


def test_api_missing_parent_needs_police_confirmation(world, client, api_token):
    data = no_id_record(
        world.school_a1,
        GuardianData(name="林大海", relation="51", vital="missing"),
        GuardianData(name="陈小红", relation="52", id_number=MOTHER_ID, is_first_guardian=True,
                     hukou_division_code="440106"),
    )
    response = post(client, api_token(world["a1"].operator), data)
    assert {d["code"] for d in response.json()["details"]} == {
        "guardian_missing_police_reference", "guardian_missing_police_date"
    }
    data.guardians[0].police_reference = "穗公认字18号"
    data.guardians[0].police_date = dt.date(2023, 3, 1)
    assert post(client, api_token(world["a1"].operator), data).status_code == 201


def test_api_refuses_a_second_record_of_the_same_child(world, client, api_token):
    assert post(client, api_token(world["b1"].operator), no_id_record(world.school_b1)).status_code == 201
    response = post(client, api_token(world["a1"].operator), no_id_record(world.school_a1))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "nohukou_existing_record"
    assert "海珠第一小学" in body["message"] and "转学" in body["message"]


def test_api_refuses_an_invalid_id(world, client, api_token):
    data = id_record(world.school_a1, id_number=bad_check_char(PUPIL_ID))
    response = post(client, api_token(world["a1"].operator), data)
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == ("id_check_char", "id_number")
    assert not Pupil.objects.filter(name="黄小梅").exists()


def test_api_refuses_an_active_id_elsewhere(world, client, api_token):
    holder = world.pupils["b1"]
    data = id_record(world.school_a1, id_number=holder.id_number, sex=holder.sex, birth_date=holder.birth_date)
    response = post(client, api_token(world["a1"].operator), data)
    assert response.status_code == 422
    assert response.json()["code"] == "id_number_active_elsewhere"
    assert "海珠第一小学" in response.json()["message"]


# The form /pupils/new/ -----------------------------------------------------------------------------

def form_post(data: PupilData, **extra) -> dict:
    post = {
        "name": data.name, "sex": data.sex, "birth_date": data.birth_date.isoformat(), "id_type": data.id_type,
        "id_number": data.id_number, "ethnicity": "01", "nationality": "CHN", "hmt": data.hmt, "hukou_nature": "",
        "health": "10", "boarding": "1", "left_behind": "0", "migrant": "0", "grade": data.grade,
        "class_number": data.class_number, "enrolled_on": data.enrolled_on.isoformat(), "duplicate_reason": "",
        "source": data.source, "source_reason": data.source_reason,
    }
    for n in (1, 2):
        post[f"g{n}_id_type"] = "1"
        post[f"g{n}_vital"] = "alive"
    for n, g in enumerate(data.guardians[:4], start=1):
        post.update({f"g{n}_name": g.name, f"g{n}_relation": g.relation, f"g{n}_id_type": g.id_type,
                     f"g{n}_id_number": g.id_number, f"g{n}_phone": g.phone, f"g{n}_is_guardian": "on"})
        post.update({f"g{n}_vital": g.vital, f"g{n}_police_reference": g.police_reference,
                     f"g{n}_police_date": g.police_date.isoformat() if g.police_date else "",
                     f"g{n}_hukou_division_code": g.hukou_division_code})
    post.update(extra)
    return post


def test_form_registers_a_pupil_with_id(world, login):
    client = login(world["a1"].operator)
    response = client.post("/pupils/new/", form_post(id_record(world.school_a1)))
    pupil = Pupil.objects.get(name="黄小梅")
    assert response.status_code == 302 and response.url == f"/pupils/{pupil.national_number}/"


def test_form_shows_an_invalid_id_on_the_field_and_saves_nothing(world, login):
    client = login(world["a1"].operator)
    response = client.post("/pupils/new/", form_post(id_record(world.school_a1, id_number=bad_check_char(PUPIL_ID))))
    assert response.status_code == 200
    assert 'data-code="id_check_char"' in response.content.decode()
    assert "校验位" in response.content.decode()
    assert not Pupil.objects.filter(name="黄小梅").exists()


def test_form_shows_the_school_holding_an_id(world, login):
    holder = world.pupils["b1"]
    client = login(world["a1"].operator)
    data = id_record(world.school_a1, id_number=holder.id_number, sex=holder.sex, birth_date=holder.birth_date)
    content = client.post("/pupils/new/", form_post(data)).content.decode()
    assert 'data-code="id_number_active_elsewhere"' in content
    assert "海珠第一小学" in content


def test_form_refuses_a_no_id_pupil_whose_first_guardian_has_no_hukou(world, login):
    data = no_id_record(world.school_a1, *(dataclasses.replace(g, hukou_division_code="") for g in
                                           no_id_record(world.school_a1).guardians))
    client = login(world["a1"].operator)
    content = client.post("/pupils/new/", form_post(data)).content.decode()
    assert 'data-code="nohukou_first_guardian_hukou_required"' in content
    assert not Pupil.objects.filter(name="林小溪").exists()


def test_form_registers_a_no_id_pupil_with_the_first_guardians_hukou(world, login):
    client = login(world["a1"].operator)
    response = client.post("/pupils/new/", form_post(no_id_record(world.school_a1)))
    pupil = Pupil.objects.get(name="林小溪")
    assert response.status_code == 302
    assert pupil.national_number.startswith("J") and pupil.hukou_division_id == "440105"


def test_form_refuses_a_second_record_of_the_same_child(world, login):
    pupil_register(user=world["b1"].operator, data=no_id_record(world.school_b1))
    client = login(world["a1"].operator)
    content = client.post("/pupils/new/", form_post(no_id_record(world.school_a1))).content.decode()
    assert 'data-code="nohukou_existing_record"' in content and "海珠第一小学" in content


# In a real browser ---------------------------------------------------------------------------------


def _fill(page, post: dict) -> None:
    for name, value in post.items():
        locator = page.locator(f"[name={name}]")
        if locator.count() == 0:
            continue
        tag = locator.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
        if tag.startswith("select"):
            locator.select_option(str(value)) if value != "" else None
        elif tag.endswith("checkbox"):
            locator.set_checked(bool(value))
        else:
            locator.fill(str(value))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_browser_operator_registers_a_pupil_and_sees_a_refused_id(world, browser_login):
    page = browser_login(world["a1"].operator)
    page.goto("/pupils/new/")
    _fill(page, form_post(id_record(world.school_a1, id_number=bad_check_char(PUPIL_ID))))
    with page.expect_navigation():
        page.click("button.primary")
    assert page.locator(".error[data-code=id_check_char]").count() == 1
    page.fill("[name=id_number]", PUPIL_ID)
    page.click("button.primary")
    page.wait_for_url("**/pupils/L*/")
    assert "黄小梅" in page.text_content("[data-testid=pupil-name]")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_browser_no_id_pupil_registration(world, browser_login):
    page = browser_login(world["a1"].operator)
    page.goto("/pupils/new/")
    mother_only = no_id_record(
        world.school_a1,
        GuardianData(name="陈小红", relation="52", id_number=MOTHER_ID, is_first_guardian=True,
                     hukou_division_code="440106"),
        GuardianData(name="林大海", relation="51", id_number=FATHER_ID),
    )
    _fill(page, form_post(mother_only))
    with page.expect_navigation():
        page.click("button.primary")
    page.wait_for_url("**/pupils/J*/")
    assert Pupil.objects.get(name="林小溪").hukou_division_id == "440106"  # the mother's, the first guardian
