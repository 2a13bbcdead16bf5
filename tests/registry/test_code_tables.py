"""The national code tables beyond the first fixture: ID types 2–5 and B, 入学方式, 残疾人类型,
政治面貌 — in the fixture and, through a data migration, in existing databases; the new ID
types' numbers have a plausible form (no check digit)."""

from __future__ import annotations

import dataclasses
import importlib

import pytest
from django.apps import apps as global_apps

from kernel.errors import ValidationFailed
from registry import codes
from registry.models import CodeItem
from registry.records import GuardianData
from registry.validation import guardian_problems, pupil_problems
from tests.enrolment.test_registration import FATHER_ID, id_record

migration = importlib.import_module("registry.migrations.0010_more_code_tables")
national = importlib.import_module("registry.migrations.0012_national_enrolment_codes")


@pytest.mark.parametrize(("table", "code", "name"), [
    ("id_type", "2", "军官证"), ("id_type", "3", "士兵证"), ("id_type", "4", "文职干部证"),
    ("id_type", "5", "部队离退休证"), ("id_type", "B", "户口簿"),
    ("enrolment_mode", "11", "就近入学"), ("enrolment_mode", "12", "其他（义务教育）"),
    ("enrolment_mode", "21", "统一招生考试/普通入学"), ("enrolment_mode", "22", "体育特招"),
    ("enrolment_mode", "23", "艺术特招"), ("enrolment_mode", "99", "其他（高中）"), ("hmt", "51", "外国人"),
    ("disability", "1", "视力残疾"), ("disability", "7", "多重残疾"), ("disability", "9", "其他残疾"),
    ("political_status", "01", "中共党员"), ("political_status", "03", "共青团员"), ("political_status", "13", "群众"),
])
def test_the_fixture_codes_them_as_the_standard(world, table, code, name):
    codes.clear_cache()
    assert codes.table(table)[code] == name
    assert codes.resolve(table, name) == code


def test_the_tables_have_labels_for_refusals(world):
    with pytest.raises(ValidationFailed) as exc:
        codes.resolve("political_status", "班长")
    assert exc.value.code == "unknown_code" and "政治面貌" in str(exc.value.message)


def test_the_migration_adds_missing_items_once_and_keeps_edited_ones(world):
    CodeItem.objects.filter(table="disability").delete()
    CodeItem.objects.filter(table="id_type", code="B").update(name="居民户口簿")
    migration.add_items(global_apps, None)
    migration.add_items(global_apps, None)
    assert CodeItem.objects.filter(table="disability").count() == 8
    assert CodeItem.objects.get(table="id_type", code="B").name == "居民户口簿"
    assert CodeItem.objects.filter(table="political_status").count() == 13


def test_everyday_names_of_the_enrolment_modes_read_as_the_national_codes(world):
    codes.clear_cache()
    assert codes.resolve("enrolment_mode", "相对就近入学") == "11"
    assert codes.resolve("enrolment_mode", "统招") == "21"
    with pytest.raises(ValidationFailed):
        codes.resolve("enrolment_mode", "民办学校招生")


def test_the_first_waves_enrolment_modes_move_to_the_national_codes(world):
    from tests.factories import make_pupil

    CodeItem.objects.filter(table="enrolment_mode").delete()
    CodeItem.objects.bulk_create([CodeItem(table="enrolment_mode", code=c, name=n) for c, n in national.OLD_ITEMS.items()]
                                 + [CodeItem(table="enrolment_mode", code="5", name="本省自定")])
    CodeItem.objects.filter(table="hmt", code="51").update(code="42")
    school = world.school_b2  # make_pupil does not check the stage, so grades 10 and 11 stand for senior
    pupils = {old: make_pupil(school, grade=grade, enrolment_mode=old, hmt="42" if old == "1" else "00")
              for old, grade in (("1", 3), ("2", 7), ("3", 10), ("4", 5), ("9", 11))}
    national.to_national(global_apps, None)
    national.to_national(global_apps, None)
    moved = {old: type(p).objects.get(pk=p.pk).enrolment_mode for old, p in pupils.items()}
    assert moved == {"1": "11", "2": "11", "3": "21", "4": "12", "9": "99"}
    assert type(pupils["1"]).objects.get(pk=pupils["1"].pk).hmt == "51"
    table = dict(CodeItem.objects.filter(table="enrolment_mode").values_list("code", "name"))
    assert set(table) == {"5", *dict(national.NEW_ITEMS)}  # a province's own item is kept
    assert CodeItem.objects.get(table="hmt", code="51").name == "外国人"


def test_the_migration_leaves_an_empty_table_to_the_fixture(db):
    CodeItem.objects.all().delete()
    migration.add_items(global_apps, None)
    assert not CodeItem.objects.exists()


def _pupil_codes(data) -> dict[str, str]:
    return {p.code: p.field for p in pupil_problems(data)}


@pytest.mark.parametrize(("id_type", "number"), [
    ("2", "南字第2018001号"), ("3", "北字0012345"), ("4", "WZ20190001"), ("5", "离字第12号"), ("B", "440106123"),
    ("B", "ab1234567"),
])
def test_a_plausible_number_of_a_new_id_type_passes(world, id_type, number):
    data = id_record(world.school_a1, id_type=id_type, id_number=number)
    assert "invalid_id_number" not in _pupil_codes(data)
    assert "id_number_required" not in _pupil_codes(data)


@pytest.mark.parametrize(("id_type", "number"), [
    ("2", "南字第号"),  # no digit
    ("3", "12"),  # too short
    ("4", "WZ-2019-0001"),  # punctuation
    ("5", "1" * 21),  # too long
    ("B", "12345"),  # too short
    ("B", "户1234567"),  # a Chinese character
])
def test_an_implausible_number_of_a_new_id_type_is_refused(world, id_type, number):
    data = id_record(world.school_a1, id_type=id_type, id_number=number)
    assert _pupil_codes(data).get("invalid_id_number") == "id_number"


@pytest.mark.parametrize("id_type", ["2", "B"])
def test_a_new_id_type_without_a_number_is_refused_for_a_pupil(world, id_type):
    data = id_record(world.school_a1, id_type=id_type, id_number="")
    assert _pupil_codes(data).get("id_number_required") == "id_number"


def test_other_documents_keep_their_old_rule(world):
    data = id_record(world.school_a1, id_type="A", id_number="E1")
    assert not {"invalid_id_number", "id_number_required"} & set(_pupil_codes(data))


def test_a_family_members_number_has_the_same_rule_and_names_the_member(world):
    bad = GuardianData(name="黄大强", relation="51", id_type="2", id_number="南字第号", is_first_guardian=True)
    [problem] = [p for p in guardian_problems(bad, index=1) if p.code == "invalid_id_number"]
    assert problem.field == "guardians[1].id_number" and "家庭成员1（黄大强）" in str(problem.message)
    good = dataclasses.replace(bad, id_number="南字第2018001号")
    assert not [p for p in guardian_problems(good, index=1) if p.code == "invalid_id_number"]
    resident = GuardianData(name="黄大强", relation="51", id_number=FATHER_ID, is_first_guardian=True)
    assert not guardian_problems(resident, index=1)
