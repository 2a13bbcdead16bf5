"""身份核验 from a population-registry extract, and L→G promotion."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile

from duplicates import identity, promotion
from provinces.models import ProvincePolicy
from registry.models import Pupil
from tests.factories import make_pupil


def extract(*rows) -> SimpleUploadedFile:
    text = "身份证号,姓名,性别,出生日期\n" + "".join(",".join(r) + "\n" for r in rows)
    return SimpleUploadedFile("extract.csv", text.encode("gb18030"))


def test_identity_check_reports_missing_and_mismatched_ids(world):
    ok, wrong_name = world.pupils["a1"], world.pupils["b1"]
    missing = make_pupil(world.school_a2, name="钱多多", grade=7)
    ProvincePolicy.objects.create(province_id="44", identity_min_match_share=0.5)
    run = identity.identity_check_run(
        user=world["province"].admin,
        extract_file=extract((ok.id_number.lower(), "李娜", "2", "2016-05-01"), (wrong_name.id_number, "王玮", "1", "")),
    )
    assert run.status == "done"
    assert (run.passed, run.not_found, run.mismatched) == (1, 1, 1)
    for pupil in (ok, wrong_name, missing):
        pupil.refresh_from_db()
    assert ok.identity_status == "passed"
    assert (wrong_name.identity_status, wrong_name.identity_note) == ("failed", "身份证号与姓名不匹配")
    assert (missing.identity_status, missing.identity_note) == ("failed", "身份证号不存在")
    world.pupils["x"].refresh_from_db()
    assert world.pupils["x"].identity_status == "unchecked"  # another province is not touched


def test_promotion_gives_g_numbers_only_to_checked_pupils_without_cases(world):
    ok = world.pupils["a1"]
    Pupil.objects.filter(pk=ok.pk).update(identity_status="passed")
    unchecked = make_pupil(world.school_b1, name="孙悟", birth_date=dt.date(2014, 1, 1))
    report = promotion.promote_to_g(user=world["province"].admin)
    assert report["promoted"] == [{"before": ok.national_number, "after": "G" + ok.id_number}]
    ok.refresh_from_db()
    assert ok.national_number == "G" + ok.id_number
    assert ok.history.filter(kind="number_changed").exists()
    unchecked.refresh_from_db()
    assert unchecked.national_number.startswith("L")
    refused = promotion.promote_to_g(user=world["province"].admin, pupils=[unchecked.national_number])["refused"]
    assert refused[0]["code"] == "identity_unchecked"


def test_promotion_api_is_for_the_province_admin(world, client, login):
    login(world["county_a"].approver)
    response = client.post("/api/v1/promotions-g", "{}", content_type="application/json")
    assert response.status_code == 403
