"""跨省转学 across two registries: an application the origin refuses on arrival
(``ref_invalid``, ``pupil_changed``, ``open_business``) travels back as the refusal of its
``transfer.applied`` message; the destination's row closes as refused with the origin's
reason (its page and its log), and the destination school may apply again."""

from __future__ import annotations

import pytest

from exchange import services, transport
from exchange.models import OutboxMessage
from tests.exchange.test_cross_chain import filed, open_items
from tests.exchange.test_cross_transfer import DEST, to_origin
from transfers.cross_registry import transfer_apply_remote


def refused_by_peer(queue, peer, code: str, message: str) -> None:
    queue.append(transport.Reply(422, {"code": code, "message": message}))
    services.outbox_flush(peer.pk)


@pytest.mark.parametrize("code", ["ref_invalid", "pupil_changed", "open_business"])
def test_a_refusal_on_arrival_closes_the_destination_row_with_the_origins_reason(peer_world, world, replies, code):
    _sent, queue = replies
    row = to_origin(world, filed(world))
    refused_by_peer(queue, peer_world.peer, code, "该学生的学籍信息在查询后已变更")
    message = OutboxMessage.objects.get(type="transfer.applied")
    assert (message.state, message.refusal_code) == ("refused", code)  # the exchange page shows it too
    row.refresh_from_db()
    assert (row.state, row.closed_at is not None, open_items(row)) == ("refused", True, [])
    assert row.closed_reason == "该学生的学籍信息在查询后已变更（广西学籍系统）"
    last = row.log.order_by("-at", "-pk").first()
    assert (last.action, last.to_state, last.actor_id, last.actor_name, last.reason) == (
        "refuse", "refused", None, "广西学籍系统", "该学生的学籍信息在查询后已变更")


def test_the_refusal_shows_on_the_destination_page(client, peer_world, world, replies):
    _sent, queue = replies
    row = to_origin(world, filed(world))
    refused_by_peer(queue, peer_world.peer, "pupil_changed", "该学生的学籍信息在查询后已变更")
    client.force_login(world["a1"].operator)
    text = client.get(f"/transfers/remote/{row.pk}/").content.decode()
    assert 'data-state="refused"' in text
    assert "该学生的学籍信息在查询后已变更（广西学籍系统）" in text  # 理由, and the 办理记录 entry
    assert 'data-testid="action-cancel"' not in text


def test_the_destination_school_applies_again_after_a_refusal(peer_world, world, replies):
    _sent, queue = replies
    first = to_origin(world, filed(world))
    refused_by_peer(queue, peer_world.peer, "open_business", "该学生已有正在办理的转学申请")
    again = to_origin(world, transfer_apply_remote(
        user=world["a1"].operator, ref="fresh", origin_school_code=DEST, pupil_name="黄小梅", dest_grade=3,
        dest_class_number=1, reason="随父母务工迁居"))
    services.outbox_flush(peer_world.peer.pk)  # delivered this time
    first.refresh_from_db()
    again.refresh_from_db()
    assert (first.state, again.state) == ("refused", "origin_school")
    assert list(OutboxMessage.objects.filter(type="transfer.applied").order_by("id").values_list("state", flat=True)) \
        == ["refused", "delivered"]


def test_a_fault_of_the_link_or_the_message_leaves_the_row_waiting(peer_world, world, replies):
    _sent, queue = replies
    row = to_origin(world, filed(world))
    queue.append(transport.Reply(401, {"code": "bad_signature", "message": "消息签名无效"}))
    services.outbox_flush(peer_world.peer.pk)
    assert OutboxMessage.objects.get(type="transfer.applied").state == "refused"
    row.refresh_from_db()
    assert (row.state, row.closed_reason) == ("origin_school", "")  # staff put it right and send it again


def test_a_row_cancelled_before_the_refusal_arrived_stays_cancelled(peer_world, world, replies):
    from transfers.cross_registry import transfer_cancel_remote

    _sent, queue = replies
    row = to_origin(world, filed(world))
    transfer_cancel_remote(user=world["a1"].operator, pk=row.pk, reason="家长改变主意")
    refused_by_peer(queue, peer_world.peer, "pupil_changed", "已变更")
    row.refresh_from_db()
    assert (row.state, row.closed_reason) == ("cancelled", "家长改变主意")
