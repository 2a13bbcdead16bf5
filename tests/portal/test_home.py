"""首页 per person: my 待办 (what I can act on now), the unit's other 待办 with who acts on
them, and 我发起的 with where each chain stands."""

from __future__ import annotations

from tests.changes.conftest import open_request

SUSPEND = {"start": "2026-11-23", "until": "2027-06-30"}


def _section(page: str, testid: str) -> str:
    start = page.index(f'data-testid="{testid}"')
    return page[start:page.index("</section>", start)]


def test_operator_is_not_offered_the_approvers_step_but_sees_who_takes_it(world, login):
    request = open_request(world, "suspend", SUSPEND)  # filed by the operator, waits for the school approver
    operator = login(world["a1"].operator).get("/").content.decode()
    assert f"/changes/{request.pk}/" not in _section(operator, "mine")
    others = _section(operator, "others")
    assert f"/changes/{request.pk}/" in others and "由学籍主管领导办理" in others
    approver = login(world["a1"].approver).get("/").content.decode()
    assert f"/changes/{request.pk}/" in _section(approver, "mine")


def test_the_approver_who_filed_a_change_is_told_another_approver_decides(world, login):
    request = open_request(world, "suspend", SUSPEND, user=world["a1"].approver)
    page = login(world["a1"].approver).get("/").content.decode()
    assert f"/changes/{request.pk}/" not in _section(page, "mine")
    assert "另一位审核人" in _section(page, "others")


def test_started_by_me_shows_where_the_chain_waits(world, login):
    request = open_request(world, "suspend", SUSPEND)
    page = login(world["a1"].operator).get("/").content.decode()
    started = _section(page, "started")
    assert f"/changes/{request.pk}/" in started and "待学校审核" in started
    assert world.school_a1.name in started
    # another operator of the unit did not file it
    other = login(world["a1"].approver).get("/").content.decode()
    assert f"/changes/{request.pk}/" not in _section(other, "started")
