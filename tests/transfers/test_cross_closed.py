"""已办结的跨省转学 (``/transfers/remote/closed/``): the completed, refused and cancelled
cross-registry transfers of the user's scope, this registry's side of each, newest first, 20 to
a page, filtered by state (an unknown one refused with 422); linked from the transfer list and
from an application's page. A GET reads only."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from transfers.models import CrossTransfer
from transfers.search import cross_closed_search
from transfers.states import State

URL = "/transfers/remote/closed/"


def cross_row(world, *, side: str = "dest", state: str = State.COMPLETED, name: str = "黄小梅", closed_days: int = 1,
              school=None, reason: str = "") -> CrossTransfer:
    """This registry's side of a cross-registry transfer: the destination school here (side
    dest) or the origin school here (side origin), the other school in province 45."""
    school = school or (world.school_a1 if side == "dest" else world.school_b1)
    here = {"dest_school": school, "dest_school_code": school.code, "dest_school_name": school.name,
            "dest_county_code": school.county_id, "origin_school_code": "4501020001",
            "origin_school_name": "南宁市民主路小学"}
    if side == "origin":
        here = {"origin_school": school, "origin_school_code": school.code, "origin_school_name": school.name,
                "origin_county_code": school.county_id, "dest_school_code": "4501020001",
                "dest_school_name": "南宁市民主路小学"}
    closed = state in (State.COMPLETED, State.REFUSED, State.CANCELLED)
    return CrossTransfer.objects.create(
        application=uuid.uuid4(), side=side, peer_province="45", pupil_name=name, dest_grade=3, dest_class_number=1,
        reason="随父母务工迁居", state=state, applicant="op", closed_reason=reason,
        closed_at=timezone.now() - dt.timedelta(days=closed_days) if closed else None, **here)


@pytest.fixture
def rows(world):
    return {
        "completed": cross_row(world, name="黄小梅", closed_days=3),
        "refused": cross_row(world, state=State.REFUSED, name="黄小刚", closed_days=1, reason="学位已满"),
        "cancelled": cross_row(world, side="origin", state=State.CANCELLED, name="黄小燕", closed_days=2,
                               reason="家长改变主意"),
        "open": cross_row(world, state=State.ORIGIN_SCHOOL, name="黄在办"),
    }


def names(response) -> list[str]:
    page = response.content.decode()
    return [name for name in ("黄小梅", "黄小刚", "黄小燕", "黄在办") if f">{name}</a>" in page]


def _order(response) -> list[str]:
    page = response.content.decode()
    found = [(page.index(f">{name}</a>"), name) for name in names(response)]
    return [name for _at, name in sorted(found)]


def test_each_party_sees_the_closed_ones_of_its_scope_newest_first_and_never_the_open_ones(world, rows, login):
    assert _order(login(world["a1"].operator).get(URL)) == ["黄小刚", "黄小梅"]  # refused 1 day ago, completed 3
    assert _order(login(world["county_a"].approver).get(URL)) == ["黄小刚", "黄小梅"]
    assert _order(login(world["b1"].approver).get(URL)) == ["黄小燕"]  # the origin side here
    assert _order(login(world["province"].operator).get(URL)) == ["黄小刚", "黄小燕", "黄小梅"]


@pytest.mark.parametrize("unit", ["a2", "b2", "other_county", "x", "other_province"])
def test_a_user_of_another_school_or_county_sees_none_of_them(world, rows, login, unit):
    response = login(world[unit].approver).get(URL)
    assert response.status_code == 200 and names(response) == []
    assert "没有已办结的跨省转学申请" in response.content.decode()
    assert not cross_closed_search(world[unit].approver).exists()


def test_an_application_outside_the_scope_is_not_found(world, rows, login):
    client = login(world["b1"].operator)
    assert client.get(f"/transfers/remote/{rows['cancelled'].pk}/").status_code == 200
    assert client.get(f"/transfers/remote/{rows['completed'].pk}/").status_code == 404
    assert login(world["a2"].approver).get(f"/transfers/remote/{rows['refused'].pk}/").status_code == 404


@pytest.mark.parametrize("state, expected", [("completed", ["黄小梅"]), ("refused", ["黄小刚"]),
                                             ("cancelled", ["黄小燕"]), ("", ["黄小刚", "黄小燕", "黄小梅"])])
def test_the_state_filter_keeps_one_closed_state(world, rows, login, state, expected):
    response = login(world["city"].approver).get(URL, {"state": state})
    assert response.status_code == 200 and _order(response) == expected
    if state:
        assert f'<option value="{state}" selected>' in response.content.decode()


@pytest.mark.parametrize("state", ["origin_school", "draft", "bogus", "<b>x</b>"])
def test_an_unknown_or_open_state_is_refused_with_422_and_a_chinese_message(world, rows, login, state):
    response = login(world["a1"].operator).get(URL, {"state": state})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'data-code="state_unknown"' in page and "状态" in page and "无效" in page
    assert "<b>x</b>" not in page  # the value is escaped


def test_twenty_to_a_page(world, login):
    for i in range(21):
        cross_row(world, name=f"学生{i:02d}", closed_days=i + 1)
    client = login(world["a1"].operator)
    first = client.get(URL).content.decode()
    assert first.count('data-testid="remote-closed-row"') == 20 and 'rel="next"' in first
    assert ">学生00</a>" in first and ">学生20</a>" not in first  # newest first
    second = client.get(URL, {"page": 2}).content.decode()
    assert second.count('data-testid="remote-closed-row"') == 1 and ">学生20</a>" in second
    assert 'rel="next"' not in second


def test_a_get_only_reads_and_a_post_is_not_allowed(world, rows, login):
    client = login(world["a1"].operator)
    before = list(CrossTransfer.objects.order_by("pk").values_list("pk", "state", "closed_at", "updated_at"))
    assert client.get(URL).status_code == 200
    assert client.post(URL, {"state": "completed"}).status_code == 405
    assert list(CrossTransfer.objects.order_by("pk").values_list("pk", "state", "closed_at", "updated_at")) == before


def test_the_transfer_list_and_an_applications_page_link_to_it(world, rows, login):
    client = login(world["a1"].operator)
    link = f'href="{URL}" data-testid="remote-closed-link"'
    assert link in client.get("/transfers/").content.decode()
    assert link in client.get(f"/transfers/remote/{rows['refused'].pk}/").content.decode()


def test_someone_not_logged_in_is_sent_to_log_in(client, rows):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [390, 1366])
def test_the_page_in_a_browser_fits_the_width_and_filters(world, page, browser_login, width):
    from tests.portal.test_layout import OVERFLOW

    cross_row(world, name="黄小梅", closed_days=3)
    cross_row(world, state=State.REFUSED, name="黄小刚", reason="学位已满")
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(world["a1"].operator)
    page.goto("/transfers/")
    page.click("[data-testid=remote-closed-link]")
    page.wait_for_selector("[data-testid=remote-closed-table]")
    assert page.locator("[data-testid=remote-closed-row]").count() == 2
    found = page.evaluate(OVERFLOW)
    assert found["scroll"] <= found["width"], found
    page.select_option("[data-testid=closed-state]", "refused")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**state=refused**")
    assert page.locator("[data-testid=remote-closed-row]").count() == 1
    assert "学位已满" in page.inner_text("[data-testid=remote-closed-table]")
    page.click("text=黄小刚")
    page.wait_for_selector("[data-testid=state][data-state=refused]")
