"""``load_demo``: valid, unique, scoped demo data; idempotent; reproducible by seed."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.http import HttpRequest
from pghistory.models import Context

from accounts.models import Membership
from accounts.scope import restrict
from devtools import demo
from kernel.identity import check_id_agrees, validate_national_number, validate_resident_id
from provinces.models import Division
from registry.models import Guardian, Pupil, PupilStatus
from registry.records import GuardianData, PupilData
from registry.validation import pupil_problems
from schools.models import School

PUPILS = 300


def _load(**options) -> str:
    out = StringIO()
    call_command("load_demo", pupils=PUPILS, seed=7, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def demo_world(db):
    output = _load()
    # the bulk-loaded pupils (the demo's open registrations are records of their own)
    return {"output": output, "pupils": Pupil.objects.filter(school__in=demo.demo_schools("44"),
                                                             registration__isnull=True)}


def _as_data(pupil: Pupil) -> PupilData:
    return PupilData(
        school_code=pupil.school.code, name=pupil.name, sex=pupil.sex, birth_date=pupil.birth_date,
        grade=pupil.grade, class_number=pupil.school_class.number, enrolled_on=pupil.enrolled_on,
        id_type=pupil.id_type, id_number=pupil.id_number, former_name=pupil.former_name,
        ethnicity=pupil.ethnicity, nationality=pupil.nationality, hmt=pupil.hmt,
        hukou_division_code=pupil.hukou_division_id or "", hukou_nature=pupil.hukou_nature, health=pupil.health,
        boarding=pupil.boarding, left_behind=pupil.left_behind, migrant=pupil.migrant,
        guardians=[
            GuardianData(name=g.name, relation=g.relation, id_type=g.id_type, id_number=g.id_number, phone=g.phone,
                         is_guardian=g.is_guardian, is_first_guardian=g.is_first_guardian, vital=g.vital,
                         hukou_division_code=g.hukou_division_id or "")
            for g in pupil.guardians.all()
        ],
    )


def test_load_demo_creates_the_requested_pupils_in_real_counties(demo_world):
    pupils = demo_world["pupils"]
    assert pupils.count() == PUPILS
    schools = list(demo.demo_schools("44"))
    assert len(schools) == 30
    counties = {s.county_id for s in schools}
    assert len(counties) >= 4
    assert all(Division.objects.get(code=c).level == "county" and c.startswith("44") for c in counties)
    assert 1 <= len({c[:4] for c in counties}) <= 2
    for school in schools:
        assert len(school.code) == 10 and school.code.startswith(school.county_id)
        assert school.name.startswith(("广州市", "深圳市"))
        assert school.classes.filter(grade__in=school.grades).values("grade").distinct().count() == len(school.grades)
    assert School.Stage.NINE_YEAR in {s.stage for s in schools}
    assert all(p.county_code == p.school.county_id for p in pupils.select_related("school"))


def test_every_demo_record_passes_the_registration_rules(demo_world):
    pupils = demo_world["pupils"].select_related("school", "school_class").prefetch_related("guardians")
    for pupil in pupils:
        problems = pupil_problems(_as_data(pupil), school=pupil.school)
        assert problems == [], (pupil, [p.as_dict() for p in problems])
        assert pupil.school_class.school_id == pupil.school_id and pupil.school_class.grade == pupil.grade


def test_ids_are_valid_and_agree_with_birth_date_and_sex(demo_world):
    for pupil in demo_world["pupils"].exclude(id_number=""):
        parsed = validate_resident_id(pupil.id_number)
        check_id_agrees(pupil.id_number, birth_date=pupil.birth_date, sex=pupil.sex)
        assert Division.objects.filter(code=parsed.region_code, level="county").exists()
    for guardian in Guardian.objects.filter(pupil__in=demo_world["pupils"]):
        parsed = validate_resident_id(guardian.id_number)
        assert parsed.sex == ("1" if guardian.relation == "51" else "2")
        years = (guardian.pupil.birth_date - parsed.birth_date).days / 365.25
        assert 23 <= years <= 42, (guardian, years)


def test_national_numbers_are_l_numbers_of_the_school_county_and_unique(demo_world):
    pupils = demo_world["pupils"]
    numbers = list(pupils.values_list("national_number", flat=True))
    assert len(set(numbers)) == len(numbers)
    for pupil in pupils.exclude(id_number=""):
        assert validate_national_number(pupil.national_number).kind == "L"
        assert pupil.national_number[1:7] == pupil.county_code
        assert pupil.national_number[7:15] == f"{pupil.birth_date:%Y%m%d}"
    ids = list(pupils.exclude(id_number="").values_list("id_number", flat=True))
    ids += list(Guardian.objects.filter(pupil__in=pupils).values_list("id_number", flat=True))
    assert len(set(ids)) == len(ids)


def test_pupils_without_id_get_j_numbers_and_both_parents(demo_world):
    no_id = demo_world["pupils"].filter(id_number="")
    assert no_id.count() >= 3
    for pupil in no_id:
        assert pupil.id_type == "Z"
        assert validate_national_number(pupil.national_number).kind == "J"
        assert pupil.national_number[1:15] == f"{pupil.county_code}{pupil.birth_date:%Y%m%d}"
        guardians = list(pupil.guardians.all())
        assert {g.relation for g in guardians} == {"51", "52"}
        assert all(validate_resident_id(g.id_number) for g in guardians)
        first = [g for g in guardians if g.is_first_guardian]
        assert len(first) == 1 and pupil.hukou_division_id == first[0].hukou_division_id


def test_birth_dates_fit_the_grade(demo_world):
    year = demo.school_year_start(dt.date.today())
    for pupil in demo_world["pupils"]:
        sept_first = dt.date(year, 9, 1)
        age = sept_first.year - pupil.birth_date.year - ((9, 1) < (pupil.birth_date.month, pupil.birth_date.day))
        # grade 1 is 6–7 on 1 September; a few pupils started a year late
        assert pupil.grade + 5 <= age <= pupil.grade + 7, (pupil, pupil.grade, age)


def test_mostly_enrolled_with_a_few_suspended(demo_world):
    pupils = demo_world["pupils"]
    suspended = pupils.filter(status=PupilStatus.SUSPENDED)
    assert 2 <= suspended.count() <= PUPILS * 0.05
    graduated = pupils.filter(status=PupilStatus.GRADUATED).count()  # the demo's graduates awaiting 升学
    assert pupils.filter(status=PupilStatus.ENROLLED).count() + suspended.count() + graduated == PUPILS
    assert not suspended.filter(status_until__isnull=True).exists()


def test_every_unit_has_operator_and_approver_logins(demo_world, client):
    User = get_user_model()
    codes = ["44"] + [c for c in {s.county_id for s in demo.demo_schools("44")}]
    codes += list({c[:4] for c in codes[1:]}) + [s.code for s in demo.demo_schools("44")]
    for code in codes:
        for role in ("operator", "approver"):
            user = User.objects.get(username=f"{code}.{role}")
            assert user.membership.role == role and user.membership.unit_code == code
    assert User.objects.get(username="44.admin").membership.role == Membership.Role.ADMIN
    assert client.login(request=HttpRequest(), username="44.admin", password=settings.DEMO_PASSWORD)
    assert settings.DEMO_PASSWORD in demo_world["output"]
    assert "440106.approver" in demo_world["output"] or "440103.approver" in demo_world["output"]


def test_users_see_only_their_scope(demo_world, client):
    User = get_user_model()
    pupils = Pupil.objects.filter(school__in=demo.demo_schools("44"))  # the open registrations too
    school = demo.demo_schools("44").first()
    county = school.county_id
    other_county = demo.demo_schools("44").exclude(county=county).first().county_id

    school_user = User.objects.get(username=f"{school.code}.operator")
    county_user = User.objects.get(username=f"{county}.approver")
    other_user = User.objects.get(username=f"{other_county}.approver")
    province_user = User.objects.get(username="44.operator")

    assert set(restrict(Pupil.objects.all(), school_user)) == set(pupils.filter(school=school))
    assert set(restrict(Pupil.objects.all(), county_user)) == set(pupils.filter(county_code=county))
    assert not restrict(Pupil.objects.all(), other_user).filter(county_code=county).exists()
    assert restrict(Pupil.objects.all(), province_user).count() == pupils.count()

    assert client.login(request=HttpRequest(), username=school_user.username, password=settings.DEMO_PASSWORD)
    response = client.get("/api/v1/pupils", {"page_size": 100})
    assert response.status_code == 200
    items = response.json()["items"]
    assert items and {i["school_code"] for i in items} == {school.code}
    foreign = pupils.exclude(school=school).first()
    assert client.get(f"/api/v1/pupils/{foreign.national_number}").status_code == 404


def test_rerun_without_reset_changes_nothing(demo_world):
    before = (Pupil.objects.count(), Guardian.objects.count(), School.objects.count(),
              get_user_model().objects.count())
    output = _load()
    assert "已存在" in output
    after = (Pupil.objects.count(), Guardian.objects.count(), School.objects.count(),
             get_user_model().objects.count())
    assert after == before


def test_reset_regenerates_the_same_data_for_the_same_seed(demo_world):
    def snapshot():
        return sorted(demo_world["pupils"].values_list("name", "id_number", "national_number", "school__code"))

    first = snapshot()
    users = get_user_model().objects.count()
    _load(reset=True)
    assert snapshot() == first
    assert get_user_model().objects.count() == users


def test_reset_keeps_other_schools_pupils(db):
    county = Division.objects.get(code="440106")
    other = School.objects.create(code="4401060001", name="天河第一小学", county=county, stage="primary")
    from tests.factories import make_pupil

    kept = make_pupil(other, name="李娜")
    _load()
    _load(reset=True)
    assert Pupil.objects.filter(pk=kept.pk).exists()
    assert Pupil.objects.filter(registration__isnull=True).count() == PUPILS + 1


def test_bulk_load_records_one_summary_audit_entry(demo_world):
    contexts = Context.objects.filter(metadata__command="load_demo")
    assert contexts.count() == 1
    bulk = contexts.get().metadata["bulk_insert"]
    assert bulk["registry.Pupil"] == PUPILS
    assert bulk["registry.Guardian"] == Guardian.objects.filter(pupil__in=demo_world["pupils"]).count()
    # per-row insert events are skipped for the bulk load (docs/demo-data.md)
    assert not Pupil.pgh_event_model.objects.filter(pgh_obj__in=demo_world["pupils"], pgh_label="insert").exists()
    # the demo's graduations afterwards are audited per row, as any later change
    graduated = Pupil.pgh_event_model.objects.filter(pgh_obj__in=demo_world["pupils"]).exclude(pgh_label="insert")
    assert graduated.exists() and all(e.pgh_context.metadata["command"] == "load_demo_queues" for e in graduated)


def test_reset_of_one_province_keeps_the_other_provinces_demo(db):
    _load()
    call_command("load_demo", pupils=50, seed=3, province="42", stdout=StringIO())
    users_44 = demo.demo_users("44").count()
    call_command("load_demo", pupils=50, seed=3, province="42", reset=True, stdout=StringIO())
    assert demo.demo_users("44").count() == users_44 > 0
    bulk = Pupil.objects.filter(registration__isnull=True)  # without the open registrations
    assert bulk.filter(county_code__startswith="44").count() == PUPILS
    assert bulk.filter(county_code__startswith="42").count() == 50


def test_each_queue_has_open_business(demo_world):
    from enrolment.models import Progression, Registration

    pending = Registration.objects.filter(school__in=demo.demo_schools("44")).select_related("pupil")
    assert {(r.state, r.pupil.status) for r in pending} == {("school_review", "pending"), ("county_review", "pending")}
    county_step = [r.pupil for r in pending if r.state == "county_review"]
    assert any(p.id_type == "Z" and p.national_number.startswith("J") for p in county_step)  # 无户籍
    assert pending.filter(state="school_review").count() >= 2
    graduates = Pupil.objects.filter(school__in=demo.demo_schools("44"), status=PupilStatus.GRADUATED)
    assert graduates.count() >= 2
    received = Progression.objects.get(school__in=demo.demo_schools("44"))
    assert received.state == "school_review" and received.entries.get().pupil in graduates
    assert "演示待办" in demo_world["output"]
