"""升学 on the same record: a receiving school finds graduates, its approver and the county
approve, and the record moves — number, history, guardians and photo kept."""

from __future__ import annotations

import json

import pytest

from enrolment import receiving
from enrolment.models import GraduateLookup, Progression
from kernel.errors import BusinessRefused, Conflict, Forbidden, NotFound, ValidationFailed
from registry.models import Guardian, HistoryEntry, Pupil
from tests.enrolment.conftest import graduate
from tests.factories import make_pupil
from workflow.models import OpenBusiness, WorkItem


def find(world, pupil, unit="a2", *, name=None, number=None):
    return receiving.graduate_find(user=world[unit].operator, number=number or pupil.national_number,
                                   name=name or pupil.name)


def receive(world, *pupils, unit="a2", class_number=1):
    refs = [find(world, p, unit)[0].ref for p in pupils]
    return receiving.progression_start(user=world[unit].operator, refs=refs, class_number=class_number)


def approve_all(world, row, *, school="a2", county="county_a"):
    receiving.progression_approve(user=world[school].approver, progression_id=row.pk)
    return receiving.progression_approve(user=world[county].approver, progression_id=row.pk)


def test_a_graduate_moves_to_grade_7_on_the_same_record(world, graduates):
    pupil = graduates[0]
    number, guardians = pupil.national_number, list(pupil.guardians.values_list("pk", flat=True))
    row = receive(world, pupil, class_number=3)
    assert row.state == "school_review"
    done = approve_all(world, row)
    assert done.state == "approved" and done.decided_at is not None
    pupil.refresh_from_db()
    assert pupil.national_number == number and pupil.status == "enrolled"
    assert pupil.school == world.school_a2 and pupil.grade == 7 and pupil.school_class.number == 3
    assert pupil.county_code == "440106" and not pupil.basic_data_locked
    assert list(Guardian.objects.filter(pupil=pupil).values_list("pk", flat=True)) == guardians
    out = HistoryEntry.objects.get(pupil=pupil, kind="progressed_out")
    into = HistoryEntry.objects.get(pupil=pupil, kind="progressed_in")
    assert out.school == world.school_a1 and into.school == world.school_a2 and number in into.summary
    assert not OpenBusiness.objects.filter(pupil=pupil).exists()


def test_a_no_id_graduate_keeps_its_j_number_and_a_g_number_stays(world, graduates):
    no_id = graduates[2]
    assert no_id.national_number.startswith("J")
    g_pupil = graduates[1]
    g_number = "G" + g_pupil.id_number
    Pupil.objects.filter(pk=g_pupil.pk).update(national_number=g_number)
    g_pupil.refresh_from_db()
    approve_all(world, receive(world, no_id, g_pupil))
    assert set(Pupil.objects.filter(school=world.school_a2).values_list("national_number", flat=True)) == {
        no_id.national_number, g_number}


def test_across_counties_the_receiving_county_approves(world, graduates):
    row = receive(world, graduates[0], unit="b2")  # 九年一贯制 school of county b
    receiving.progression_approve(user=world["b2"].approver, progression_id=row.pk)
    with pytest.raises(NotFound):  # the graduate's old county has no part in it
        receiving.progression_approve(user=world["county_a"].approver, progression_id=row.pk)
    receiving.progression_approve(user=world["county_b"].approver, progression_id=row.pk)
    graduates[0].refresh_from_db()
    assert graduates[0].school == world.school_b2 and graduates[0].county_code == "440105"


def test_a_complete_middle_school_receives_its_own_junior_graduates(world, complete_middle):
    school, operator, approver = complete_middle
    pupil = make_pupil(school, name="初三毕业", grade=9)
    graduate(pupil)
    card = receiving.graduate_find(user=operator, number=pupil.id_number, name=pupil.name)[0]
    assert card.entry_grade == 10
    row = receiving.progression_start(user=operator, refs=[card.ref])
    receiving.progression_approve(user=approver, progression_id=row.pk)
    receiving.progression_approve(user=world["county_b"].approver, progression_id=row.pk)
    pupil.refresh_from_db()
    assert (pupil.school, pupil.grade, pupil.status) == (school, 10, "enrolled")


def test_the_school_approver_and_the_county_approve_in_order(world, graduates):
    row = receive(world, graduates[0])
    with pytest.raises(Conflict) as early:
        receiving.progression_approve(user=world["county_a"].approver, progression_id=row.pk)
    assert early.value.code == "step_not_reached"
    with pytest.raises(Forbidden) as role:
        receiving.progression_approve(user=world["a2"].operator, progression_id=row.pk)
    assert role.value.code == "role_forbidden"
    assert WorkItem.objects.get(object_id=row.pk, kind="progression", state="open").school == world.school_a2


def test_a_refusal_needs_a_reason_and_frees_the_graduate(world, graduates):
    row = receive(world, graduates[0])
    with pytest.raises(ValidationFailed) as no_reason:
        receiving.progression_refuse(user=world["a2"].approver, progression_id=row.pk, reason="")
    assert no_reason.value.code == "reason_required"
    receiving.progression_refuse(user=world["a2"].approver, progression_id=row.pk, reason="不在本校招生范围")
    assert not OpenBusiness.objects.filter(pupil=graduates[0]).exists()
    again = receive(world, graduates[0], unit="b2")
    assert again.state == "school_review"


