"""The province policy page (省级政策) and its holiday calendar: the province admin only."""

from __future__ import annotations

from provinces.models import CalendarOverride, ProvincePolicy
from tests.factories import policy_form_data


def test_policy_form_saves_policy_and_calendar_override(world, login):
    client = login(world["province"].admin)
    assert client.get("/province/policy/").status_code == 200
    data = policy_form_data(step_working_days=12, reminder_working_days=2, freeze_enabled="on")
    assert client.post("/province/policy/", data).status_code == 302
    assert ProvincePolicy.objects.get(province_id="44").step_working_days == 12
    client.post("/province/policy/", {"day-day": "2031-10-08", "day-is_working_day": "on", "day-note": "调休",
                                      "save_day": "1"})
    assert CalendarOverride.objects.get(province_id="44").is_working_day
    assert login(world["county_a"].approver).get("/province/policy/").status_code == 403
    assert login(world["other_province"].admin).get("/province/policy/").status_code == 200
    assert not ProvincePolicy.objects.filter(province_id="42").exists()  # a GET writes nothing


def test_a_day_of_the_year_that_is_not_mm_dd_is_refused_on_the_form(world, login):
    client = login(world["province"].admin)
    data = policy_form_data(graduation_deadline="02-30")
    response = client.post("/province/policy/", data)
    assert response.status_code == 200 and "不是有效的月-日" in response.content.decode()
    assert not ProvincePolicy.objects.filter(province_id="44").exists()


def test_the_policy_page_is_in_sections_with_the_photo_limit_in_kb(world, login):
    client = login(world["province"].admin)
    url = "/province/policy/"
    body = client.get(url).content.decode()
    assert body.count('data-testid="policy-section"') >= 6 and "<legend>学生照片</legend>" in body
    assert 'name="photo_max_kb" value="60"' in body and "photo_max_bytes" not in body
    response = client.post(url, policy_form_data(photo_max_kb=80))
    assert response.status_code == 302
    assert ProvincePolicy.objects.get(province_id="44").photo_max_bytes == 80 * 1024
