"""Up to four family members (家庭成员) at registration, in the form and the API; a fifth is
refused by the one rule of the limit (``registry.validation.members_problem``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

from registry.models import Pupil
from registry.records import GuardianData
from registry.validation import members_problem, pupil_problems
from tests.duplicates.helpers import api_body
from tests.enrolment.test_registration import form_post, id_record
from tests.factories import resident_id
from tests.registry.test_nohukou import FATHER_ID

GRANDPA_ID = resident_id(dt.date(1950, 4, 4), "1", region="440106", seq=301)


def four(school):
    return dataclasses.replace(id_record(school), guardians=[
        GuardianData(name="黄大强", relation="51", id_number=FATHER_ID, is_first_guardian=True),
        GuardianData(name="李芳", relation="52", vital="missing", police_reference="穗公失字2024第18号",
                     police_date=dt.date(2024, 5, 6)),
        GuardianData(name="黄老伯", relation="61", id_number=GRANDPA_ID, phone="020-81234567",
                     hukou_division_code="440106"),
        GuardianData(name="王阿婆", relation="64", vital="deceased", is_guardian=False),
    ])


def test_the_form_takes_four_members_with_the_rosters_fields(world, login):
    client = login(world["a1"].operator)
    response = client.post("/pupils/new/", form_post(four(world.school_a1)))
    assert response.status_code == 302, response.content.decode()[:2000]
    pupil = Pupil.objects.get(name="黄小梅")
    members = list(pupil.guardians.order_by("order"))
    assert [(g.order, g.name, g.relation, g.vital) for g in members] == [
        (1, "黄大强", "51", "alive"), (2, "李芳", "52", "missing"), (3, "黄老伯", "61", "alive"),
        (4, "王阿婆", "64", "deceased")]
    assert (members[1].police_reference, members[1].police_date) == ("穗公失字2024第18号", dt.date(2024, 5, 6))
    assert (members[2].id_number, members[2].phone, members[2].hukou_division_id) == (
        GRANDPA_ID, "020-81234567", "440106")
    assert members[0].is_first_guardian and not any(g.is_first_guardian for g in members[1:])


def test_members_3_and_4_are_folded_without_a_script(world, login):
    page = login(world["a1"].operator).get("/pupils/new/").content.decode()
    for n in (3, 4):
        block = re.search(rf'<details[^>]*data-testid="member-{n}".*?</details>', page, re.S).group(0)
        assert f'name="g{n}_name"' in block and f'name="g{n}_police_reference"' in block
        assert f'name="g{n}_hukou_division_code"' in block and f'name="g{n}_vital"' in block
    assert 'name="g1_name"' in page.split('data-testid="member-3"')[0]
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", page)  # no inline script (CSP)


def test_a_refused_fourth_member_opens_its_fold(world, login):
    post = form_post(four(world.school_a1), g4_phone="abc")
    response = login(world["a1"].operator).post("/pupils/new/", post)
    page = response.content.decode()
    assert response.status_code == 200 and not Pupil.objects.filter(name="黄小梅").exists()
    assert re.search(r'<details[^>]*data-testid="member-4"[^>]* open', page)


def body(data) -> str:
    """The API body of ``data``, the members' certificate dates kept."""
    values = json.loads(api_body(data))
    for g, member in zip(values["guardians"], data.guardians, strict=True):
        g["police_date"] = member.police_date.isoformat() if member.police_date else None
    return json.dumps(values)


def test_the_api_takes_four_and_refuses_a_fifth(world, client, api_token):
    data = four(world.school_a1)
    fifth = dataclasses.replace(data, guardians=[*data.guardians, GuardianData(name="黄小叔", relation="71")])
    response = client.post("/api/v1/pupils", body(fifth), content_type="application/json",
                           **api_token(world["a1"].operator))
    assert response.status_code == 422 and response.json()["code"] == "too_many_members", response.content
    assert "最多登记4位家庭成员" in response.json()["message"]
    assert not Pupil.objects.filter(name="黄小梅").exists()
    response = client.post("/api/v1/pupils", body(data), content_type="application/json",
                           **api_token(world["a1"].operator))
    assert response.status_code == 201, response.content
    assert Pupil.objects.get(name="黄小梅").guardians.count() == 4


def test_the_one_rule_of_the_limit(world):
    data = four(world.school_a1)
    assert members_problem(data.guardians) is None
    data.guardians.append(GuardianData(name="黄小叔", relation="71"))
    assert members_problem(data.guardians).code == "too_many_members"
    assert "too_many_members" in {p.code for p in pupil_problems(data, school=world.school_a1)}
