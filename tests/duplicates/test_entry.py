"""查重 at entry: an exact active ID is refused, a likely duplicate is refused with
``likely_duplicate`` unless a reason is given (then a case is opened); twins and namesakes
pass."""

from __future__ import annotations

import datetime as dt

import pytest

from duplicates.entry import likely_duplicates
from duplicates.models import DuplicateCase
from registry.models import Pupil
from registry.records import GuardianData
from tests.duplicates.helpers import api_body, open_cases, record_like
from tests.factories import make_pupil, resident_id


def post(client, headers, body):
    return client.post("/api/v1/pupils", body, content_type="application/json", **headers)


def test_likely_duplicate_is_refused_via_the_api(world, client, api_token):
    existing = world.pupils["a1"]  # 李娜, 2016-05-01
    data = record_like(existing, world.school_b1, name="李纳")
    response = post(client, api_token(world["b1"].operator), api_body(data))
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "likely_duplicate"
    assert "national_number" not in body["details"][0]  # another school's pupil: the minimal card
    assert existing.national_number not in response.content.decode()
    assert body["details"][0]["name"] == "李娜" and body["details"][0]["ref"]
    assert any("同音" in r for r in body["details"][0]["reasons"])
    assert "天河第一小学" in body["details"][0]["summary"]
    assert not Pupil.objects.filter(name="李纳").exists()
    assert not DuplicateCase.objects.exists()


def test_a_likely_duplicates_reference_reveals_nothing(world, client, api_token):
    import base64
    import binascii

    from django.core import signing

    from duplicates.cases import likely_pk

    existing = world.pupils["a1"]
    body = post(client, api_token(world["b1"].operator), api_body(record_like(existing, world.school_b1, name="李纳"))).json()
    ref = body["details"][0]["ref"]
    assert likely_pk({"ref": ref}) == existing.pk  # the server reads it back
    readable = ref
    for part in (ref, *ref.split(":")):
        try:
            readable += base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode("latin-1")
        except (binascii.Error, ValueError):
            pass
    for secret in (str(existing.pk), existing.national_number, existing.name, existing.id_number):
        assert secret not in readable
    with pytest.raises(signing.BadSignature):
        signing.loads(ref, salt="duplicates.likely")  # not merely signed
    tampered = ref[:-2] + ("AA" if not ref.endswith("AA") else "BB")
    assert likely_pk({"ref": tampered}) is None and likely_pk({"ref": signing.dumps(existing.pk)}) is None
    other = post(client, api_token(world["b1"].operator), api_body(record_like(existing, world.school_b1, name="李纳")))
    assert other.json()["details"][0]["ref"] != ref  # not even the same text twice


def test_likely_duplicate_saved_with_a_reason_opens_a_case(world, client, api_token):
    existing = world.pupils["a1"]
    data = record_like(existing, world.school_b1, name="李纳")
    response = post(client, api_token(world["b1"].operator), api_body(data, duplicate_reason="双胞胎之一，户口簿已核"))
    assert response.status_code == 201, response.content
    new = Pupil.objects.get(name="李纳")
    case = open_cases().get()
    assert set(case.members.all()) == {existing, new}
    assert case.source == DuplicateCase.Source.ENTRY
    assert case.entry_reason == "双胞胎之一，户口簿已核"
    assert set(case.memberships.values_list("county_code", flat=True)) == {"440106", "440105"}


def test_exact_active_id_is_refused_as_already_existing(world, client, api_token):
    existing = world.pupils["a1"]
    data = record_like(existing, world.school_b1, id_number=existing.id_number)
    response = post(client, api_token(world["b1"].operator), api_body(data, duplicate_reason="whatever"))
    assert response.status_code == 422
    assert response.json()["code"] == "id_number_active_elsewhere"


def test_twins_are_not_flagged(world):
    elder = world.pupils["a1"]  # 李娜
    data = record_like(elder, world.school_a1, name="李强", sex="1",
                       id_number=resident_id(elder.birth_date, "1", region="440106", seq=301))
    assert likely_duplicates(data) == []


