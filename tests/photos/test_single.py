"""Single photo upload (单张上传), serving photos by scope, province policy, 自动规范化."""

from __future__ import annotations

import base64
import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from kernel.errors import Forbidden, NotFound
from photos import single
from provinces.models import ProvincePolicy
from registry.models import Pupil
from tests.photos.factory import make_image, make_photo

GOOD = make_photo()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def test_accepted_photo_is_stored_under_a_name_from_the_record(world):
    pupil = world.pupils["a1"]
    result = single.photo_upload(user=world["a1"].operator, pupil=pupil, data=GOOD)
    assert not result.unchanged
    assert re.fullmatch(rf"photos/440106/{pupil.national_number}/[0-9a-f]{{12}}\.jpg", result.name)
    assert default_storage.open(result.name).read() == GOOD
    pupil.refresh_from_db()
    assert pupil.photo.name == result.name
    assert pupil.history.get(kind="photo_changed").data["via"] == "upload"
    assert {r["state"] for r in result.rules} == {"ok"}


def test_refused_photo_is_not_stored_and_says_every_broken_rule(world):
    pupil = world.pupils["a1"]
    with pytest.raises(single.PhotoRefused) as exc:
        single.photo_upload(user=world["a1"].operator, pupil=pupil, data=make_photo(100, 160, mode="L"))
    codes = [p["code"] for p in exc.value.details["problems"]]
    assert set(codes) >= {"photo_too_small", "photo_aspect", "photo_grayscale"}
    assert exc.value.field == "photo" and exc.value.details["normalizable"] is False
    rules = {r["key"]: r["state"] for r in single.rules_report(exc.value.verdict)}
    assert rules["pixels"] == rules["shape"] == rules["colour"] == "refused" and rules["format"] == "ok"
    pupil.refresh_from_db()
    assert not pupil.photo and not default_storage.exists("photos")


def test_same_photo_twice_is_unchanged_without_a_new_version(world):
    pupil = world.pupils["a1"]
    single.photo_upload(user=world["a1"].operator, pupil=pupil, data=GOOD)
    events = Pupil.pgh_event_model.objects.filter(pgh_obj=pupil).count()
    again = single.photo_upload(user=world["a1"].operator, pupil=pupil, data=GOOD)
    assert again.unchanged
    assert Pupil.pgh_event_model.objects.filter(pgh_obj=pupil).count() == events


def test_province_policy_sets_the_photo_rules(world):
    ProvincePolicy.objects.create(province=world.province, photo_max_bytes=10 * 1024, photo_min_width=300,
                                  photo_min_height=369, photo_background_refuses=True)
    policy = single.photo_policy_for(world.school_a1)
    assert (policy.max_bytes, policy.min_width, policy.min_height, policy.background_refuses) == (10240, 300, 369, True)
    with pytest.raises(single.PhotoRefused) as exc:
        single.photo_upload(user=world["a1"].operator, pupil=world.pupils["a1"], data=make_photo(color=(230, 230, 230)))
    codes = {p["code"] for p in exc.value.details["problems"]}
    assert {"photo_too_large", "photo_too_small", "photo_background"} <= codes
    # the neighbour province keeps the national defaults
    assert single.photo_policy_for(world.school_x).max_bytes == 60 * 1024


def test_another_school_cannot_attach_a_photo(world):
    with pytest.raises(NotFound):
        single.photo_upload(user=world["b1"].operator, pupil=world.pupils["a1"], data=GOOD)
    with pytest.raises(Forbidden):
        single.photo_upload(user=world["a1"].approver, pupil=world.pupils["a1"], data=GOOD)


def test_inactive_pupil_gets_no_new_photo(world):
    pupil = world.pupils["a1"]
    Pupil.objects.filter(pk=pupil.pk).update(status="graduated")
    with pytest.raises(Exception) as exc:
        single.photo_upload(user=world["a1"].operator, pupil=pupil, data=GOOD)
    assert exc.value.code == "photo_pupil_inactive"


# ---------------------------------------------------------------- API


