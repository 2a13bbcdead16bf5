"""The outbox: written in the business transaction, delivered in order with exponential
backoff, dead after the last attempt, refusals kept for the sender's page, retry by staff."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from exchange import services, transport
from exchange.models import OutboxMessage


def test_the_message_is_written_with_the_business_change_or_not_at_all(peer_world, replies):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.message_send(type="exchange.ping", province="450102", body={"note": "一"})
        raise RuntimeError("the business change failed")
    assert not OutboxMessage.objects.exists()
    message = services.message_send(type="exchange.ping", province="450102", body={"note": "一"})
    assert message.envelope["recipient"] == "45" and message.envelope["sender"] == "44"
    assert message.state == "waiting"


def test_no_peer_for_the_province_is_refused(peer_world):
    from kernel.errors import BusinessRefused

    with pytest.raises(BusinessRefused) as refused:
        services.message_send(type="exchange.ping", province="46", body={})
    assert refused.value.code == "peer_unknown_province"


def test_messages_wait_in_order_with_backoff_and_deliver_when_the_peer_is_back(peer_world, replies):
    sent, queue = replies
    first = services.message_send(type="exchange.ping", province="45", body={"note": "一"})
    second = services.message_send(type="exchange.ping", province="45", body={"note": "二"})
    queue.append(transport.Reply(0, {}, error="connection refused"))
    result = services.outbox_flush(peer_world.peer.pk)
    first.refresh_from_db()
    assert (first.state, first.attempts, first.last_error) == ("waiting", 1, "connection refused")
    assert result.retry_in == pytest.approx(2, abs=0.5)
    assert [e["body"]["note"] for e in sent] == ["一"]  # the second waits behind the first
    assert services.outbox_flush(peer_world.peer.pk).delivered == 0  # not due yet

    OutboxMessage.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())
    queue.append(transport.Reply(503, {}, error="HTTP 503"))
    services.outbox_flush(peer_world.peer.pk)
    first.refresh_from_db()
    assert first.attempts == 2
    assert first.next_attempt_at - timezone.now() > dt.timedelta(seconds=3)  # 2 s, then 4 s

    OutboxMessage.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())
    assert services.outbox_flush(peer_world.peer.pk).delivered == 2
    assert [e["body"]["note"] for e in sent] == ["一", "一", "一", "二"]
    first.refresh_from_db(), second.refresh_from_db()
    assert first.state == second.state == "delivered"


def test_a_message_is_dead_after_the_last_attempt_and_the_next_goes_on(peer_world, replies, settings):
    sent, queue = replies
    dead = services.message_send(type="exchange.ping", province="45", body={"note": "一"})
    services.message_send(type="exchange.ping", province="45", body={"note": "二"})
    for _attempt in range(settings.EXCHANGE_MAX_ATTEMPTS):
        queue.append(transport.Reply(0, {}, error="timed out"))
        OutboxMessage.objects.filter(pk=dead.pk).update(next_attempt_at=timezone.now())
        services.outbox_flush(peer_world.peer.pk)
    dead.refresh_from_db()
    assert (dead.state, dead.attempts) == ("dead", 3)
    assert OutboxMessage.objects.filter(state="delivered").count() == 1


def test_a_refusal_by_the_peer_is_final_with_its_code_and_reason(peer_world, replies):
    _sent, queue = replies
    message = services.message_send(type="exchange.ping", province="45", body={})
    queue.append(transport.Reply(422, {"code": "pupil_changed", "message": "学生已变更"}))
    services.outbox_flush(peer_world.peer.pk)
    message.refresh_from_db()
    assert (message.state, message.refusal_code, message.refusal_message) == ("refused", "pupil_changed", "学生已变更")


def test_a_replay_answer_settles_as_the_first_outcome(peer_world, replies):
    _sent, queue = replies
    message = services.message_send(type="exchange.ping", province="45", body={})
    queue.append(transport.Reply(409, {"code": "message_replayed", "details": {"first_outcome": "applied"}}))
    services.outbox_flush(peer_world.peer.pk)
    message.refresh_from_db()
    assert message.state == "delivered"


def test_staff_retry_a_dead_message_and_others_may_not(peer_world, replies, world):
    from kernel.errors import Forbidden

    message = services.message_send(type="exchange.ping", province="45", body={})
    OutboxMessage.objects.filter(pk=message.pk).update(state="dead", attempts=3)
    with pytest.raises(Forbidden):
        services.message_retry(user=world["county_a"].approver, message_id=message.pk)
    with pytest.raises(Forbidden):
        services.message_retry(user=world["other_province"].admin, message_id=message.pk)
    services.message_retry(user=world["province"].operator, message_id=message.pk)
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("waiting", 0)
    from kernel.errors import Conflict

    with pytest.raises(Conflict):
        services.message_retry(user=world["province"].operator, message_id=message.pk)


def test_the_backoff_doubles_up_to_its_cap(settings):
    settings.EXCHANGE_BACKOFF_SECONDS, settings.EXCHANGE_BACKOFF_MAX_SECONDS = 2, 60
    assert [services.backoff(n).total_seconds() for n in (1, 2, 3, 6, 20)] == [2, 4, 8, 60, 60]


def test_only_the_flush_that_failed_a_message_queues_the_next_attempt(peer_world, replies):
    """Many flushes queued while the peer is down collapse into one retry loop."""
    _sent, queue = replies
    services.message_send(type="exchange.ping", province="45", body={})
    queue.append(transport.Reply(0, {}, error="connection refused"))
    assert services.outbox_flush(peer_world.peer.pk).retry_in is not None
    assert services.outbox_flush(peer_world.peer.pk).retry_in is None  # not due: nothing more queued


def test_waiting_messages_go_in_one_request_and_each_is_settled_by_its_own_answer(peer_world, replies):
    sent, queue = replies
    messages = [services.message_send(type="exchange.ping", province="45", body={"note": str(n)}) for n in range(4)]
    queue.extend([transport.Reply(202, {"status": "applied"}),
                  transport.Reply(422, {"code": "pupil_changed", "message": "学生已变更"}),
                  transport.Reply(409, {"code": "message_replayed", "details": {"first_outcome": "applied"}})])
    result = services.outbox_flush(peer_world.peer.pk)
    assert (result.delivered, result.refused, result.requests) == (3, 1, 1)
    assert transport.post.requests == [(transport.BATCH_PATH, 4)]
    states = [(m.state, m.attempts, m.refusal_code) for m in OutboxMessage.objects.order_by("id")]
    assert states == [("delivered", 1, ""), ("refused", 1, "pupil_changed"), ("delivered", 1, ""),
                      ("delivered", 1, "")]
    assert [e["id"] for e in sent] == [m.envelope["id"] for m in messages]


def test_a_message_the_peer_cannot_take_now_stops_the_batch_there_with_its_backoff(peer_world, replies):
    sent, queue = replies
    for n in range(3):
        services.message_send(type="exchange.ping", province="45", body={"note": str(n)})
    queue.extend([transport.Reply(202, {}), transport.Reply(503, {"code": "server_error"})])
    result = services.outbox_flush(peer_world.peer.pk)
    assert result.delivered == 1 and result.retry_in == pytest.approx(2, abs=0.5)
    states = [(m.state, m.attempts) for m in OutboxMessage.objects.order_by("id")]
    assert states == [("delivered", 1), ("waiting", 1), ("waiting", 0)]
    assert [e["body"]["note"] for e in sent] == ["0", "1"]  # the third is not sent before the second


def test_a_batch_is_bounded_by_its_number_of_messages(peer_world, replies, monkeypatch):
    monkeypatch.setattr(services, "BATCH_MESSAGES", 2)
    for n in range(5):
        services.message_send(type="exchange.ping", province="45", body={"note": str(n)})
    assert services.outbox_flush(peer_world.peer.pk).requests == 3
    assert [n for _path, n in transport.post.requests] == [2, 2, 1]


def test_a_peer_without_the_batch_endpoint_gets_the_messages_one_by_one(peer_world, replies, monkeypatch):
    sent = []

    def post(base_url, path, payload, *, timeout):
        if path == transport.BATCH_PATH:
            return transport.Reply(404, {"detail": "Not Found"}, error="HTTP 404")
        sent.append(payload["body"]["note"])
        return transport.Reply(202, {"status": "applied"})

    monkeypatch.setattr(transport, "post", post)
    for n in range(3):
        services.message_send(type="exchange.ping", province="45", body={"note": str(n)})
    result = services.outbox_flush(peer_world.peer.pk)
    assert (result.delivered, result.requests, sent) == (3, 4, ["0", "1", "2"])


def test_a_flush_is_queued_once_until_it_starts(peer_world, monkeypatch):
    from django.core.cache import cache

    from exchange import tasks

    queued = []
    monkeypatch.setattr(tasks.outbox_flush_task, "apply_async", lambda args, countdown=0: queued.append(args))
    monkeypatch.setattr(transport, "post", lambda *a, **k: transport.Reply(200, {"results": []}))
    cache.delete(services.FLUSH_QUEUED_KEY.format(peer_id=peer_world.peer.pk))
    services._queue_flush(peer_world.peer.pk)
    services._queue_flush(peer_world.peer.pk)
    assert queued == [(peer_world.peer.pk,)]
    services.outbox_flush(peer_world.peer.pk)  # started: a message committed from now queues again
    services._queue_flush(peer_world.peer.pk)
    assert queued == [(peer_world.peer.pk,)] * 2
    cache.delete(services.FLUSH_QUEUED_KEY.format(peer_id=peer_world.peer.pk))
