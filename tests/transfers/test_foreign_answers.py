"""What a unit outside a pupil's scope learns: no more than the transfer lookup gives, each
answer recorded as a lookup and counted against the user's hourly allowance; a transfer only
from a lookup's reference; drafts expire and do not block the pupil's own school."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.core import signing

from changes import requests
from enrolment.registration import pupil_register
from kernel.errors import BusinessRefused, ValidationFailed
from provinces.models import ProvincePolicy
from registry import disclosure
from rosters import jobs
from tests.enrolment.test_registration import id_record
from tests.rosters.test_support import roster_row, rows_of, xlsx_bytes
from tests.transfers.chain import OPEN_DAY, apply, ref_for, submit
from transfers import lookup, services
from transfers.models import Transfer, TransferLookup
from transfers.states import State
from workflow.models import OpenBusiness, WorkItem

pytestmark = pytest.mark.usefixtures("open_season")


def _held(world, user):
    holder = world.pupils["a1"]
    return holder, id_record(user.membership.school, id_number=holder.id_number, name=holder.name, sex=holder.sex,
                             birth_date=holder.birth_date)


# --- C: an ID number held elsewhere ------------------------------------------------------

def test_another_provinces_school_learns_only_the_holders_school_and_county(world):
    user = world["x"].operator
    holder, data = _held(world, user)
    with pytest.raises(BusinessRefused) as caught:
        pupil_register(user=user, data=data)
    exc = caught.value
    assert exc.code == "id_number_active_elsewhere"
    assert "天河第一小学" in str(exc.message) and "天河区" in str(exc.message)
    assert holder.national_number not in json.dumps(exc.as_dict(), ensure_ascii=False)
    record = TransferLookup.objects.get(actor=user)
    assert (record.kind, record.origin_school, record.id_number, record.found) == (
        "id_held", world.school_a1, holder.id_number, 1)
    assert record.school == world.school_x and record.pupils == [holder.pk]


def test_through_the_api_too(world, client, api_token):
    from tests.duplicates.helpers import api_body

    user = world["x"].operator
    holder, data = _held(world, user)
    response = client.post("/api/v1/pupils", api_body(data), content_type="application/json", **api_token(user))
    assert response.status_code == 422 and response.json()["code"] == "id_number_active_elsewhere"
    assert holder.national_number not in response.content.decode()
    assert TransferLookup.objects.filter(actor=user, kind="id_held").count() == 1


def test_a_roster_row_of_another_province_names_no_national_number(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    user = world["x"].operator
    holder = world.pupils["a1"]
    row = roster_row(world.school_x, name=holder.name, sex="女", birth=holder.birth_date, id_number=holder.id_number)
    job = jobs.roster_check(job_id=jobs.roster_upload(user=user, content=xlsx_bytes([row]), file_name="r.xlsx").pk)
    checked = rows_of(job)[2]
    assert {p["code"] for p in checked["problems"]} == {"id_number_active_elsewhere"}
    assert holder.national_number not in json.dumps(checked, ensure_ascii=False)
    assert "天河第一小学" in checked["problems"][0]["message"]
    assert TransferLookup.objects.filter(actor=user, kind="id_held", origin_school=world.school_a1).exists()


def test_a_key_change_to_a_held_id_names_no_national_number(world):
    user = world["x"].operator
    holder = world.pupils["a1"]
    with pytest.raises(BusinessRefused) as caught:
        requests.change_request_open(user=user, pupil=world.pupils["x"], kind="key_change",
                                     payload={"id_number": holder.id_number, "birth_date": "2016-05-01"}, reason="更正身份证号", today=OPEN_DAY)
    assert caught.value.code == "id_number_active_elsewhere"
    assert holder.national_number not in json.dumps(caught.value.as_dict(), ensure_ascii=False)
    assert TransferLookup.objects.filter(actor=user, kind="id_held").exists()


def test_a_likely_duplicate_at_another_school_is_the_minimal_card_and_recorded(world):
    from tests.duplicates.helpers import record_like

    existing = world.pupils["a1"]
    user = world["b1"].operator
    with pytest.raises(BusinessRefused) as caught:
        pupil_register(user=user, data=record_like(existing, world.school_b1, name="李纳"))
    [card] = caught.value.details
    assert set(card) <= {"ref", "name", "sex", "birth_date", "grade", "status", "school_code", "school_name",
                         "county", "score", "reasons", "kind", "note", "summary"}
    assert existing.national_number not in json.dumps(card, ensure_ascii=False)
    assert TransferLookup.objects.filter(actor=user, kind="likely", origin_school=world.school_a1).exists()


def test_answers_naming_foreign_pupils_are_throttled_per_user(world):
    ProvincePolicy.objects.filter(province_id="42").update(foreign_lookups_per_hour=2)
    user = world["x"].operator
    holder, data = _held(world, user)
    for _ in range(2):
        with pytest.raises(BusinessRefused) as named:
            pupil_register(user=user, data=data)
        assert "天河第一小学" in str(named.value.message)
    with pytest.raises(BusinessRefused) as withheld:
        pupil_register(user=user, data=data)
    assert withheld.value.code == "id_number_active_elsewhere" and withheld.value.details == {"throttled": True}
    assert "天河第一小学" not in str(withheld.value.message)
    with pytest.raises(disclosure.LookupThrottled) as lookups:
        lookup.transfer_lookup(user=user, origin_school_code=world.school_a1.code, name=holder.name)
    assert (lookups.value.code, lookups.value.status) == ("lookup_throttled", 429)
    with time_machine.travel(dt.timedelta(hours=1, minutes=1)):
        assert lookup.transfer_lookup(user=user, origin_school_code=world.school_a1.code, name=holder.name).found


def test_the_lookup_api_answers_429_when_throttled(world, client, api_token):
    ProvincePolicy.objects.filter(province_id="44").update(foreign_lookups_per_hour=1)
    headers = api_token(world["b1"].operator)
    query = {"origin_school_code": world.school_a1.code, "name": "李娜"}
    assert client.post("/api/v1/transfers/lookup", query, content_type="application/json", **headers).status_code == 200
    response = client.post("/api/v1/transfers/lookup", query, content_type="application/json", **headers)
    assert response.status_code == 429 and response.json()["code"] == "lookup_throttled"


# --- D: a transfer only from a lookup ------------------------------------------------------

def test_a_bare_national_number_is_refused_and_recorded(world, client, api_token):
    user = world["b1"].operator
    pupil = world.pupils["a1"]
    response = client.post("/api/v1/transfers", json.dumps({
        "national_number": pupil.national_number, "origin_school_code": world.school_a1.code,
        "dest_grade": pupil.grade, "dest_class_number": 1, "reason": "随迁"}),
        content_type="application/json", **api_token(user))
    assert response.status_code == 422 and response.json()["code"] == "lookup_required"
    assert pupil.name not in response.content.decode()
    assert not Transfer.objects.exists()
    record = TransferLookup.objects.get(actor=user)
    assert (record.kind, record.found, record.id_number) == ("number", 0, pupil.national_number)


def test_the_reference_is_opaque_the_users_own_and_short_lived(world):
    user = world["b1"].operator
    pupil = world.pupils["a1"]
    ref = ref_for(user, pupil)
    record = TransferLookup.objects.get(actor=user)
    assert signing.loads(ref, salt=lookup.LOOKUP_SALT) == [record.pk, 0]  # a position in the lookup, not the pupil
    assert pupil.national_number not in ref and pupil.name not in ref
    with pytest.raises(ValidationFailed) as other_user:
        apply(world, dest="b2", pupil_ref=ref)
    assert other_user.value.code == "lookup_expired"
    with time_machine.travel(dt.timedelta(minutes=31)):
        with pytest.raises(ValidationFailed) as late:
            apply(world, pupil_ref=ref)
    assert late.value.code == "lookup_expired"
    assert apply(world, pupil_ref=ref).state == State.DRAFT


# --- D: drafts ------------------------------------------------------------------------------

def test_a_draft_does_not_block_the_pupils_own_school(world):
    draft = apply(world)
    own = requests.change_request_open(user=world["a1"].operator, pupil=world.pupils["a1"], kind="suspend",
                                       payload={"start": "2026-03-16", "until": "2026-07-01"}, reason="病休",
                                       today=OPEN_DAY)
    assert OpenBusiness.objects.get(pupil=world.pupils["a1"]).kind == "status_change"
    with pytest.raises(BusinessRefused) as refused:
        submit(world, draft)
    assert refused.value.code == "open_business"
    assert own.pk


def test_a_draft_expires_after_ten_working_days(world):
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False):  # a Monday
        draft = apply(world)
    assert services.draft_expires_on(draft) == dt.date(2026, 3, 16)
    with time_machine.travel(dt.datetime(2026, 3, 16, 9, 0, tzinfo=dt.UTC), tick=False):
        assert services.transfer_drafts_expire() == 0
    with time_machine.travel(dt.datetime(2026, 3, 17, 9, 0, tzinfo=dt.UTC), tick=False):
        assert services.transfer_drafts_expire() == 1
        draft.refresh_from_db()
        assert draft.state == State.CANCELLED and draft.closed_at
        assert draft.log.last().action == "expire" and draft.log.last().actor is None
        assert not WorkItem.objects.filter(object_id=draft.pk, state="open").exists()
        # where a draft blocks, an expired one is closed first: another school may now apply
        assert apply(world, dest="b2").state == State.DRAFT


def test_graduate_lookups_count_against_the_same_allowance(world):
    from enrolment import receiving

    ProvincePolicy.objects.filter(province_id="44").update(foreign_lookups_per_hour=2)
    user = world["a2"].operator
    pupil = world.pupils["b1"]
    lookup.transfer_lookup(user=user, origin_school_code=world.school_b1.code, name=pupil.name)
    receiving.graduate_find(user=user, number=pupil.id_number, name=pupil.name)
    with pytest.raises(disclosure.LookupThrottled):
        receiving.graduate_find(user=user, number=pupil.id_number, name=pupil.name)
    with pytest.raises(disclosure.LookupThrottled):
        lookup.transfer_lookup(user=user, origin_school_code=world.school_b1.code, name=pupil.name)


# --- a refusal inside a transaction that rolls back stays recorded -------------------------

def test_a_refusal_raised_inside_a_rolled_back_transaction_stays_recorded(world):
    from django.db import transaction

    from enrolment.checks import id_held_elsewhere_error

    user, holder = world["x"].operator, world.pupils["a1"]
    with disclosure.records_survive():
        with pytest.raises(BusinessRefused), transaction.atomic():
            raise id_held_elsewhere_error(holder, user=user, name=holder.name)
        assert not TransferLookup.objects.exists()  # the rollback took it ...
    [record] = TransferLookup.objects.all()  # ... and it is written again
    assert (record.actor, record.kind, record.origin_school, record.pupils) == (
        user, "id_held", world.school_a1, [holder.pk])


def test_a_concurrent_registration_refused_in_its_transaction_is_recorded(world, client, api_token, monkeypatch):
    from django.db import IntegrityError

    from enrolment import registration
    from enrolment.checks import RegistryCheck
    from tests.duplicates.helpers import api_body

    user = world["x"].operator
    holder, data = _held(world, user)
    # Another registration of the same ID won the race between the check and the insert.
    monkeypatch.setattr(registration, "check_against_registry", lambda records, schools: [RegistryCheck()])

    def lost_race(**kwargs):
        raise IntegrityError('duplicate key value violates unique constraint "one_active_pupil_per_id_number"')

    monkeypatch.setattr(registration, "_create_pupil", lost_race)
    response = client.post("/api/v1/pupils", api_body(data), content_type="application/json", **api_token(user))
    assert response.status_code == 422 and response.json()["code"] == "id_number_active_elsewhere"
    assert TransferLookup.objects.filter(actor=user, kind="id_held", pupils=[holder.pk]).count() == 1
