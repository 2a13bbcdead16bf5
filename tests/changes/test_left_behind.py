"""留守儿童/随迁子女年度登记: a county opens the yearly campaign, each school gets a 待办 and
confirms its 在籍 pupils; the county sees each school's progress and who is not confirmed;
nobody crosses into another school or county."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from changes import left_behind
from changes.models import LeftBehindCampaign, LeftBehindConfirmation
from kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed
from registry.models import Pupil, PupilStatus
from tests.factories import make_pupil
from workflow.models import WorkItem

TODAY = dt.date(2026, 9, 1)
CLOSES = dt.date(2026, 10, 31)


def _open(world, user=None):
    return left_behind.left_behind_campaign_open(user=user or world["county_a"].operator, school_year=2026,
                                                 closes_on=CLOSES, today=TODAY)


def test_opening_gives_each_school_of_the_county_a_work_item_due_on_the_closing_day(world):
    campaign = _open(world)
    items = WorkItem.objects.filter(kind=left_behind.WORK_KIND, state="open")
    assert {i.school_id for i in items} == {world.school_a1.pk, world.school_a2.pk}
    assert {i.due_on for i in items} == {CLOSES}
    assert campaign.county_code == "440106"


def test_one_campaign_per_county_and_year_and_only_a_county_opens_it(world):
    _open(world)
    with pytest.raises(Conflict) as exc:
        _open(world)
    assert exc.value.code == "campaign_exists"
    with pytest.raises(Forbidden):
        _open(world, user=world["a1"].operator)
    with pytest.raises(ValidationFailed) as exc:
        left_behind.left_behind_campaign_open(user=world["county_b"].operator, school_year=2026,
                                              closes_on=dt.date(2026, 8, 1), today=TODAY)
    assert exc.value.code == "closes_in_past"


def test_confirming_every_pupil_closes_the_schools_work_item_and_keeps_the_answers(world):
    campaign = _open(world)
    pupil = world.pupils["a1"]
    Pupil.objects.filter(pk=pupil.pk).update(left_behind="2")
    assert left_behind.left_behind_confirm(user=world["a1"].operator, campaign_id=campaign.pk,
                                           national_numbers=[pupil.national_number]) == 1
    confirmation = LeftBehindConfirmation.objects.get(campaign=campaign, pupil=pupil)
    assert (confirmation.left_behind, confirmation.confirmed_by) == ("2", world["a1"].operator)
    assert not WorkItem.objects.filter(kind=left_behind.WORK_KIND, state="open", school=world.school_a1).exists()
    assert WorkItem.objects.filter(kind=left_behind.WORK_KIND, state="open", school=world.school_a2).exists()
    # confirming again changes nothing
    assert left_behind.left_behind_confirm(user=world["a1"].operator, campaign_id=campaign.pk,
                                           national_numbers=[pupil.national_number]) == 0


def test_a_bulk_confirm_refreshes_the_planner_statistics(world, monkeypatch, django_capture_on_commit_callbacks):
    """Without fresh statistics the unconfirmed list reads every confirmation once per pupil."""
    from django.db import connection

    campaign = _open(world)
    second = make_pupil(world.school_a1, name="张三", sex="1", birth_date=dt.date(2016, 2, 2))

    def reltuples() -> float:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'changes_leftbehindconfirmation'")
            return cursor.fetchone()[0]

    monkeypatch.setattr(left_behind, "ANALYZE_AFTER_ROWS", 3)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        left_behind.left_behind_confirm(user=world["a1"].operator, campaign_id=campaign.pk,
                                        national_numbers=[world.pupils["a1"].national_number])
    assert callbacks == []  # a small confirm leaves it to autovacuum
    monkeypatch.setattr(left_behind, "ANALYZE_AFTER_ROWS", 1)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        left_behind.left_behind_confirm(user=world["a1"].operator, campaign_id=campaign.pk,
                                        national_numbers=[second.national_number])
    assert callbacks == [left_behind.confirmations_analyze]
    assert reltuples() == LeftBehindConfirmation.objects.count() == 2


def test_the_county_sees_progress_and_who_is_not_confirmed(world):
    campaign = _open(world)
    second = make_pupil(world.school_a1, name="张三", sex="1", birth_date=dt.date(2016, 2, 2))
    left = make_pupil(world.school_a1, name="离校生", sex="1", birth_date=dt.date(2016, 3, 3))
    Pupil.objects.filter(pk=left.pk).update(status=PupilStatus.WITHDRAWN)
    left_behind.left_behind_confirm(user=world["a1"].operator, campaign_id=campaign.pk,
                                    national_numbers=[world.pupils["a1"].national_number])
    progress = {p.school.code: (p.pupils, p.confirmed, p.done)
                for p in left_behind.left_behind_progress(world["county_a"].operator, campaign)}
    assert progress[world.school_a1.code] == (2, 1, False)
    missing = list(left_behind.left_behind_unconfirmed(world["county_a"].operator, campaign))
    assert [p.pk for p in missing] == [second.pk]  # the withdrawn pupil is not asked for


def test_a_school_confirms_only_its_own_pupils_and_sees_only_its_own(world):
    campaign = _open(world)
    other = make_pupil(world.school_a2, name="别校生", sex="1", birth_date=dt.date(2016, 2, 2))
    with pytest.raises(NotFound) as exc:
        left_behind.left_behind_confirm(user=world["a1"].operator, campaign_id=campaign.pk,
                                        national_numbers=[world.pupils["a1"].national_number, other.national_number])
    assert exc.value.code == "pupil_not_found" and other.national_number in str(exc.value.message)
    assert not LeftBehindConfirmation.objects.exists()  # nothing half-written
    seen = list(left_behind.left_behind_unconfirmed(world["a1"].operator, campaign))
    assert {p.school_id for p in seen} == {world.school_a1.pk}
    assert [p.school.code for p in left_behind.left_behind_progress(world["a1"].operator, campaign)] == [
        world.school_a1.code]


def test_another_county_neither_sees_nor_confirms(world):
    campaign = _open(world)
    for user in (world["county_b"].operator, world["b1"].operator):
        with pytest.raises(NotFound):
            left_behind.left_behind_campaign_get(user, campaign.pk)
    with pytest.raises(NotFound):
        left_behind.left_behind_confirm(user=world["b1"].operator, campaign_id=campaign.pk,
                                        national_numbers=[world.pupils["b1"].national_number])
    assert list(left_behind.left_behind_campaigns_for(world["county_b"].operator)) == []
    assert list(left_behind.left_behind_campaigns_for(world["city"].operator)) == [campaign]  # the level above


def test_the_api_opens_reports_and_confirms(world, client, api_token):
    county = api_token(world["county_a"].operator)
    body = {"school_year": 2030, "closes_on": "2030-10-31"}
    response = client.post("/api/v1/changes/left-behind", json.dumps(body), content_type="application/json", **county)
    assert response.status_code == 201, response.content
    campaign_id = response.json()["id"]
    assert {s["school_code"] for s in response.json()["schools"]} == {world.school_a1.code, world.school_a2.code}
    school = api_token(world["a1"].operator)
    missing = client.get(f"/api/v1/changes/left-behind/{campaign_id}/unconfirmed", **school).json()
    assert [p["national_number"] for p in missing] == [world.pupils["a1"].national_number]
    response = client.post(f"/api/v1/changes/left-behind/{campaign_id}/confirm",
                           json.dumps({"pupils": [world.pupils["a1"].national_number]}),
                           content_type="application/json", **school)
    assert response.status_code == 200, response.content
    [mine] = response.json()["schools"]
    assert (mine["confirmed"], mine["done"]) == (1, True)
    again = client.post("/api/v1/changes/left-behind", json.dumps(body), content_type="application/json", **county)
    assert again.status_code == 409 and again.json()["code"] == "campaign_exists"
    assert client.get(f"/api/v1/changes/left-behind/{campaign_id}", **api_token(world["b1"].operator)).status_code == 404


def test_the_pages_open_and_confirm(world, login):
    county = login(world["county_a"].operator)
    response = county.post("/changes/left-behind/", {"school_year": "2030", "closes_on": "2030-10-31"})
    campaign = LeftBehindCampaign.objects.get()
    assert response.status_code == 302
    page = county.get(f"/changes/left-behind/{campaign.pk}/").content.decode()
    assert world.pupils["a1"].national_number in page and world.school_a2.name in page
    school = login(world["a1"].operator)
    page = school.get(f"/changes/left-behind/{campaign.pk}/").content.decode()
    assert 'data-testid="confirm"' in page and "信息维护" in page
    response = school.post(f"/changes/left-behind/{campaign.pk}/confirm/",
                           {"pupil": [world.pupils["a1"].national_number]})
    assert response.status_code == 302
    assert LeftBehindConfirmation.objects.filter(campaign=campaign).count() == 1
