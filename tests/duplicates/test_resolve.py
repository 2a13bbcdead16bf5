"""Case resolution by the county (佐证 / 变更 / 删除) and its effects: problem records refuse
transfers (``problem_record``) and L→G promotion; county scoping of cases."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from changes import resolution
from changes.requests import change_request_approve
from changes.requests import change_request_refuse as refuse
from duplicates import cases, deletion, promotion, sweeps
from duplicates.models import CleanPair
from duplicates.problems import pupil_problem_reasons
from kernel.errors import Forbidden, NotFound, ValidationFailed
from registry.models import Pupil, PupilStatus
from tests.duplicates.helpers import open_cases, pinyin_pair
from tests.transfers.chain import ref_for

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def case(world):
    a, b = pinyin_pair(world)  # a in county 440106 (school a1), b in 440105 (school b1)
    sweep = sweeps.sweep_start(user=world["province"].admin, province_code="44", partitions=1, dispatch=False)
    sweeps.sweep_run_partition(sweep_id=sweep.pk, index=0)
    found = open_cases().get()
    found.a, found.b = a, b
    return found


def test_member_of_an_open_case_is_a_problem_record_and_transfer_refused(world, case, client, api_token):
    assert any("疑似重复" in r for r in pupil_problem_reasons(case.a))
    response = client.post(
        "/api/v1/transfers",
        json.dumps({"pupil_ref": ref_for(world["b2"].operator, case.a), "origin_school_code": world.school_a1.code,
                    "dest_grade": case.a.grade, "dest_class_number": 1, "reason": "搬家"}),
        content_type="application/json", **api_token(world["b2"].operator))
    assert response.status_code in (400, 422), response.content
    assert response.json()["code"] == "problem_record"


def test_promotion_to_g_refused_for_a_problem_record(world, case):
    Pupil.objects.filter(pk=case.a.pk).update(identity_status=Pupil.IdentityStatus.PASSED)
    report = promotion.promote_to_g(user=world["province"].admin, pupils=[case.a.national_number])
    assert report["promoted"] == []
    assert report["refused"][0]["code"] == "problem_record"


def test_evidence_resolves_the_case_and_the_pair_is_never_flagged_again(world, case):
    upload = SimpleUploadedFile("proof.txt", PDF)  # the name lies; the bytes are a PDF
    cases.case_resolve_evidence(user=world["county_a"].operator, case_id=case.pk, upload=upload, note="双胞胎")
    case.refresh_from_db()
    assert case.status == "resolved" and case.resolution == "evidence" and case.evidence.name.endswith(".pdf")
    assert CleanPair.objects.filter(pupil_low=case.pupil_low, pupil_high=case.pupil_high).exists()
    assert pupil_problem_reasons(case.a) == []
    sweep = sweeps.sweep_start(user=world["province"].admin, province_code="44", partitions=1, dispatch=False)
    sweeps.sweep_run_partition(sweep_id=sweep.pk, index=0)
    assert not open_cases().exists()


def test_evidence_must_be_a_jpg_png_or_pdf_by_its_bytes(world, case):
    with pytest.raises(ValidationFailed) as caught:
        cases.case_resolve_evidence(user=world["county_a"].operator, case_id=case.pk,
                                       upload=SimpleUploadedFile("proof.pdf", b"MZ not a pdf"))
    assert caught.value.code == "proof_type"
    assert open_cases().filter(pk=case.pk).exists()


def test_delete_soft_deletes_the_wrong_record_and_keeps_its_history(world, case):
    proposal = deletion.deletion_propose(user=world["county_b"].operator, case_id=case.pk,
                                         pupil=case.b.national_number, note="重复建籍")
    deletion.deletion_approve(user=world["county_b"].approver, request_id=proposal.pk)
    case.b.refresh_from_db()
    assert case.b.status == PupilStatus.DELETED
    assert case.b.history.filter(kind="deleted").exists()
    case.refresh_from_db()
    assert case.status == "resolved" and case.resolution == "delete"
    assert pupil_problem_reasons(case.a) == []


def test_a_county_may_not_delete_the_other_countys_record(world, case):
    with pytest.raises(Forbidden) as caught:
        deletion.deletion_propose(user=world["county_a"].operator, case_id=case.pk,
                                     pupil=case.b.national_number, note="重复")
    assert caught.value.code == "member_out_of_county"


def test_change_keeps_the_case_open_until_approved_then_rechecks(world, case, django_capture_on_commit_callbacks):
    resolution.case_key_change_open(user=world["county_b"].operator, case_id=case.pk, pupil=case.b.national_number,
                                    payload={"name": "王小纳"}, note="姓名录错")
    case.refresh_from_db()
    assert case.status == "open" and case.change_request_id and not case.recheck_due
    with django_capture_on_commit_callbacks() as queued:
        change_request_approve(user=world["county_b"].approver, request_id=case.change_request_id,
                               acknowledge_duplicates=True)
    case.refresh_from_db()
    assert case.status == "open" and case.recheck_due  # matched again once the change is committed
    assert len(queued) >= 1  # the re-check task, queued on commit
    assert cases.cases_recheck_due() == 1  # what the queued task (or the beat) does
    case.refresh_from_db()
    assert case.status == "resolved" and case.resolution == "change" and not case.recheck_due


def test_change_approved_but_still_matching_reopens_the_choice(world, case):
    resolution.case_key_change_open(user=world["county_b"].operator, case_id=case.pk, pupil=case.b.national_number,
                                    payload={"name": "李娜"}, note="改成同名")
    case.refresh_from_db()
    change_request_approve(user=world["county_b"].approver, request_id=case.change_request_id,
                           acknowledge_duplicates=True)
    cases.case_recheck(case_id=case.pk)
    case.refresh_from_db()
    assert case.status == "open" and case.change_request_id is None and "仍疑似重复" in case.note


def test_a_refused_change_leaves_the_case_open_at_once(world, case):
    resolution.case_key_change_open(user=world["county_b"].operator, case_id=case.pk, pupil=case.b.national_number,
                                    payload={"name": "王小纳"}, note="姓名录错")
    case.refresh_from_db()
    refuse(user=world["county_b"].approver, request_id=case.change_request_id, reason="证件不符")
    case.refresh_from_db()
    assert case.status == "open" and case.change_request_id is None and not case.recheck_due


def test_reading_cases_writes_nothing(world, case, client, login, django_assert_num_queries):
    resolution.case_key_change_open(user=world["county_b"].operator, case_id=case.pk, pupil=case.b.national_number,
                                    payload={"name": "王小纳"}, note="姓名录错")
    case.refresh_from_db()
    change_request_approve(user=world["county_b"].approver, request_id=case.change_request_id,
                           acknowledge_duplicates=True)
    events = case.events.count()
    client = login(world["county_b"].operator)
    assert client.get("/province/cases/").status_code == 200
    assert client.get(f"/province/cases/{case.pk}/").status_code == 200
    assert client.get("/api/v1/duplicate-cases").status_code == 200
    assert client.get(f"/api/v1/duplicate-cases/{case.pk}").status_code == 200
    case.refresh_from_db()
    assert case.recheck_due and case.status == "open" and case.events.count() == events


def test_county_scoping_of_cases(world, case, client, login):
    from duplicates.selectors import cases_visible_to
    from schools.models import School
    from tests.factories import make_pupil

    # a case entirely inside county 440105: county 440106 must not see it
    b2 = School.objects.get(code="4401050002")
    x = make_pupil(b2, name="赵敏", sex="2")
    y = make_pupil(world.school_b1, name="赵敏", sex="2", birth_date=x.birth_date)
    y.guardians.update(id_number=x.guardians.get().id_number)
    sweep = sweeps.sweep_start(user=world["province"].admin, province_code="44", partitions=1, dispatch=False)
    sweeps.sweep_run_partition(sweep_id=sweep.pk, index=0)
    inner = open_cases().exclude(pk=case.pk).get()
    assert set(cases_visible_to(world["county_a"].operator)) == {case}
    assert set(cases_visible_to(world["county_b"].operator)) == {case, inner}
    assert set(cases_visible_to(world["other_county"].operator)) == set()
    with pytest.raises(NotFound):
        deletion.deletion_propose(user=world["county_a"].operator, case_id=inner.pk,
                                     pupil=x.national_number, note="x")
    login(world["county_a"].operator)
    assert client.get(f"/api/v1/duplicate-cases/{inner.pk}").status_code == 404
    assert client.get(f"/api/v1/duplicate-cases/{case.pk}").status_code == 200
    ids = [c["id"] for c in client.get("/api/v1/duplicate-cases").json()]
    assert ids == [case.pk]
    # both members in the scope: the case is still one case
    for user in (world["county_b"].operator, world["province"].admin):
        login(user)
        assert client.get(f"/api/v1/duplicate-cases/{inner.pk}").status_code == 200
        assert client.get(f"/api/v1/duplicate-cases/{case.pk}").status_code == 200


def test_resolve_via_api_with_evidence(world, case, client, login):
    login(world["county_b"].approver)
    response = client.post(f"/api/v1/duplicate-cases/{case.pk}/resolve",
                           {"resolution": "evidence", "note": "两人", "evidence": io.BytesIO(PDF)})
    assert response.status_code == 200, response.content
    assert response.json()["resolution"] == "evidence"
    again = client.post(f"/api/v1/duplicate-cases/{case.pk}/resolve",
                        {"resolution": "evidence", "evidence": io.BytesIO(PDF)})
    assert again.status_code == 409 and again.json()["code"] == "case_not_open"


def test_school_user_cannot_resolve(world, case):
    with pytest.raises(Forbidden):
        deletion.deletion_propose(user=world["a1"].operator, case_id=case.pk, pupil=case.a.national_number,
                                     note="x")
