"""The registration form: the pupil's 户口所在地 through a picker of county-level divisions
(checked again by the server), and 性别 without a preselected value."""

from __future__ import annotations

import re

from registry.models import Pupil
from tests.enrolment.test_registration import form_post, id_record


def test_the_form_offers_county_level_divisions_and_no_preselected_sex(world, login):
    page = login(world["a1"].operator).get("/pupils/new/").content.decode()
    assert 'list="county-divisions"' in page and 'name="hukou_division_code"' in page
    assert '<option value="440106">广东省广州市天河区</option>' in page
    assert '<option value="441900">广东省东莞市</option>' in page
    assert '<option value="4401">' not in page  # a city with counties is no 户口所在地 choice
    sex = re.search(r'<select name="sex".*?</select>', page, re.S).group(0)
    assert '<option value="" selected>请选择</option>' in sex
    assert '<option value="1" selected' not in sex and '<option value="2" selected' not in sex


def test_the_form_registers_the_pupils_hukou(world, login):
    response = login(world["a1"].operator).post(
        "/pupils/new/", form_post(id_record(world.school_a1), hukou_division_code="441900"))
    pupil = Pupil.objects.get(name="黄小梅")
    assert response.status_code == 302 and pupil.hukou_division_id == "441900"
    page = login(world["a1"].operator).get(f"/pupils/{pupil.national_number}/").content.decode()
    assert "广东省东莞市" in page and 'data-testid="record-update"' in page


def test_an_unknown_hukou_code_is_refused_on_its_field(world, login):
    response = login(world["a1"].operator).post(
        "/pupils/new/", form_post(id_record(world.school_a1), hukou_division_code="449999"))
    assert response.status_code == 200 and 'data-code="unknown_division"' in response.content.decode()
    assert not Pupil.objects.filter(name="黄小梅").exists()


def test_sex_must_be_chosen(world, login):
    response = login(world["a1"].operator).post("/pupils/new/", form_post(id_record(world.school_a1), sex=""))
    assert response.status_code == 200 and not Pupil.objects.filter(name="黄小梅").exists()
