"""The one name rule (``registry.validation.name_problem``): Chinese characters (rare ones
too) with the middle dot, or Latin letters for foreign nationals, within the length; formula
prefixes, digits and markup refused — in the service, the form, the API and the roster."""

from __future__ import annotations

import pytest

from registry.validation import normalize_name, pupil_problems
from tests.enrolment.test_registration import id_record, post


def _codes(data) -> dict[str, str]:
    return {p.field: p.code for p in pupil_problems(data)}


@pytest.mark.parametrize("name", ["李娜", "阿沛·阿旺晋美", "𠀀明", "䶮", "John Smith", "Mary-Jane O'Brien",
                                  "José Núñez", "王小明"])
def test_real_names_pass(world, name):
    assert "name" not in _codes(id_record(world.school_a1, name=name))


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x","许")', "+SUM(1,2)", "=建国", "-李", "@王", "张3",
                                  "<b>张</b>", "李娜Li", "·李", "李··娜", "张_三"])
def test_anything_else_is_refused_with_a_reason(world, name):
    problems = pupil_problems(id_record(world.school_a1, name=name))
    [problem] = [p for p in problems if p.field == "name"]
    assert problem.code == "invalid_name" and "汉字" in str(problem.message)


def test_a_name_over_the_length_is_refused_with_the_length_message(world):
    [problem] = [p for p in pupil_problems(id_record(world.school_a1, name="张" * 51)) if p.field == "name"]
    assert problem.code == "too_long" and str(problem.message) == "姓名不能超过50个字符"


def test_look_alike_dots_and_spaces_are_normalised():
    assert normalize_name("阿沛•阿旺晋美") == "阿沛·阿旺晋美"
    assert normalize_name("李 娜") == "李娜"
    assert normalize_name(" John   Smith ") == "John Smith"


def test_family_members_and_former_names_have_the_same_rule(world):
    data = id_record(world.school_a1, former_name="=SUM(1)")
    data.guardians[0].name = "+黄大强"
    codes = _codes(data)
    assert codes["former_name"] == "invalid_name" and codes["guardians[1].name"] == "invalid_name"


def test_the_api_answers_422_not_500_for_a_long_or_bad_name(world, client, api_token):
    headers = api_token(world["a1"].operator)
    response = post(client, headers, id_record(world.school_a1, name="张" * 60))
    assert response.status_code == 422 and response.json()["code"] == "too_long"
    response = post(client, headers, id_record(world.school_a1, name="=建国"))
    assert response.status_code == 422 and response.json()["code"] == "invalid_name"


def test_the_form_refuses_it_with_the_same_reason(world, login):
    client = login(world["a1"].operator)
    post_data = {"name": "=建国", "sex": "1", "birth_date": "2016-04-04", "id_type": "Z", "ethnicity": "01",
                 "nationality": "CHN", "hmt": "00", "health": "10", "boarding": "1", "left_behind": "0",
                 "migrant": "0", "grade": "1", "class_number": "1", "enrolled_on": "2022-09-01",
                 "g1_name": "黄大强", "g1_relation": "51", "g1_id_type": "1", "g1_vital": "alive",
                 "g2_id_type": "1", "g2_vital": "alive"}
    page = client.post("/pupils/new/", post_data).content.decode()
    assert 'data-code="invalid_name"' in page and "不能含数字、符号或公式" in page