def test_api_upload_then_download_in_scope_only(world, api_token, client):
    pupil = world.pupils["a1"]
    url = f"/api/v1/pupils/{pupil.national_number}/photo"
    headers = api_token(world["a1"].operator)
    response = client.post(url, {"file": ContentFile(GOOD, name="whatever.png")}, **headers)
    assert response.status_code == 200, response.content
    assert response.json()["unchanged"] is False and response.json()["width"] == 260
    got = client.get(url, **headers)
    assert got.status_code == 200 and got["Content-Type"] == "image/jpeg"
    assert b"".join(got.streaming_content) == GOOD
    for user in (world["b1"].operator, world["other_province"].admin):
        outsider = client.get(url, **api_token(user))
        assert outsider.status_code == 404 and outsider.json()["code"] == "not_found"
    assert client.get(url, **api_token(world["county_a"].approver)).status_code == 200


def test_api_refusal_has_code_message_field_and_problems(world, api_token, client):
    url = f"/api/v1/pupils/{world.pupils['a1'].national_number}/photo"
    response = client.post(url, {"file": ContentFile(make_image("PNG"), name="a.jpg")}, **api_token(world["a1"].operator))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "photo_not_jpeg" and body["field"] == "photo" and "JPG" in body["message"]
    assert body["details"]["problems"][0]["code"] == "photo_not_jpeg"


def test_api_photo_missing_is_404_with_code(world, api_token, client):
    response = client.get(f"/api/v1/pupils/{world.pupils['a1'].national_number}/photo", **api_token(world["a1"].operator))
    assert response.status_code == 404 and response.json()["code"] == "photo_missing"


def test_upload_over_the_file_cap_is_not_read_whole(world, api_token, client):
    huge = GOOD + bytes(6 * 1024 * 1024)
    url = f"/api/v1/pupils/{world.pupils['a1'].national_number}/photo"
    response = client.post(url, {"file": ContentFile(huge, name="a.jpg")}, **api_token(world["a1"].operator))
    assert response.status_code == 422 and response.json()["code"] == "photo_upload_too_large"


# ---------------------------------------------------------------- pages


def test_pupil_photo_page_shows_verdict_per_rule_and_offers_normalisation(world, login):
    pupil = world.pupils["a1"]
    client = login(world["a1"].operator)
    url = f"/schools/photos/pupils/{pupil.national_number}/upload/"
    heavy = make_photo(700, 862, quality=97)
    page = client.post(url, {"photo": ContentFile(heavy, name="a.jpg")})
    assert page.status_code == 422
    html = page.content.decode()
    assert 'data-rule="bytes" data-state="refused"' in html and 'data-rule="format" data-state="ok"' in html
    assert "自动规范化" in html
    pupil.refresh_from_db()
    assert not pupil.photo  # shown, not stored
    b64 = re.search(r'name="data" value="([^"]+)"', html).group(1)
    done = client.post(f"/schools/photos/pupils/{pupil.national_number}/normalized/", {"data": b64})
    assert done.status_code == 302
    pupil.refresh_from_db()
    assert default_storage.open(pupil.photo.name).read() == base64.b64decode(b64)
    assert pupil.history.get(kind="photo_changed").data["via"] == "normalized"


def test_pupil_photo_page_stores_a_good_photo_and_serves_it_by_scope(world, login):
    pupil = world.pupils["a1"]
    client = login(world["a1"].operator)
    page = client.post(f"/schools/photos/pupils/{pupil.national_number}/upload/", {"photo": ContentFile(GOOD, name="x")})
    assert page.status_code == 200 and 'data-testid="photo-ok"' in page.content.decode()
    image = client.get(f"/schools/photos/pupils/{pupil.national_number}/")
    assert image.status_code == 200 and b"".join(image.streaming_content) == GOOD
    other = login(world["b1"].operator)
    assert other.get(f"/schools/photos/pupils/{pupil.national_number}/").status_code == 404
    assert other.get(f"/schools/photos/pupils/{pupil.national_number}/upload/").status_code == 404


def test_normalized_post_is_checked_like_any_upload(world, login):
    client = login(world["a1"].operator)
    pupil = world.pupils["a1"]
    bad = base64.b64encode(make_photo(mode="L")).decode()
    response = client.post(f"/schools/photos/pupils/{pupil.national_number}/normalized/", {"data": bad})
    assert response.status_code == 422
    pupil.refresh_from_db()
    assert not pupil.photo


def test_photo_panel_include_renders(world, login):
    from django.template.loader import render_to_string

    html = render_to_string("photos/panel.html", {"pupil": world.pupils["a1"],
                                                          "membership": world["a1"].operator.membership})
    assert "上传/更换照片" in html and "尚无照片" in html