def test_a_graduate_held_by_one_school_cannot_be_received_by_another(world, graduates):
    receive(world, graduates[0])
    with pytest.raises(Conflict) as taken:
        receive(world, graduates[0], unit="b2")
    assert taken.value.code == "progression_taken" and taken.value.status == 409
    assert Progression.objects.count() == 1


def test_the_search_needs_the_exact_name_and_is_recorded(world, graduates):
    pupil = graduates[0]
    assert find(world, pupil, name="毕业") == []
    assert len(find(world, pupil, number=pupil.id_number)) == 1
    assert GraduateLookup.objects.filter(school=world.school_a2).count() == 2
    with pytest.raises(ValidationFailed) as missing:
        receiving.graduate_find(user=world["a2"].operator, number=pupil.national_number, name="")
    assert missing.value.code == "name_required"
    with pytest.raises(Forbidden):
        receiving.graduate_find(user=world["county_a"].operator, number=pupil.national_number, name=pupil.name)


def test_a_pupil_still_enrolled_is_shown_with_the_reason_and_cannot_be_received(world):
    pupil = world.pupils["a1"]
    [card] = find(world, pupil)
    assert card.refusal_code == "not_a_graduate" and "转学" in card.refusal
    with pytest.raises(BusinessRefused) as refused:
        receiving.progression_start(user=world["a2"].operator, refs=[card.ref])
    assert refused.value.code == "not_a_graduate"


def test_a_school_without_the_next_grade_cannot_receive(world, graduates):
    [card] = find(world, graduates[0], unit="b1")  # a primary school has no grade 7
    assert card.refusal_code == "grade_not_in_school"


def test_a_lookup_reference_works_only_for_its_user(world, graduates):
    ref = find(world, graduates[0])[0].ref
    with pytest.raises(ValidationFailed) as expired:
        receiving.progression_start(user=world["b2"].operator, refs=[ref])
    assert expired.value.code == "lookup_expired"


def test_the_record_changed_since_the_search_stops_the_approval(world, graduates):
    row = receive(world, graduates[0])
    Pupil.objects.filter(pk=graduates[0].pk).update(status="deceased")
    with pytest.raises(BusinessRefused) as refused:
        receiving.progression_approve(user=world["a2"].approver, progression_id=row.pk)
    assert refused.value.code == "progression_pupil_changed"


def test_classes_are_set_per_graduate_or_spread_and_a_graduate_can_be_taken_off(world, graduates):
    row = receive(world, *graduates[:2])
    receiving.progression_set_classes(user=world["a2"].operator, progression_id=row.pk, spread_over=2)
    assert sorted(row.entries.values_list("class_number", flat=True)) == [1, 2]
    entry = row.entries.get(pupil=graduates[0])
    receiving.progression_set_classes(user=world["a2"].operator, progression_id=row.pk, classes={entry.pk: 5})
    entry.refresh_from_db()
    assert entry.class_number == 5
    receiving.progression_remove(user=world["a2"].operator, progression_id=row.pk, entry_id=entry.pk)
    assert not OpenBusiness.objects.filter(pupil=graduates[0]).exists()
    with pytest.raises(NotFound):
        receiving.progression_set_classes(user=world["b2"].operator, progression_id=row.pk, spread_over=1)


def test_another_unit_never_sees_a_progression(world, graduates, login):
    row = receive(world, graduates[0])
    for unit in ("county_b", "b2", "other_province"):
        user = world[unit].admin or world[unit].approver
        with pytest.raises(NotFound):
            receiving.progression_approve(user=user, progression_id=row.pk)
        assert login(user).get(f"/progressions/{row.pk}/").status_code == 404
    assert login(world["city"].approver).get(f"/progressions/{row.pk}/").status_code == 200


# --- the API -----------------------------------------------------------------------------


def _post(client, path, body=None, **headers):
    return client.post(path, data=json.dumps(body or {}), content_type="application/json", **headers)


def test_the_api_receives_and_shows_the_current_step_with_its_due_date(world, graduates, client, api_token):
    pupil = graduates[0]
    operator = api_token(world["a2"].operator)
    found = _post(client, "/api/v1/progressions/lookup", {"number": pupil.national_number, "name": pupil.name},
                  **operator).json()
    response = _post(client, "/api/v1/progressions", {"refs": [found[0]["ref"]], "class_number": 2}, **operator)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["current_step"] == "school_review" and body["due_date"]
    assert body["waiting_for"] == {"code": world.school_a2.code, "name": world.school_a2.name}
    assert body["students"][0]["national_number"] == pupil.national_number
    _post(client, f"/api/v1/progressions/{body['id']}/approve", **api_token(world["a2"].approver))
    done = _post(client, f"/api/v1/progressions/{body['id']}/approve", **api_token(world["county_a"].approver)).json()
    assert done["state"] == "approved" and done["current_step"] is None
    again = _post(client, f"/api/v1/progressions/{body['id']}/approve", **api_token(world["county_a"].approver))
    assert again.status_code == 409 and again.json()["code"] == "state_conflict"
    foreign = client.get(f"/api/v1/progressions/{body['id']}", **api_token(world["county_b"].approver))
    assert foreign.status_code == 404
