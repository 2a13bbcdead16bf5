"""Cities without counties (不设区的地级市): 东莞市, 中山市, 儋州市 and 嘉峪关市 have one
county-level unit of their own name, where schools stand, pupils' 户口所在地 is registered,
and whose county membership acts as the county."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as global_apps
from django.contrib.contenttypes.models import ContentType

from accounts.models import Membership
from enrolment import registration
from enrolment.models import Registration
from enrolment.registration import pupil_register
from kernel.errors import Forbidden, NotFound
from provinces import divisions
from provinces.divisions import division_full_name, join_division_names
from provinces.models import Division
from registry.models import PupilStatus
from schools.models import School
from tests.conftest import _unit
from tests.enrolment.test_registration import id_record
from tests.rosters.test_support import codes_of, fast_passwords, roster_media  # noqa: F401
from workflow import workitems
from workflow.models import WorkItem

COUNTIES = {"441900": "4419", "442000": "4420", "460400": "4604", "620200": "6202"}

migration = importlib.import_module("provinces.migrations.0007_cities_without_counties")


@pytest.mark.parametrize(("code", "city"), COUNTIES.items())
def test_the_fixture_has_a_county_level_unit_below_each(world, code, city):
    county = Division.objects.get(code=code)
    assert county.level == Division.Level.COUNTY and county.parent_id == city
    assert county.name == Division.objects.get(code=city).name


@pytest.mark.parametrize(("code", "full"), [
    ("441900", "广东省东莞市"), ("442000", "广东省中山市"), ("460400", "海南省儋州市"), ("620200", "甘肃省嘉峪关市"),
    ("440106", "广东省广州市天河区"), ("4419", "广东省东莞市"),
])
def test_a_full_name_says_the_city_once(world, code, full):
    assert division_full_name(code) == full
    divisions.clear_cache()
    assert Division.objects.get(code=code).full_name() == full


def test_the_uncached_full_name_follows_the_same_rule(world):
    county = Division.objects.get(code="441900")
    county.code = "449999"  # not in the cached table: the model walks its parents itself
    assert county.full_name() == "广东省东莞市"
    assert join_division_names(["广东省", "东莞市", "东莞市"]) == "广东省东莞市"
    assert join_division_names(["北京市", "市辖区", "东城区"]) == "北京市市辖区东城区"


def test_the_migration_adds_missing_units_once_and_keeps_edited_ones(world):
    Division.objects.filter(code__in=["441900", "442000"]).delete()
    Division.objects.filter(code="460400").update(name="儋州市（已编辑）")
    migration.add_counties(global_apps, None)
    migration.add_counties(global_apps, None)
    assert Division.objects.get(code="441900").parent_id == "4419"
    assert Division.objects.get(code="442000").level == "county"
    assert Division.objects.get(code="460400").name == "儋州市（已编辑）"
    assert Division.objects.filter(code__in=COUNTIES).count() == 4


def test_the_migration_leaves_an_empty_table_to_the_fixture(db):
    Division.objects.filter(code__in=COUNTIES).delete()
    Division.objects.filter(code__in=COUNTIES.values()).delete()
    migration.add_counties(global_apps, None)
    assert not Division.objects.filter(code__in=COUNTIES).exists()


@pytest.fixture
def dongguan(world):
    county = Division.objects.get(code="441900")
    school = School(code="4419000001", name="东莞市第一小学", county=county, stage="primary")
    school.full_clean()
    school.save()
    divisions.clear_cache()
    return school, _unit("4419000001", school=school), _unit("441900", division=county)


def test_a_pupil_registers_in_dongguan_and_the_dongguan_county_approves(world, dongguan):
    school, school_unit, county_unit = dongguan
    data = id_record(school, hukou_division_code="441900")  # grade 2: the county reviews
    pupil = pupil_register(user=school_unit.operator, data=data)
    assert pupil.hukou_division_id == "441900" and pupil.national_number.startswith("L441900")
    row = Registration.objects.get(pupil=pupil)
    assert row.county_review is True
    registration.registration_approve(user=school_unit.approver, registration_id=row.pk)
    [item] = WorkItem.objects.filter(content_type=ContentType.objects.get_for_model(Registration), object_id=row.pk,
                                     state=WorkItem.State.OPEN)
    assert item.division_id == "441900"
    assert item in workitems.workitems_for(county_unit.approver)
    assert item not in workitems.workitems_for(world["county_a"].approver)
    with pytest.raises((Forbidden, NotFound)):
        registration.registration_approve(user=world["county_a"].approver, registration_id=row.pk)
    registration.registration_approve(user=county_unit.approver, registration_id=row.pk)
    pupil.refresh_from_db()
    assert pupil.status == PupilStatus.ENROLLED


def test_the_home_page_lists_the_dongguan_item_for_the_county(world, dongguan, login):
    school, school_unit, county_unit = dongguan
    pupil = pupil_register(user=school_unit.operator, data=id_record(school, hukou_division_code="441900"))
    registration.registration_approve(user=school_unit.approver,
                                      registration_id=Registration.objects.get(pupil=pupil).pk)
    assert Membership.objects.get(user=county_unit.approver).division_id == "441900"
    response = login(county_unit.approver).get("/")
    assert response.status_code == 200 and pupil.name in response.content.decode()


@pytest.mark.parametrize("text", ["441900", "广东省东莞市", "东莞市"])
def test_a_roster_names_dongguan_by_code_or_name(world, text):
    from rosters.parsing import Divisions

    assert Divisions().resolve(text) == "441900"


@pytest.mark.usefixtures("roster_media", "fast_passwords")
def test_a_roster_row_with_hukou_in_dongguan_is_accepted(world):
    from tests.rosters.test_check import _one

    row = _one(world, hukou_division="441900")
    assert not codes_of(row), row["problems"]


def test_the_hukou_authority_of_the_city_is_its_county_level_unit(world):
    from registry.nohukou import authority_of

    assert authority_of(Division.objects.get(code="4419")).code == "441900"
    assert authority_of(Division.objects.get(code="441900")).code == "441900"
    assert authority_of(Division.objects.get(code="4401")) is None  # a city with counties
    Division.objects.filter(code="442000").delete()  # a database before the migration
    assert authority_of(Division.objects.get(code="4420")).code == "4420"
