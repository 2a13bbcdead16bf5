"""Province settings come from the shared cache, and every change reaches the next read."""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.db import connection

from provinces import cache as province_cache
from provinces import calendar
from provinces.models import CalendarOverride, ProvincePolicy


def test_a_second_read_costs_no_query(world, django_assert_num_queries):
    ProvincePolicy.for_province("440106")
    calendar.calendar_overrides("440106")
    with django_assert_num_queries(0):
        assert ProvincePolicy.for_province("44").step_working_days == 10
        assert calendar.due_date(dt.date(2026, 3, 2), province_code="440106") == dt.date(2026, 3, 16)


def test_a_policy_form_change_is_seen_at_once(world, login):
    assert calendar.due_date(dt.date(2026, 3, 2), province_code="44") == dt.date(2026, 3, 16)
    client = login(world["province"].admin)
    data = {f: getattr(ProvincePolicy(province_id="44"), f) for f in ("freeze_start", "freeze_end", "promotion_date",
                                                                      "graduation_deadline", "graduation_opens", "unreceived_graduates_day")}
    data.update(step_working_days=12, reminder_working_days=2, photo_max_bytes=61440, photo_min_width=154,
                photo_min_height=189, photo_aspect_tolerance=0.05, save_policy="1",
                identity_min_match_share=0.9, deletion_undo_days=30, foreign_lookups_per_hour=30)
    assert client.post("/province/policy/", data).status_code == 302
    assert ProvincePolicy.for_province("440106").step_working_days == 12
    assert calendar.due_date(dt.date(2026, 3, 2), province_code="44") == dt.date(2026, 3, 18)


def test_a_calendar_override_is_seen_at_once_and_its_removal_too(world):
    monday = dt.date(2026, 3, 2)
    assert calendar.due_date(monday, province_code="44") == dt.date(2026, 3, 16)
    override = CalendarOverride.objects.create(province_id="44", day=dt.date(2026, 3, 3), is_working_day=False)
    assert calendar.due_date(monday, province_code="44") == dt.date(2026, 3, 17)
    assert calendar.due_date(monday, province_code="42") == dt.date(2026, 3, 16)  # another province
    override.delete()
    assert calendar.due_date(monday, province_code="44") == dt.date(2026, 3, 16)


def test_the_entry_is_dropped_again_when_the_write_commits(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ProvincePolicy.objects.update_or_create(province_id="44", defaults={"step_working_days": 15})
        # Another process read the old row before the commit and cached it.
        cache.set(province_cache._key("policy", "44"), ProvincePolicy(province_id="44"))
    assert ProvincePolicy.for_province("44").step_working_days == 15


def test_the_policy_page_edits_the_stored_row(world, login):
    ProvincePolicy.objects.update_or_create(province_id="44", defaults={"step_working_days": 11})
    province_cache.forget_all()
    ProvincePolicy.for_province("44")
    ProvincePolicy.objects.filter(province_id="44").update(step_working_days=13)  # no signal: cache is stale
    assert ProvincePolicy.for_province("44").step_working_days == 11
    page = login(world["province"].admin).get("/province/policy/")
    assert page.context["form"].instance.step_working_days == 13


def test_each_database_has_its_own_entries(world, settings):
    ProvincePolicy.objects.update_or_create(province_id="44", defaults={"step_working_days": 14})
    assert ProvincePolicy.for_province("44").step_working_days == 14
    key = province_cache._key("policy", "44")
    assert connection.settings_dict["NAME"] in key
    other = key.replace(connection.settings_dict["NAME"], "another_registry")
    assert cache.get(other) is None


def test_without_the_cache_reads_go_to_the_database(world, monkeypatch, caplog):
    def unreachable(*args, **kwargs):
        raise ConnectionError("no cache")

    monkeypatch.setattr(cache, "get", unreachable)
    monkeypatch.setattr(cache, "set", unreachable)
    ProvincePolicy.objects.update_or_create(province_id="44", defaults={"step_working_days": 9})
    assert ProvincePolicy.for_province("44").step_working_days == 9
    assert calendar.calendar_overrides("44") == {}
    assert "cache unreachable" in caplog.text
