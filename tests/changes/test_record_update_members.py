"""信息维护 of family members: add (up to four), correct and remove, approved by the school,
with old and new values in the history; the first guardian and the no-hukou parent rules
hold."""

from __future__ import annotations

import datetime as dt

import pytest

from changes import requests
from changes.models import ChangeRequest
from kernel.errors import ValidationFailed
from registry.models import Guardian
from tests.changes.conftest import open_request
from tests.changes.test_record_update import initial_post
from tests.factories import resident_id

TODAY = dt.date(2026, 11, 23)
MOTHER_ID = resident_id(dt.date(1988, 3, 3), "2", region="440106", seq=412)


def _approve(world, request):
    return requests.change_request_approve(user=world["a1"].approver, request_id=request.pk)


def test_a_member_is_added_with_its_fields_and_the_history_names_it(world):
    pupil = world.pupils["a1"]
    before = pupil.guardians.count()
    order = max(g.order for g in pupil.guardians.all()) + 1
    request = open_request(world, "record_update", {
        f"guardian{order}_name": "李奶奶", f"guardian{order}_relation": "祖母", f"guardian{order}_id_number": MOTHER_ID,
        f"guardian{order}_phone": "13900139000", f"guardian{order}_employer": "退休",
    }, today=TODAY)
    assert request.payload[f"guardian{order}_relation"] != "祖母"  # stored as its code
    _approve(world, request)
    assert pupil.guardians.count() == before + 1
    member = Guardian.objects.get(pupil=pupil, order=order)
    assert (member.name, member.phone, member.employer, member.is_first_guardian) == (
        "李奶奶", "13900139000", "退休", False)
    entry = pupil.history.get(kind="change_record_update")
    assert f"家庭成员{order}姓名：— → 李奶奶" in entry.summary and f"家庭成员{order}关系：— → 祖母" in entry.summary


def test_a_member_is_corrected(world):
    pupil = world.pupils["a1"]
    member = pupil.guardians.get(order=1)
    request = open_request(world, "record_update", {"guardian1_employer": "某公司", "guardian1_job_title": "会计"},
                           today=TODAY)
    _approve(world, request)
    member.refresh_from_db()
    assert (member.employer, member.job_title) == ("某公司", "会计")
    entry = pupil.history.get(kind="change_record_update")
    assert "家庭成员1工作单位：— → 某公司" in entry.summary


def _second_member(world):
    pupil = world.pupils["a1"]
    order = max(g.order for g in pupil.guardians.all()) + 1
    _approve(world, open_request(world, "record_update", {
        f"guardian{order}_name": "李叔叔", f"guardian{order}_relation": "51",
        f"guardian{order}_id_number": MOTHER_ID}, today=TODAY))
    return order


def test_a_member_is_removed_and_the_history_keeps_the_name(world):
    pupil = world.pupils["a1"]
    order = _second_member(world)
    request = open_request(world, "record_update", {f"guardian{order}_remove": True}, today=TODAY)
    _approve(world, request)
    assert not Guardian.objects.filter(pupil=pupil, order=order).exists()
    entry = pupil.history.filter(kind="change_record_update").first()
    assert f"家庭成员{order}（删除）：李叔叔 → —" in entry.summary


def test_the_first_guardian_is_not_removed(world):
    first = world.pupils["a1"].guardians.get(is_first_guardian=True)
    with pytest.raises(ValidationFailed) as exc:
        open_request(world, "record_update", {f"guardian{first.order}_remove": True}, today=TODAY)
    assert exc.value.code == "first_guardian_removed"


def test_removing_a_member_that_is_not_there_is_refused(world):
    with pytest.raises(ValidationFailed) as exc:
        open_request(world, "record_update", {"guardian4_remove": True}, today=TODAY)
    assert exc.value.code == "unknown_member"


def test_no_fifth_member(world):
    pupil = world.pupils["a1"]
    while pupil.guardians.count() < 4:
        _second_member(world)
    with pytest.raises(ValidationFailed) as exc:
        open_request(world, "record_update", {"guardian5_name": "第五人", "guardian5_relation": "51"}, today=TODAY)
    assert exc.value.code == "unknown_field"  # numbers go to four
    orders = {g.order for g in pupil.guardians.all()}
    assert orders == {1, 2, 3, 4}


def test_a_new_member_obeys_the_member_rules(world):
    with pytest.raises(ValidationFailed) as exc:
        open_request(world, "record_update", {"guardian4_name": "", "guardian4_relation": "51"}, today=TODAY)
    assert exc.value.code == "required"
    with pytest.raises(ValidationFailed) as exc:
        open_request(world, "record_update", {"guardian4_name": "王五", "guardian4_relation": "51",
                                               "guardian4_employer": "厂" * 101}, today=TODAY)
    assert exc.value.code == "too_long"
    assert not ChangeRequest.objects.exists()


def test_the_page_adds_and_removes_members(world, login):
    pupil = world.pupils["a1"]
    number = pupil.national_number
    client = login(world["a1"].operator)
    orders = [g.order for g in pupil.guardians.all()]
    new = next(n for n in range(1, 5) if n not in orders)
    page = client.get(f"/changes/new/?pupil={number}&kind=record_update").content.decode()
    assert f'name="guardian{new}_name"' in page and f'name="guardian{orders[0]}_remove"' in page
    response = client.post(f"/changes/new/?pupil={number}&kind=record_update", {
        **initial_post(pupil), f"guardian{new}_name": "赵姑姑", f"guardian{new}_relation": "51",
        f"guardian{new}_id_type": "1", f"guardian{new}_id_number": MOTHER_ID, f"guardian{new}_is_guardian": "on",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    request = ChangeRequest.objects.get()
    assert request.payload[f"guardian{new}_name"] == "赵姑姑"
    assert not any(k.startswith(f"guardian{orders[0]}_") for k in request.payload)
