"""The province policy page (省级政策) and its holiday calendar: the province admin only."""

from __future__ import annotations

from provinces.models import CalendarOverride, ProvincePolicy


def test_policy_form_saves_policy_and_calendar_override(world, login):
    client = login(world["province"].admin)
    assert client.get("/province/policy/").status_code == 200
    data = {f: getattr(ProvincePolicy(province_id="44"), f) for f in ("freeze_start", "freeze_end", "promotion_date",
                                                                      "graduation_deadline", "graduation_opens", "unreceived_graduates_day")}
    data.update(step_working_days=12, reminder_working_days=2, photo_max_bytes=61440, photo_min_width=154,
                photo_min_height=189, photo_aspect_tolerance=0.05,
                identity_min_match_share=0.9, deletion_undo_days=30, foreign_lookups_per_hour=30, save_policy="1", freeze_enabled="on")
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
    data = {f: getattr(ProvincePolicy(province_id="44"), f) for f in ("freeze_start", "freeze_end", "promotion_date",
                                                                      "graduation_deadline", "graduation_opens",
                                                                      "unreceived_graduates_day")}
    data.update(step_working_days=10, reminder_working_days=2, photo_max_bytes=61440, photo_min_width=154,
                photo_min_height=189, photo_aspect_tolerance=0.05,
                identity_min_match_share=0.9, deletion_undo_days=30, foreign_lookups_per_hour=30, save_policy="1", graduation_deadline="02-30")
    response = client.post("/province/policy/", data)
    assert response.status_code == 200 and "不是有效的月-日" in response.content.decode()
    assert not ProvincePolicy.objects.filter(province_id="44").exists()
