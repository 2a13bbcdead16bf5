"""跨省转学 back to a registry that kept the pupil's record as 转出 (he moved away from here
earlier): the origin's release re-activates that record — the same national number, its
fields, family, history and photo as the message carries them, 在读 at the new school, an
entry in its history — and never creates a second record."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from registry.history import record_event
from registry.models import HistoryEntry, Pupil, PupilStatus
from tests.exchange.test_cross_chain import NUMBER, at_origin_county, released
from tests.exchange.test_cross_transfer import post
from tests.factories import make_pupil

LEFT_AT = dt.datetime(2025, 3, 1, 2, 0, tzinfo=dt.UTC)


def kept_as_transferred_out(world, tmp_path, settings) -> Pupil:
    """The record this registry kept when the pupil moved to province 45 (at another school here)."""
    settings.MEDIA_ROOT = str(tmp_path)
    pupil = make_pupil(world.school_a2, name="黄晓梅", sex="2", birth_date=dt.date(2018, 4, 2), grade=1,
                       id_number="450102201804020774", status=PupilStatus.TRANSFERRED_OUT)
    Pupil.objects.filter(pk=pupil.pk).update(national_number=NUMBER, status_until=dt.date(2025, 6, 30))
    pupil.refresh_from_db()
    pupil.photo.name = default_storage.save(f"photos/{NUMBER}-old.jpg", ContentFile(b"\xff\xd8old"))
    pupil.save(update_fields=["photo"])
    HistoryEntry.objects.create(pupil=pupil, kind="registered", summary="新生注册", actor_name="x",
                                at=dt.datetime(2024, 9, 1, 2, 0, tzinfo=dt.UTC))
    left = record_event(pupil, kind="transferred_out", summary="跨省转学转出：转至南宁市民主路小学",
                        school=world.school_a2)
    HistoryEntry.objects.filter(pk=left.pk).update(at=LEFT_AT)
    return pupil


def test_a_pupil_coming_back_reactivates_the_record_kept_here(client, peer_world, world, tmp_path, settings):
    kept = kept_as_transferred_out(world, tmp_path, settings)
    row = at_origin_county(client, peer_world, world)
    body = released(row, history=[
        # the entry the peer copied from here when he left, and the peer's own since then
        {"kind": "registered", "summary": "新生注册", "at": "2024-09-01T02:00:00.000Z", "actor_name": "x"},
        {"kind": "transferred_in", "summary": "跨省转学转入：由海珠第二小学转入", "at": "2025-03-02T02:00:00Z",
         "actor_name": ""},
    ])
    response = post(client, peer_world.envelope("transfer.released", body))
    assert response.status_code == 202, response.content
    assert Pupil.objects.filter(national_number=NUMBER).count() == 1
    pupil = Pupil.objects.get(national_number=NUMBER)
    assert pupil.pk == kept.pk
    assert (pupil.school, pupil.grade, pupil.school_class.number, pupil.status, pupil.status_until) == (
        world.school_a1, 3, 1, PupilStatus.ENROLLED, None)
    assert (pupil.name, pupil.ethnicity, pupil.home_address, pupil.county_code) == (
        "黄小梅", "02", "南宁市兴宁区民主路1号", world.school_a1.county_id)
    assert [g.name for g in pupil.guardians.all()] == ["黄强"]  # the family as the origin holds it
    with pupil.photo.open("rb") as stored:
        assert hashlib.sha256(stored.read()).hexdigest() == hashlib.sha256(b"\xff\xd8jpeg-bytes").hexdigest()
    kinds = list(pupil.history.order_by("at", "id").values_list("kind", flat=True))
    assert kinds == ["registered", "transferred_out", "transferred_in", "transferred_in"]  # none twice
    last = pupil.history.order_by("-at", "-id").first()
    assert "转回" in last.summary and last.data["reactivated"] is True and last.at <= timezone.now()
    row.refresh_from_db()
    assert (row.state, row.pupil_id) == ("completed", kept.pk)


def test_a_record_here_that_is_not_transferred_out_still_refuses_the_release(client, peer_world, world, tmp_path,
                                                                             settings):
    kept = kept_as_transferred_out(world, tmp_path, settings)
    Pupil.objects.filter(pk=kept.pk).update(status=PupilStatus.ENROLLED)
    row = at_origin_county(client, peer_world, world)
    response = post(client, peer_world.envelope("transfer.released", released(row, photo=None)))
    assert (response.status_code, response.json()["code"]) == (409, "national_number_held")
    row.refresh_from_db()
    assert row.state == "origin_county"
    assert Pupil.objects.get(pk=kept.pk).school == world.school_a2


def test_coming_back_without_a_photo_drops_the_old_one_and_keeps_the_id_rule(client, peer_world, world, tmp_path,
                                                                            settings):
    kept = kept_as_transferred_out(world, tmp_path, settings)
    make_pupil(world.school_b1, id_number="450102201804020774")  # his ID now held by an active record here
    row = at_origin_county(client, peer_world, world)
    response = post(client, peer_world.envelope("transfer.released", released(row, photo=None)))
    assert (response.status_code, response.json()["code"]) == (409, "id_number_held")
    assert Pupil.objects.get(pk=kept.pk).status == PupilStatus.TRANSFERRED_OUT  # nothing changed
    Pupil.objects.exclude(pk=kept.pk).filter(id_number="450102201804020774").update(id_number="")
    response = post(client, peer_world.envelope("transfer.released", released(row, photo=None)))
    assert response.status_code == 202, response.content
    pupil = Pupil.objects.get(pk=kept.pk)
    assert (pupil.status, bool(pupil.photo)) == (PupilStatus.ENROLLED, False)


def test_an_open_case_of_the_kept_record_follows_the_pupil_to_the_county_he_comes_back_to(
        client, peer_world, world, tmp_path, settings):
    from duplicates import cases
    from duplicates.models import CaseMember, DuplicateCase

    kept = kept_as_transferred_out(world, tmp_path, settings)
    Pupil.objects.filter(pk=kept.pk).update(school=world.school_b1, county_code=world.school_b1.county_id)
    other = make_pupil(world.school_b1, name="黄小梅", sex="2", birth_date=dt.date(2018, 4, 2), grade=1)
    low, high = sorted((kept.pk, other.pk))
    cases.create_cases("44", [((low, high), 0.9, ["同音字"], "pinyin_slip")], source=DuplicateCase.Source.SWEEP)
    assert CaseMember.objects.get(pupil=kept).county_code == world.school_b1.county_id
    row = at_origin_county(client, peer_world, world)
    assert post(client, peer_world.envelope("transfer.released", released(row, photo=None))).status_code == 202
    assert world.school_a1.county_id != world.school_b1.county_id
    assert CaseMember.objects.get(pupil=kept).county_code == world.school_a1.county_id
    assert CaseMember.objects.get(pupil=other).county_code == world.school_b1.county_id