def test_namesakes_born_the_same_day_are_not_flagged(world):
    other = world.pupils["a1"]
    data = record_like(other, world.school_b1, guardians=[
        GuardianData(name="周父", relation="51", id_number=resident_id(dt.date(1980, 7, 7), "1", seq=222),
                     is_first_guardian=True)])
    assert likely_duplicates(data) == []


def test_pupils_of_another_province_are_not_candidates(world):
    x = world.pupils["x"]  # 陈静 in Hubei
    data = record_like(x, world.school_a1, name="陈净")
    assert likely_duplicates(data) == []


def test_no_id_record_with_a_birth_date_typo_is_found(world):
    """A no-ID record of a child born one day off, same father: found by the guardian lookup."""
    a = make_pupil(world.school_a1, name="欧阳娜娜", sex="2", birth_date=dt.date(2013, 4, 4), grade=6,
                   id_number="")
    data = record_like(a, world.school_b1, name="欧阳娜娜", birth_date=dt.date(2013, 4, 5), id_number="", id_type="Z",
                       guardians=[GuardianData(name="欧阳父", relation="51", id_number=a.guardians.get().id_number,
                                               is_first_guardian=True)])
    found = likely_duplicates(data)
    assert [f["national_number"] for f in found] == [a.national_number]


def test_children_born_the_same_day_are_read_only_through_a_key_a_sweep_shares(world):
    """The day alone makes no candidate (a province of a million holds ~150 a day and sex):
    a same-day child is read when the given name reads the same (``e:``) or the names sound
    alike, never for the date only."""
    from duplicates.entry import _CandidatePool
    from duplicates.keys import data_key
    from kernel import matching

    existing = world.pupils["a1"]  # 李娜
    def born_with(name: str, n: int) -> Pupil:
        pupil = make_pupil(world.school_b1, name=name, sex=existing.sex, birth_date=existing.birth_date)
        pupil.guardians.update(id_number=resident_id(dt.date(1980, 2, 2 + n), "1", seq=600 + n))
        return pupil

    strangers = [born_with(name, n) for n, name in enumerate(["赵雪梅", "钱晓燕", "孙丽华", "周玉兰"])]
    same_given = born_with("王娜", 9)
    data = record_like(existing, world.school_b1, name="李纳")
    pool = _CandidatePool("44", [matching.candidate_query_keys(data_key(data, county="440105"))], exclude_pk=None)
    assert existing.pk in pool.keys and same_given.pk in pool.keys
    assert not {s.pk for s in strangers} & set(pool.keys)


def test_a_name_sound_key_meets_the_children_of_its_birth_year_only(world):
    """The sound keys are stored and probed qualified by the birth year (``2014:li-na``): a
    namesake born another year is never read as a candidate, one born the same year is."""
    from duplicates.entry import _CandidatePool, _holding_any
    from duplicates.keys import data_key, year_keys
    from duplicates.models import PupilMatchKey
    from kernel import matching

    existing = world.pupils["a1"]  # 李娜
    year = existing.birth_date.year

    def namesake(born: dt.date, n: int) -> Pupil:
        pupil = make_pupil(world.school_b1, name="李娜", sex=existing.sex, birth_date=born, id_number="")
        pupil.guardians.update(id_number=resident_id(dt.date(1980, 3, 2 + n), "1", seq=700 + n))
        return pupil

    same_year = namesake(dt.date(year, 12, 30), 1)
    other_year = namesake(existing.birth_date.replace(year=year + 1), 2)
    assert f"{year}:li-na" in PupilMatchKey.objects.get(pupil=same_year).sound_keys
    assert f"{year + 1}:li-na" in PupilMatchKey.objects.get(pupil=other_year).sound_keys
    assert "li-na" not in PupilMatchKey.objects.get(pupil=other_year).sound_keys
    held = {pupil for _column, _key, pupil in _holding_any([], year_keys(year, ["li-na"]))}
    assert same_year.pk in held and other_year.pk not in held

    data = record_like(existing, world.school_b1, name="李娜", id_number="", id_type="Z", guardians=[])
    pool = _CandidatePool("44", [matching.candidate_query_keys(data_key(data, county="440105"))], exclude_pk=None)
    assert {existing.pk, same_year.pk} <= set(pool.keys)
    assert other_year.pk not in pool.keys
