"""The province's exchange page: messages by state with retry (POST), for province staff only."""

from __future__ import annotations

from exchange.models import InboxRefusal, OutboxMessage


def _message(peer_world, state):
    return OutboxMessage.objects.create(peer=peer_world.peer, type="exchange.ping", envelope={}, state=state,
                                        refusal_code="pupil_changed" if state == "refused" else "",
                                        refusal_message="学生已变更" if state == "refused" else "")


def test_province_staff_see_messages_by_state_and_refusals(peer_world, world, login):
    for state in ("waiting", "delivered", "refused", "dead"):
        _message(peer_world, state)
    InboxRefusal.objects.create(code="bad_signature", reason="消息签名无效", sender="45")
    client = login(world["province"].operator)
    page = client.get("/province/exchange/").content.decode()
    assert page.count('data-state="') == 4 and "学生已变更" in page and "消息签名无效" in page
    assert page.count('data-testid="retry"') == 2  # refused and dead
    dead_only = client.get("/province/exchange/?state=dead").content.decode()
    assert dead_only.count('data-state="') == 1


def test_retry_is_a_post_and_queues_the_message_again(peer_world, world, login, monkeypatch):
    from exchange import services

    monkeypatch.setattr(services, "_queue_flush", lambda peer_id, countdown=0: None)
    message = _message(peer_world, "dead")
    client = login(world["province"].operator)
    assert client.get(f"/province/exchange/{message.pk}/retry/").status_code == 405
    assert client.post(f"/province/exchange/{message.pk}/retry/").status_code == 302
    message.refresh_from_db()
    assert message.state == "waiting"


def test_schools_counties_and_other_provinces_may_not_see_the_page(peer_world, world, login):
    for unit in ("a1", "county_a", "other_province"):
        assert login(world[unit].operator if unit != "other_province" else world[unit].admin).get(
            "/province/exchange/").status_code == 403


def test_the_menu_offers_the_page_to_province_staff_once_a_peer_is_configured(world, login, peer_world):
    assert "/province/exchange/" in login(world["province"].operator).get("/").content.decode()
    assert "/province/exchange/" not in login(world["a1"].operator).get("/").content.decode()


def test_testing_the_link_to_a_peer_that_is_down_says_so(peer_world, world, login):
    from exchange.models import PeerQuery

    client = login(world["province"].operator)
    response = client.post(f"/province/exchange/peers/{peer_world.peer.pk}/echo/", follow=True)
    assert "无法连接广西学籍系统" in response.content.decode()  # nothing listens on port 9
    assert PeerQuery.objects.get().outcome == "unreachable"
    login(world["a1"].operator).post(f"/province/exchange/peers/{peer_world.peer.pk}/echo/")
    assert PeerQuery.objects.count() == 1  # a school may not
