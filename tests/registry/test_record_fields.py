"""The standard's further fields (``registry.fields``): entered by the API, the form and the
roster with the same rules, stored, shown by their names, exported and re-imported unchanged,
and changed through 信息维护; the 学籍状态 and 学籍异动类别 code tables."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import io
import json
from decimal import Decimal

import openpyxl
import pytest
from django.apps import apps as global_apps
from django.conf import settings

from changes import requests
from changes.models import ChangeRequest
from enrolment import registration
from kernel.errors import ValidationFailed
from registry import codes
from registry.fields import PUPIL_FIELDS
from registry.models import CodeItem, Pupil, PupilStatus
from registry.validation import pupil_problems
from rosters import exporting, jobs
from rosters.models import RosterImport
from tests.changes.conftest import open_request
from tests.enrolment.test_registration import id_record, post
from tests.rosters.test_support import fast_passwords, roster_media, roster_row, rows_of, xlsx_bytes  # noqa: F401

migration = importlib.import_module("registry.migrations.0011_record_fields")

FURTHER = {
    "birthplace": "440106", "native_place": "4401", "political_status": "群众", "id_valid_until": "2030-01-01",
    "specialty": "书法", "class_seat": "07", "enrolment_mode": "就近入学", "current_address": "天河路1号",
    "postal_address": "天河路1号", "home_address": "天河路1号", "phone": "020-12345678", "postcode": "510000",
    "only_child": "是", "preschool": "1", "orphan": "否", "martyr_child": "0", "needs_aid": "否",
    "one_subsidy": "否", "disability": "无残疾", "commute_distance": "2.5", "commute_mode": "步行",
    "school_bus": "否",
}


def _codes_of(data) -> dict[str, str]:
    return {p.field: p.code for p in pupil_problems(data)}


def test_every_further_field_is_a_model_field_with_its_label():
    for spec in PUPIL_FIELDS:
        assert str(Pupil._meta.get_field(spec.name).verbose_name) == str(spec.verbose_name)


def test_codes_are_given_as_codes_or_names_and_stored_as_codes(world):
    data = id_record(world.school_a1, **FURTHER)
    assert _codes_of(data) == {}
    assert (data.only_child, data.preschool, data.political_status, data.commute_mode) == ("1", "1", "13", "0")
    assert data.enrolment_mode == "11" and data.disability == "0" and data.commute_distance == Decimal("2.5")


def test_empty_codes_take_their_defaults(world):
    data = id_record(world.school_a1, only_child="", disability="", political_status="", commute_mode="")
    assert _codes_of(data) == {}
    assert (data.only_child, data.disability, data.political_status, data.commute_mode) == ("0", "0", "13", "")


@pytest.mark.parametrize(("field", "value", "code"), [
    ("specialty", "书" * 101, "too_long"),
    ("home_address", "路" * 201, "too_long"),
    ("postcode", "51000", "invalid_postcode"),
    ("phone", "call me", "invalid_phone"),
    ("birthplace", "449999", "unknown_division"),
    ("commute_distance", "far", "invalid_distance"),
    ("commute_distance", "1000", "invalid_distance"),
    ("only_child", "也许", "unknown_code"),
    ("commute_mode", "飞行", "unknown_code"),
])
def test_a_bad_further_field_is_refused_naming_it(world, field, value, code):
    problems = _codes_of(id_record(world.school_a1, **{field: value}))
    assert problems == {field: code}


def test_the_too_long_message_names_the_field_and_its_limit(world):
    [problem] = pupil_problems(id_record(world.school_a1, specialty="书" * 101))
    assert str(problem.message) == "特长不能超过100个字符"


def test_a_family_members_further_fields_are_checked_and_named(world):
    data = id_record(world.school_a1)
    data.guardians[0].employer = "厂" * 101
    data.guardians[0].ethnicity = "汉族"
    [problem] = pupil_problems(data)
    assert problem.code == "too_long" and problem.field == "guardians[1].employer"
    assert "家庭成员1（黄大强）的工作单位" in str(problem.message)
    assert data.guardians[0].ethnicity == "01"


def test_the_api_registers_them_and_the_detail_returns_them(world, client, api_token):
    data = id_record(world.school_a1, **FURTHER)
    data.guardians[0].employer = "广州某厂"
    headers = api_token(world["a1"].operator)
    response = post(client, headers, data)
    assert response.status_code == 201, response.content
    assert response.json()["status_code"] == "99"  # 待审核: the national table has no such state
    pupil = Pupil.objects.get(national_number=response.json()["national_number"])
    assert (pupil.only_child, pupil.commute_distance, pupil.birthplace) == ("1", Decimal("2.5"), "440106")
    detail = client.get(f"/api/v1/pupils/{pupil.national_number}", **headers).json()
    assert detail["commute_distance"] == 2.5 and detail["enrolment_mode"] == "11" and detail["postcode"] == "510000"
    assert detail["guardians"][0]["employer"] == "广州某厂"


def test_the_api_refuses_a_bad_one_with_422(world, client, api_token):
    response = post(client, api_token(world["a1"].operator), id_record(world.school_a1, postcode="abc"))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_postcode"


def test_the_pupil_page_shows_names_not_codes(world, client):
    pupil = world.pupils["a1"]
    Pupil.objects.filter(pk=pupil.pk).update(commute_mode="2", only_child="1", birthplace="440106",
                                             commute_distance=Decimal("3.0"))
    client.force_login(world["a1"].operator)
    html = client.get(f"/pupils/{pupil.national_number}/").content.decode()
    assert "公共交通（含城市公交、农村客运、地铁）" in html
    assert "广东省广州市天河区" in html and "3.0 km" in html
    assert 'data-testid="status-code">01<' in html


def test_the_registration_form_carries_them(world, client):
    client.force_login(world["a1"].operator)
    html = client.get("/pupils/new/").content.decode()
    assert 'name="commute_mode"' in html and 'name="g1_employer"' in html and "是否独生子女" in html


# --- 信息维护 ---------------------------------------------------------------------------------

TODAY = dt.date(2026, 11, 23)


def test_record_update_changes_a_further_field_with_old_and_new_in_words(world):
    request = open_request(world, "record_update", {"commute_mode": "校车", "commute_distance": "12.5",
                                                    "school_bus": "是"}, today=TODAY)
    assert request.payload == {"commute_mode": "4", "commute_distance": "12.5", "school_bus": "1"}
    requests.change_request_approve(user=world["a1"].approver, request_id=request.pk)
    pupil = world.pupils["a1"]
    pupil.refresh_from_db()
    assert (pupil.commute_mode, pupil.commute_distance, pupil.school_bus) == ("4", Decimal("12.5"), "1")
    entry = pupil.history.get(kind="change_record_update")
    assert "上下学方式：— → 校车" in entry.summary and "是否需要乘坐校车：否 → 是" in entry.summary


def test_record_update_refuses_a_bad_further_field(world):
    with pytest.raises(ValidationFailed) as exc:
        open_request(world, "record_update", {"postcode": "1"}, today=TODAY)
    assert exc.value.code == "invalid_postcode"
    assert not ChangeRequest.objects.exists()


# --- roster ---------------------------------------------------------------------------------

@pytest.mark.usefixtures("fast_passwords", "roster_media")
def test_a_roster_carries_them_and_the_export_reimports_unchanged(world):
    user = world["a1"].operator
    row = roster_row(world.school_a1, seq=31, only_child="是", commute_mode="步行", commute_distance="1.5",
                     specialty="围棋", g1_employer="某厂")
    job = jobs.roster_check(job_id=jobs.roster_upload(user=user, content=xlsx_bytes([row]), file_name="r.xlsx").pk)
    assert job.new_rows == 1, rows_of(job)[2]["problems"]
    jobs.roster_confirm(user=user, job_id=job.pk, mode=RosterImport.Mode.GOOD_ROWS)
    jobs.roster_import_rows(job_id=job.pk)
    pupil = Pupil.objects.get(name="赵小明")
    assert (pupil.only_child, pupil.commute_mode, pupil.commute_distance, pupil.specialty) == (
        "1", "0", Decimal("1.5"), "围棋")
    assert pupil.guardians.get(order=1).employer == "某厂"
    content, _name, count = exporting.roster_export(user=user, filters=exporting.RosterFilter(school=world.school_a1.code))
    again = jobs.roster_check(job_id=jobs.roster_upload(user=user, content=content, file_name="x.xlsx").pk)
    assert (again.unchanged_rows, again.new_rows, again.refused_rows) == (count, 0, 0), again.refused


@pytest.mark.usefixtures("fast_passwords", "roster_media")
def test_a_roster_without_the_further_columns_is_still_read(world):
    from rosters.columns import COLUMNS, OPTIONAL_KEYS, REGISTRATION_COLUMNS, REQUIRED_KEYS

    assert "ethnicity" in REQUIRED_KEYS and "g1_ethnicity" not in REQUIRED_KEYS
    kept = [c for c in COLUMNS if c.key not in OPTIONAL_KEYS]
    kept += REGISTRATION_COLUMNS
    row = roster_row(world.school_a1, seq=32)
    workbook = openpyxl.Workbook()
    workbook.active.append([c.header for c in kept])
    workbook.active.append([row.get(c.key, "") for c in kept])
    buffer = io.BytesIO()
    workbook.save(buffer)
    content = buffer.getvalue()
    job = jobs.roster_check(job_id=jobs.roster_upload(user=world["a1"].operator, content=content,
                                                      file_name="r.xlsx").pk)
    assert job.status == RosterImport.Status.CHECKED, job.error
    assert job.new_rows == 1, rows_of(job)[2]["problems"]


# --- 学籍状态 and 学籍异动类别 -------------------------------------------------------------------

@pytest.mark.parametrize(("status", "code", "name"), [
    (PupilStatus.ENROLLED, "01", "在读"), (PupilStatus.SUSPENDED, "02", "休学"), (PupilStatus.WITHDRAWN, "03", "退学"),
    (PupilStatus.GRADUATED, "07", "毕业"), (PupilStatus.DECEASED, "11", "死亡"), (PupilStatus.PENDING, "99", "其他"),
])
def test_each_status_has_its_national_code(world, status, code, name):
    codes.clear_cache()
    assert codes.status_code(status) == code and codes.status_label(status) == name


def test_every_change_kind_has_a_national_code(world):
    codes.clear_cache()
    for kind in ChangeRequest.Kind:
        code = ChangeRequest.national_kind_code(kind)
        assert code in codes.table("change_kind"), kind


def test_the_migration_adds_the_tables_to_a_filled_registry_once(world):
    CodeItem.objects.filter(table__in=("pupil_status", "change_kind", "yes_no")).delete()
    migration.add_items(global_apps, None)
    migration.add_items(global_apps, None)
    assert CodeItem.objects.filter(table="yes_no").count() == 2
    stored = {(i.table, i.code, i.name) for i in CodeItem.objects.filter(table__in=("pupil_status", "change_kind"))}
    assert stored == {item for item in migration.ITEMS if item[0] in ("pupil_status", "change_kind")}


def test_the_fixture_ships_what_the_migration_adds():
    fixture = json.loads((settings.BASE_DIR / "fixtures" / "codes.json").read_text(encoding="utf-8"))
    shipped = {(i["fields"]["table"], i["fields"]["code"], i["fields"]["name"]) for i in fixture}
    assert set(migration.ITEMS) <= shipped


def test_the_service_stores_them_too(world):
    data = dataclasses.replace(id_record(world.school_a1), specialty="篮球", one_subsidy="是")
    pupil = registration.pupil_register(user=world["a1"].operator, data=data)
    pupil.refresh_from_db()
    assert (pupil.specialty, pupil.one_subsidy) == ("篮球", "1")


def test_the_change_request_api_gives_the_national_kind_code(world, client, api_token):
    request = open_request(world, "record_update", {"boarding": "2"}, today=TODAY)
    body = client.get(f"/api/v1/changes/{request.pk}", **api_token(world["a1"].operator)).json()
    assert body["kind"] == "record_update" and body["kind_code"] == "14"


# --- export: 全国学籍号, 学籍状态 and the status filter ------------------------------------------

def _export_lines(user, **filters) -> list[list]:
    content, _name, _count = exporting.roster_export(user=user, filters=exporting.RosterFilter(**filters))
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return [[c.value for c in row] for row in sheet.iter_rows()]


def test_the_export_carries_the_national_number_and_the_status(world):
    header, *lines = _export_lines(world["a1"].operator, school=world.school_a1.code)
    assert header[-2:] == ["全国学籍号", "学籍状态"]
    assert [line[-2:] for line in lines] == [[world.pupils["a1"].national_number, "在读"]]


def test_the_status_filter_includes_closed_records_on_request(world):
    pupil = world.pupils["a1"]
    Pupil.objects.filter(pk=pupil.pk).update(status=PupilStatus.GRADUATED)
    user = world["a1"].operator
    assert len(_export_lines(user, school=world.school_a1.code)) == 1  # the header: 在籍 only by default
    closed = _export_lines(user, school=world.school_a1.code, status="closed")
    assert [line[-1] for line in closed[1:]] == ["毕业"]
    assert len(_export_lines(user, school=world.school_a1.code, status="all")) == 2
    assert len(_export_lines(user, school=world.school_a1.code, status="graduated")) == 2


def test_an_unknown_status_filter_is_refused(world):
    with pytest.raises(ValidationFailed) as exc:
        exporting.roster_export(user=world["a1"].operator,
                                filters=exporting.RosterFilter(school=world.school_a1.code, status="deleted"))
    assert exc.value.code == "invalid_filter"
