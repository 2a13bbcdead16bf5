"""A pupil without household registration (无户籍) through its life: transfer found by a
parent's ID number, J→G when the pupil gets an ID, every status change, roster import.

Seed 004: no different treatment otherwise — each business works exactly as for any pupil.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from changes.models import DropoutFollowUp
from changes.models import State as ChangeState
from enrolment.registration import pupil_register
from registry import nohukou
from registry.models import Pupil, PupilStatus
from registry.records import GuardianData
from tests.changes.conftest import approve_both, open_request
from tests.factories import admit, resident_id
from tests.registry.test_nohukou import BIRTH, FATHER_ID, MOTHER_ID, no_id_record
from tests.transfers.chain import OPEN_DAY, open_season, run_chain  # noqa: F401  (fixture)
from transfers import lookup as transfer_lookup
from transfers import services as transfers
from transfers.models import TransferLookup
from transfers.states import State as TransferState

pytestmark = pytest.mark.usefixtures("open_season")

#: The resident ID 林小溪 (girl, born 2017-06-01) gets later.
NEW_ID = resident_id(BIRTH, "2", region="440106", seq=377)


@pytest.fixture
def no_id_pupil(world):
    """林小溪 at 天河第一小学 (a1): no resident ID, J number, father (first guardian) and mother;
    registered, and admitted by the school and the county (新生注册审核)."""
    pupil = pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1))
    admit(pupil)
    return pupil


def _family(pupil: Pupil) -> list[tuple]:
    return list(
        pupil.guardians.order_by("id").values_list(
            "pk", "name", "relation", "id_number", "is_guardian", "is_first_guardian", "hukou_division_id"
        )
    )


# Transfer -----------------------------------------------------------------------------


def test_full_transfer_chain_of_a_no_id_pupil_keeps_the_j_number_and_the_family(world, no_id_pupil):
    number, family, hukou = no_id_pupil.national_number, _family(no_id_pupil), no_id_pupil.hukou_division_id
    assert number.startswith("J") and len(family) == 2

    # The destination school finds the pupil by the mother's ID number (no name needed).
    [card] = transfer_lookup.transfer_lookup(
        user=world["b1"].operator, origin_school_code=world.school_a1.code, parent_id_number=MOTHER_ID
    ).found
    transfer = transfers.transfer_apply(
        user=world["b1"].operator, pupil_ref=card.ref, origin_school_code=world.school_a1.code,
        dest_grade=card.grade, dest_class_number=3, reason="随父母务工", today=OPEN_DAY,
    )
    transfer = run_chain(world, transfer)

    assert transfer.state == TransferState.COMPLETED
    pupil = Pupil.objects.get(pk=no_id_pupil.pk)
    assert pupil.national_number == number
    assert (pupil.school_id, pupil.county_code, pupil.school_class.number) == (world.school_b1.pk, "440105", 3)
    assert (pupil.id_type, pupil.id_number) == ("Z", "")
    assert _family(pupil) == family  # the same rows, first guardian and hukou of each
    assert pupil.hukou_division_id == hukou  # 户籍所在地 still follows the first guardian
    assert nohukou.hukou_authority(pupil).code == "440105"
    kinds = set(pupil.history.values_list("kind", flat=True))
    assert {"transferred_out", "transferred_in"} <= kinds
    snapshot = transfer.snapshot.data
    assert snapshot["national_number"] == number
    assert {g["id_number"] for g in snapshot["guardians"]} == {FATHER_ID, MOTHER_ID}
    assert TransferLookup.objects.get().kind == "parent"


def test_after_the_transfer_the_destination_finds_no_second_record_to_create(world, no_id_pupil):
    """The moved record still blocks a second registration anywhere in the province."""
    [card] = transfer_lookup.transfer_lookup(
        user=world["b1"].operator, origin_school_code=world.school_a1.code, parent_id_number=FATHER_ID
    ).found
    run_chain(world, transfers.transfer_apply(
        user=world["b1"].operator, pupil_ref=card.ref, origin_school_code=world.school_a1.code,
        dest_grade=2, dest_class_number=1, reason="随父母务工", today=OPEN_DAY,
    ))
    [problem] = nohukou.registration_problems(no_id_record(world.school_a1))
    assert problem.code == "nohukou_existing_record"
    assert problem.details["school_code"] == world.school_b1.code


# J → G --------------------------------------------------------------------------------


def test_j_to_g_through_the_api(world, no_id_pupil, client, api_token):
    j_number = no_id_pupil.national_number
    response = client.post(
        "/api/v1/changes",
        {"pupil": j_number, "kind": "key_change", "payload": {"id_type": "1", "id_number": NEW_ID},
         "reason": "已办理户口登记，取得居民身份证"},
        content_type="application/json",
        **api_token(world["a1"].operator),
    )
    assert response.status_code == 201, response.content
    request_id = response.json()["id"]
    for unit in ("a1", "county_a"):
        response = client.post(f"/api/v1/changes/{request_id}/approve", {}, content_type="application/json",
                               **api_token(world[unit].approver))
        assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == ChangeState.APPROVED
    assert body["applied"]["before"]["national_number"] == j_number
    assert body["applied"]["after"]["national_number"] == "G" + NEW_ID

    detail = client.get(f"/api/v1/pupils/G{NEW_ID}", **api_token(world["a1"].operator))
    assert detail.status_code == 200
    data = detail.json()
    assert (data["id_type"], data["id_number"]) == ("1", NEW_ID)
    assert {g["id_number"] for g in data["guardians"]} == {FATHER_ID, MOTHER_ID}
    entry = Pupil.objects.get(pk=no_id_pupil.pk).history.get(kind="number_changed")
    assert entry.data["old"] == j_number and j_number in entry.summary
    # The old number is history, not a second record.
    assert client.get(f"/api/v1/pupils/{j_number}", **api_token(world["a1"].operator)).status_code == 404


def test_j_to_g_refused_when_the_new_id_is_held_by_an_active_pupil(world, no_id_pupil, client, api_token):
    holder = world.pupils["a1"]  # 李娜 has a resident ID already
    response = client.post(
        "/api/v1/changes",
        {"pupil": no_id_pupil.national_number, "kind": "key_change",
         "payload": {"id_type": "1", "id_number": holder.id_number, "birth_date": holder.birth_date.isoformat()}},
        content_type="application/json",
        **api_token(world["a1"].operator),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "id_number_active_elsewhere"
    assert Pupil.objects.get(pk=no_id_pupil.pk).national_number.startswith("J")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_j_to_g_in_the_browser_keeps_the_j_number_in_the_history(world, page, browser_login):
    pupil = pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1))
    admit(pupil)
    j_number = pupil.national_number

    browser_login(world["a1"].operator)
    page.goto(f"/changes/new/?pupil={j_number}&kind=key_change")
    page.select_option("select[name=id_type]", "1")
    page.fill("input[name=id_number]", NEW_ID)
    page.fill("textarea[name=reason]", "已取得居民身份证")
    page.click("[data-testid=submit-change]")
    page.wait_for_selector("[data-testid=state][data-state=school_review]")
    url = page.url

    for unit, after in (("a1", "county_review"), ("county_a", "approved")):
        browser_login(world[unit].approver)
        page.goto(url)
        page.click("[data-testid=approve]")
        page.wait_for_selector(f"[data-testid=state][data-state={after}]")

    browser_login(world["a1"].operator)
    page.goto(f"/pupils/G{NEW_ID}/")
    history = page.inner_text("[data-testid=history]")
    assert j_number in history and f"G{NEW_ID}" in history


# Every status change ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("leave", "leave_payload", "left_status", "back"),
    [
        ("suspend", lambda d: {"start": d.isoformat(), "until": (d + dt.timedelta(days=180)).isoformat()},
         PupilStatus.SUSPENDED, "resume"),
        ("drop_out", lambda d: {"date": d.isoformat()}, PupilStatus.DROPPED_OUT, "reinstate"),
    ],
    ids=["休学-复学", "辍学-恢复学籍"],
)
def test_status_changes_work_for_a_no_id_pupil(world, no_id_pupil, leave, leave_payload, left_status, back):
    today = timezone.localdate()
    number, family = no_id_pupil.national_number, _family(no_id_pupil)

    request = open_request(world, leave, leave_payload(today), pupil=no_id_pupil, today=today)
    assert approve_both(world, request).state == ChangeState.APPROVED
    pupil = Pupil.objects.get(pk=no_id_pupil.pk)
    assert pupil.status == left_status

    request = open_request(world, back, {}, pupil=pupil, today=today)
    assert approve_both(world, request).state == ChangeState.APPROVED
    pupil = Pupil.objects.get(pk=no_id_pupil.pk)
    assert (pupil.status, pupil.grade, pupil.national_number) == (PupilStatus.ENROLLED, 2, number)
    assert _family(pupil) == family
    assert {f"change_{leave}", f"change_{back}"} <= set(pupil.history.values_list("kind", flat=True))
    if leave == "drop_out":  # compulsory age: on 控辍保学 until reinstated
        assert DropoutFollowUp.objects.get(pupil=pupil).closed_at is not None


# Roster import ------------------------------------------------------------------------


def _roster_check(world, user, rows):
    from rosters import jobs
    from tests.rosters.test_support import rows_of, xlsx_bytes

    job = jobs.roster_upload(user=user, content=xlsx_bytes(rows), file_name="花名册.xlsx")
    job = jobs.roster_check(job_id=job.pk)
    assert job.error == "" or job.error is None, job.error
    return rows_of(job)


def _no_id_row(school, **overrides) -> dict:
    from tests.rosters.test_support import roster_row

    row = roster_row(
        school, name="林小溪", sex="女", birth=BIRTH, id_type="其他", id_number="", grade="2", class_number="1",
        hukou_division="440105",
        g1_name="林大海", g1_relation="父亲", g1_id_type="居民身份证", g1_id_number=FATHER_ID, g1_is_guardian="是",
        g2_name="陈小红", g2_relation="母亲", g2_id_type="居民身份证", g2_id_number=MOTHER_ID, g2_is_guardian="是",
    )
    row.update(overrides)
    return row


@pytest.fixture
def roster_media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_roster_row_of_a_no_id_pupil_with_both_parents_is_new(world, roster_media):
    rows = _roster_check(world, world["b1"].operator, [_no_id_row(world.school_b1)])
    assert rows[2]["outcome"] == "new", rows[2]["problems"]


def test_roster_applies_the_guardian_rules_per_row(world, roster_media):
    no_mother = _no_id_row(world.school_b1, g2_name="", g2_relation="", g2_id_type="", g2_id_number="",
                           g2_is_guardian="")
    rows = _roster_check(world, world["b1"].operator, [_no_id_row(world.school_b1, name="林小山"), no_mother])
    assert rows[2]["outcome"] == "new", rows[2]["problems"]
    assert rows[3]["outcome"] == "refused"
    assert {p["code"] for p in rows[3]["problems"]} == {"nohukou_mother_required"}


def test_roster_refuses_a_second_record_of_a_no_id_child_in_the_province(world, no_id_pupil, roster_media):
    rows = _roster_check(world, world["b1"].operator, [_no_id_row(world.school_b1)])
    assert rows[2]["outcome"] == "refused"
    [problem] = rows[2]["problems"]
    assert problem["code"] == "nohukou_existing_record"
    assert "天河第一小学" in problem["message"]


def test_a_j_number_that_became_g_is_never_issued_again(world, no_id_pupil, client, api_token):
    """J…001 became G through a key change; the next no-ID child born that day in the county
    gets J…002, not J…001 again (the sequence remembers what it issued)."""
    j_number = no_id_pupil.national_number
    response = client.post(
        "/api/v1/changes",
        {"pupil": j_number, "kind": "key_change", "payload": {"id_type": "1", "id_number": NEW_ID}},
        content_type="application/json", **api_token(world["a1"].operator),
    )
    for unit in ("a1", "county_a"):
        client.post(f"/api/v1/changes/{response.json()['id']}/approve", {}, content_type="application/json",
                    **api_token(world[unit].approver))
    assert not Pupil.objects.filter(national_number=j_number).exists()
    sibling = pupil_register(
        user=world["a1"].operator,
        data=no_id_record(world.school_a1, name="林小河", guardians=[
            GuardianData(name="王大山", relation="51", id_number=resident_id(dt.date(1980, 2, 2), "1", seq=401),
                         is_first_guardian=True, hukou_division_code="440106"),
            GuardianData(name="赵小云", relation="52", id_number=resident_id(dt.date(1982, 3, 3), "2", seq=402),
                         hukou_division_code="440106"),
        ]),
    )
    assert sibling.national_number[:15] == j_number[:15]
    assert sibling.national_number != j_number
    assert int(sibling.national_number[15:18]) == int(j_number[15:18]) + 1
