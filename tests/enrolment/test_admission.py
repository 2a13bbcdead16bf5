"""招生名单: a school (or its county) imports its intake; the preview says per row whether it
is a new child, a graduate to receive by 升学, a pupil enrolled elsewhere (transfer) or an
error; applying the chosen rows is all or nothing, as a job (inline here: Celery runs eagerly;
``tests/rosters/test_admission_worker.py`` runs it on a real worker)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from enrolment import receiving
from enrolment.models import Progression, Registration
from kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed
from registry.models import Pupil, PupilStatus
from rosters import admission
from rosters.models import AdmissionList
from rosters.tasks import admission_apply_start
from tests.rosters.test_support import roster_media, roster_row, xlsx_bytes  # noqa: F401

pytestmark = pytest.mark.usefixtures("roster_media", "eager")


@pytest.fixture
def eager(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True


def apply(user, admission_id: int, rows: list[int]) -> AdmissionList:
    return admission_apply_start(user=user, admission_id=admission_id, rows=rows)


def row_of(pupil, school, **changes) -> dict:
    """A roster row of an existing pupil (same name, sex, birth date and ID) for ``school``."""
    return roster_row(school, name=pupil.name, sex=pupil.sex, birth=pupil.birth_date, id_number=pupil.id_number,
                      **changes)


@pytest.fixture
def intake(world, graduates):
    """天河第二中学 (a2) imports grade 7: a new child, a graduate of a1, a pupil of b1 (王伟),
    a bad ID and a grade-3 row (rows 2–6)."""
    rows = [
        roster_row(world.school_a2, name="新生甲", seq=41, grade="7", birth=dt.date(2014, 6, 1)),
        row_of(graduates[0], world.school_a2, grade="7"),
        row_of(world.pupils["b1"], world.school_a2, grade="7"),
        roster_row(world.school_a2, name="错号", seq=42, grade="7", id_number="440106201406011234"),
        roster_row(world.school_a2, name="三年级", seq=43, grade="3"),
    ]
    return admission.admission_preview(user=world["a2"].operator, content=xlsx_bytes(rows), original_name="招生.xlsx")


def kinds(row: AdmissionList) -> dict[int, str]:
    return {item["row"]: item["kind"] for item in row.report}


def by_row(row: AdmissionList, number: int) -> dict:
    return next(item for item in row.report if item["row"] == number)


def test_the_preview_says_what_each_row_is_and_writes_nothing_else(world, graduates, intake):
    assert kinds(intake) == {2: "new", 3: "graduate", 4: "transfer", 5: "error", 6: "error"}
    assert by_row(intake, 3)["national_number"] == graduates[0].national_number
    transfer = by_row(intake, 4)["message"]
    assert "海珠第一小学" in transfer and "海珠区" in transfer
    assert world.pupils["b1"].national_number not in transfer  # no more than the entry check names
    assert {p["code"] for p in by_row(intake, 5)["problems"]} == {"id_check_char"}
    assert ("admission_grade", "年级") in [(p["code"], p["column"]) for p in by_row(intake, 6)["problems"]]
    assert not Pupil.objects.filter(name="新生甲").exists() and not Progression.objects.exists()


def test_applying_registers_the_new_child_and_sends_the_graduate_to_progression(world, graduates, intake):
    applied = apply(world["a2"].operator, intake.pk, [2, 3])
    assert applied.state == "applied"
    child = Pupil.objects.get(name="新生甲")
    assert child.status == PupilStatus.PENDING and child.school == world.school_a2
    assert Registration.objects.get(pupil=child).state == "school_review"
    progression = Progression.objects.get()
    assert progression.source == "admission" and progression.state == "school_review"
    assert progression.school == world.school_a2 and progression.grade == 7
    assert [e.pupil_id for e in progression.entries.all()] == [graduates[0].pk]
    assert Pupil.objects.filter(id_number=graduates[0].id_number).count() == 1  # no second record
    receiving.progression_approve(user=world["a2"].approver, progression_id=progression.pk)
    receiving.progression_approve(user=world["county_a"].approver, progression_id=progression.pk)
    graduates[0].refresh_from_db()
    assert graduates[0].school == world.school_a2 and graduates[0].status == PupilStatus.ENROLLED


@pytest.mark.parametrize("bad", [4, 5, 6, 99])
def test_a_chosen_row_that_cannot_be_applied_refuses_all(world, intake, bad):
    with pytest.raises(ValidationFailed) as exc:
        apply(world["a2"].operator, intake.pk, [2, 3, bad])
    assert exc.value.code == "admission_rows_refused"
    assert [d["row"] for d in exc.value.details] == [bad]
    assert not Pupil.objects.filter(name="新生甲").exists() and not Progression.objects.exists()
    intake.refresh_from_db()
    assert intake.state == "previewed"


def test_a_row_that_changed_since_the_preview_refuses_all(world, graduates, intake):
    # another school receives the graduate meanwhile
    card = receiving.graduate_find(user=world["b2"].operator, number=graduates[0].id_number, name=graduates[0].name)
    receiving.progression_start(user=world["b2"].operator, refs=[card[0].ref])
    refused = apply(world["a2"].operator, intake.pk, [2, 3])  # the preview still says graduate: the job decides
    assert refused.state == "previewed" and refused.error["code"] == "admission_rows_refused"
    assert [(d["row"], d["code"]) for d in refused.error["details"]] == [(3, "admission_row_not_applicable")]
    assert refused.chosen == [2, 3] and not refused.applied
    again = admission.admission_preview(user=world["a2"].operator, content=intake.file.open("rb").read())
    assert by_row(again, 3)["problems"][0]["code"] == "progression_taken"
    assert not Pupil.objects.filter(name="新生甲").exists()


def test_a_list_is_applied_once(world, intake):
    apply(world["a2"].operator, intake.pk, [2])
    with pytest.raises(Conflict) as exc:
        apply(world["a2"].operator, intake.pk, [3])
    assert exc.value.code == "admission_applied"


def test_nothing_chosen_is_refused(world, intake):
    with pytest.raises(ValidationFailed) as exc:
        apply(world["a2"].operator, intake.pk, [])
    assert exc.value.code == "required"


@pytest.mark.parametrize("who", ["a1", "b1", "county_b", "other_province"])
def test_a_foreign_unit_neither_sees_nor_applies(world, intake, who, client, api_token):
    with pytest.raises((NotFound, Forbidden)):
        apply(world[who].operator, admission_id=intake.pk, rows=[2])
    assert client.get(f"/api/v1/admissions/{intake.pk}", **api_token(world[who].operator)).status_code == 404
    assert client.get("/api/v1/admissions", **api_token(world[who].operator)).json() == []


def test_a_school_list_cannot_name_another_school(world):
    rows = [roster_row(world.school_b1, name="越界", seq=44, grade="1", birth=dt.date(2019, 3, 3))]
    row = admission.admission_preview(user=world["a1"].operator, content=xlsx_bytes(rows))
    assert kinds(row) == {2: "error"} and by_row(row, 2)["problems"][0]["code"] == "school_out_of_scope"


def test_a_county_lists_intake_for_its_schools_and_offers_the_graduates(world, graduates):
    rows = [
        roster_row(world.school_a1, name="一年级新生", seq=45, grade="1", birth=dt.date(2019, 3, 3)),
        row_of(graduates[1], world.school_a2, grade="7"),
        roster_row(world.school_a2, name="高一新生", seq=46, grade="10", birth=dt.date(2010, 3, 3)),
    ]
    preview = admission.admission_preview(user=world["county_a"].operator, content=xlsx_bytes(rows))
    assert kinds(preview) == {2: "new", 3: "graduate", 4: "error"}  # grade 10 is not the county's allocation
    apply(world["county_a"].operator, admission_id=preview.pk, rows=[2, 3])
    child = Pupil.objects.get(name="一年级新生")
    assert child.school == world.school_a1 and child.status == PupilStatus.PENDING
    offer = Progression.objects.get()
    assert offer.state == "offered" and offer.allocation.created_by == world["county_a"].operator
    assert offer.school == world.school_a2
    assert not AdmissionList.objects.filter(pk=preview.pk, school__isnull=False).exists()
    with pytest.raises(NotFound):  # the county's list is not a school's to see
        apply(world["a1"].operator, admission_id=preview.pk, rows=[2])


def test_a_city_does_not_import_admission_lists(world):
    rows = [roster_row(world.school_a1, name="一年级", seq=47, grade="1", birth=dt.date(2019, 3, 3))]
    with pytest.raises(Forbidden) as exc:
        admission.admission_preview(user=world["city"].operator, content=xlsx_bytes(rows))
    assert exc.value.code == "school_or_county_only"


def test_the_api_previews_and_applies(world, graduates, client, api_token):
    from django.core.files.uploadedfile import SimpleUploadedFile

    rows = [roster_row(world.school_a2, name="接口新生", seq=48, grade="7", birth=dt.date(2014, 6, 2)),
            row_of(graduates[0], world.school_a2, grade="7")]
    headers = api_token(world["a2"].operator)
    response = client.post("/api/v1/admissions", {"file": SimpleUploadedFile("l.xlsx", xlsx_bytes(rows))}, **headers)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [r["kind"] for r in body["rows"]] == ["new", "graduate"] and body["counts"]["new"] == 1
    bad = client.post(f"/api/v1/admissions/{body['id']}/apply", json.dumps({"rows": [7]}),
                      content_type="application/json", **headers)
    assert bad.status_code == 422 and bad.json()["code"] == "admission_rows_refused"
    done = client.post(f"/api/v1/admissions/{body['id']}/apply", json.dumps({"rows": [2, 3]}),
                       content_type="application/json", **headers)
    assert done.status_code == 200 and done.json()["state"] == "applied"
    assert Pupil.objects.get(name="接口新生").status == PupilStatus.PENDING


def test_the_pages_preview_and_apply(world, graduates, login):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = login(world["a2"].operator)
    rows = [roster_row(world.school_a2, name="页面新生", seq=49, grade="7", birth=dt.date(2014, 6, 3)),
            row_of(world.pupils["b1"], world.school_a2, grade="7")]
    response = client.post("/schools/admissions/", {"file": SimpleUploadedFile("l.xlsx", xlsx_bytes(rows))})
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert 'data-kind="new"' in page and 'data-kind="transfer"' in page
    row = AdmissionList.objects.get()
    client.post(f"/schools/admissions/{row.pk}/apply/", {"row": ["2"]})
    assert Pupil.objects.get(name="页面新生").status == PupilStatus.PENDING
    assert login(world["b1"].operator).get(f"/schools/admissions/{row.pk}/").status_code == 404




def test_applying_is_claimed_once_and_runs_as_a_job(world, intake, settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with django_capture_on_commit_callbacks() as queued:
        claimed = apply(world["a2"].operator, intake.pk, [2])
    assert claimed.state == "applying" and claimed.chosen == [2] and len(queued) == 1
    assert not Pupil.objects.filter(name="新生甲").exists()  # nothing written in the request
    with pytest.raises(Conflict):
        apply(world["a2"].operator, intake.pk, [2])
    assert admission.admission_apply(admission_id=intake.pk).state == "applied"  # what the worker runs
    assert Pupil.objects.get(name="新生甲").status == PupilStatus.PENDING


def test_the_page_follows_the_job(world, intake, login, settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    client = login(world["a2"].operator)
    with django_capture_on_commit_callbacks():
        client.post(f"/schools/admissions/{intake.pk}/apply/", {"row": ["2", "3"]})
    page = client.get(f"/schools/admissions/{intake.pk}/").content.decode()
    assert 'data-state="applying"' in page and 'http-equiv="refresh"' in page and 'data-testid="apply"' not in page
    # the worker finds the graduate taken meanwhile: back to 待确认, the refused row listed
    card = receiving.graduate_find(user=world["b2"].operator, number=by_row(intake, 3)["national_number"],
                                   name=by_row(intake, 3)["name"])
    receiving.progression_start(user=world["b2"].operator, refs=[card[0].ref])
    admission.admission_apply(admission_id=intake.pk)
    page = client.get(f"/schools/admissions/{intake.pk}/").content.decode()
    assert 'data-state="previewed"' in page and 'http-equiv="refresh"' not in page
    assert 'data-code="admission_rows_refused"' in page and "admission_row_not_applicable" in page


def test_a_file_that_cannot_be_read_is_refused_in_the_request(world, client, api_token):
    import io
    import zipfile

    from django.core.files.uploadedfile import SimpleUploadedFile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    response = client.post("/api/v1/admissions", {"file": SimpleUploadedFile("l.xlsx", buffer.getvalue())},
                           **api_token(world["a2"].operator))
    assert response.status_code == 422, response.json()
    assert response.json()["field"] == "file"
    assert not AdmissionList.objects.filter(state="previewed").exists()
