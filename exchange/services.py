"""Sending, delivering, receiving and asking: the rules of the exchange in one place.

- ``message_send`` writes an outbox row in the caller's transaction (the business change
  and its message commit together, or neither) and queues delivery on commit;
- ``outbox_flush`` delivers a peer's waiting messages in the order they were written,
  stopping at the first that cannot be delivered (it waits, with exponential backoff, and
  is dead after ``EXCHANGE_MAX_ATTEMPTS``); a refusal by the peer is final and kept with
  its code and reason for the sender's page, and its type's ``refused`` handler runs in
  the same transaction (``protocol.register_message``);
- ``envelope_receive`` checks an incoming message (shape, recipient, sender, signature,
  type, body), applies it once in the transaction of its inbox row, and answers; every
  message turned away is logged (``InboxRefusal``);
- ``query_ask`` / ``query_answer``: questions answered at once, within a short timeout,
  recorded on both sides (``PeerQuery``);
- ``message_retry``: staff send a dead or refused message again.

Error codes: ``invalid_envelope``, ``wrong_recipient``, ``unknown_peer``, ``bad_signature``,
``unknown_type``, ``invalid_message``, ``message_replayed``, ``peer_unreachable``,
``peer_unknown_province``, ``message_not_retryable``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from pydantic import ValidationError as SchemaError

from accounts.audit import acting_as
from accounts.permissions import require_role
from exchange import protocol, signing, transport
from exchange.models import InboxMessage, InboxRefusal, OutboxMessage, Peer, PeerQuery
from kernel.errors import BusinessRefused, Conflict, Forbidden, NotFound, RegistryError, ValidationFailed

log = logging.getLogger(__name__)
State = OutboxMessage.State


class BadSignature(RegistryError):
    status = 401
    default_code = "bad_signature"


# --- peers -----------------------------------------------------------------------------

def peer_for(province: str) -> Peer | None:
    """The active peer serving a province (by its first two digits), if any."""
    return Peer.objects.filter(active=True, provinces__contains=[province[:2]]).first()


def is_own_province(code: str) -> bool:
    return code[:2] in settings.EXCHANGE_PROVINCES


def peers_active():
    return Peer.objects.filter(active=True).order_by("name")


# --- sending ---------------------------------------------------------------------------

def message_send(*, type: str, province: str, body: dict) -> OutboxMessage:
    """Write a message to the registry of ``province`` into the outbox, in the caller's
    transaction; it is delivered once that transaction commits."""
    kind = protocol.message_type(type)
    if kind is None or kind.is_query:
        raise ValueError(f"not a registered message type: {type}")
    peer = peer_for(province)
    if peer is None:
        raise BusinessRefused(_("没有服务于省份 %(code)s 的对端学籍系统") % {"code": province[:2]},
                              code="peer_unknown_province")
    envelope = protocol.envelope_new(type=type, recipient=province[:2], body=protocol.body_valid(kind, body))
    message = OutboxMessage.objects.create(message_id=envelope["id"], peer=peer, type=type, envelope=envelope)
    transaction.on_commit(lambda: _queue_flush(peer.pk))
    return message


#: A flush already queued for a peer (in the shared cache): another message committed before
#: it starts is delivered by it, so it is not queued again (one task, not one per message).
FLUSH_QUEUED_KEY = "exchange:flush-queued:{peer_id}"


def _queue_flush(peer_id: int, *, countdown: float = 0) -> None:
    from django.core.cache import cache

    from exchange.tasks import outbox_flush_task

    if not countdown and not cache.add(FLUSH_QUEUED_KEY.format(peer_id=peer_id), 1, timeout=300):
        return
    outbox_flush_task.apply_async((peer_id,), countdown=countdown)


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed delivery: base × 2^(attempts−1), capped."""
    seconds = settings.EXCHANGE_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.EXCHANGE_BACKOFF_MAX_SECONDS))


#: At most this many messages, and about this many bytes of envelopes (the first message
#: always goes), in one request to ``transport.BATCH_PATH``; the receiver takes up to
#: ``BATCH_RECEIVE_MAX``. One request is one delivery attempt (``EXCHANGE_DELIVERY_TIMEOUT``).
BATCH_MESSAGES = 25
BATCH_BYTES = 4 * 1024 * 1024
BATCH_RECEIVE_MAX = 100
#: When another worker holds the peer's queue, look again this many seconds later (a
#: message committed while that flush was ending is not left for the periodic re-kick).
BUSY_RETRY_SECONDS = 1.0


@dataclass
class FlushResult:
    delivered: int = 0
    refused: int = 0
    dead: int = 0
    retry_in: float | None = None  # seconds until the next attempt, when this flush failed one
    requests: int = 0


def outbox_flush(peer_id: int) -> FlushResult:
    """Deliver the peer's waiting messages in order (one flusher per peer at a time), several
    in one request (``_deliver_batch``)."""
    from django.core.cache import cache

    result = FlushResult()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [0x45584348, peer_id])
        if not cursor.fetchone()[0]:
            result.retry_in = BUSY_RETRY_SECONDS  # another worker delivers this peer's queue right now
            return result
    cache.delete(FLUSH_QUEUED_KEY.format(peer_id=peer_id))  # a message committed from now queues again
    try:
        peer = Peer.objects.get(pk=peer_id)
        while True:
            batch = _batch_due(peer)
            if not batch:
                # Nothing waiting, or the first is not due: the flush that failed it has queued
                # the next attempt (and beat re-kicks due queues every minute).
                return result
            outcomes = _deliver_batch(peer, batch, result)
            for outcome in outcomes:
                if outcome != State.WAITING:
                    setattr(result, outcome, getattr(result, outcome) + 1)
            if outcomes and outcomes[-1] == State.WAITING:
                failed = batch[len(outcomes) - 1]
                result.retry_in = (failed.next_attempt_at - timezone.now()).total_seconds()
                return result
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [0x45584348, peer_id])


def _batch_due(peer: Peer) -> list[OutboxMessage]:
    """The first waiting messages in order, up to the first one not due, within the batch's bounds."""
    now = timezone.now()
    batch, size = [], 0
    for message in OutboxMessage.objects.filter(peer=peer, state=State.WAITING).order_by("id")[:BATCH_MESSAGES]:
        if message.next_attempt_at > now:
            break
        size += len(json.dumps(message.envelope, ensure_ascii=False).encode("utf-8"))
        if batch and size > BATCH_BYTES:
            break
        batch.append(message)
    return batch


def _deliver_batch(peer: Peer, batch: list[OutboxMessage], result: FlushResult) -> list[str]:
    """POST the batch; the outcome of each message in order, ending at the first that waits.
    A peer without the batch endpoint (or refusing the batch as a whole) gets them one by one."""
    result.requests += 1
    reply = transport.post(peer.base_url, transport.BATCH_PATH, {"messages": [m.envelope for m in batch]},
                           timeout=settings.EXCHANGE_DELIVERY_TIMEOUT)
    if not _transient(reply):
        answers = reply.body.get("results") if 200 <= reply.status < 300 else None
        if not _answers_valid(answers, batch):
            return _deliver_each(peer, batch, result)
        outcomes, delivered = [], []
        for message, answer in zip(batch, answers):
            single = transport.Reply(int(answer["status"]), answer.get("body") or {})
            message.attempts += 1
            if _is_delivered(single):
                delivered.append(message)
                outcomes.append(State.DELIVERED)
                continue
            outcomes.append(_settle_reply(peer, message, single))
            if outcomes[-1] == State.WAITING:
                break
        OutboxMessage.objects.filter(pk__in=[m.pk for m in delivered]).update(
            state=State.DELIVERED, attempts=models.F("attempts") + 1, delivered_at=timezone.now(),
            refusal_code="", refusal_message="")
        return outcomes
    batch[0].attempts += 1
    return [_settle_reply(peer, batch[0], reply)]


def _answers_valid(answers: Any, batch: list[OutboxMessage]) -> bool:
    return (isinstance(answers, list) and 0 < len(answers) <= len(batch)
            and all(isinstance(a, dict) and str(a.get("id")) == str(m.message_id)
                    and isinstance(a.get("status"), int) for a, m in zip(answers, batch)))


def _deliver_each(peer: Peer, batch: list[OutboxMessage], result: FlushResult) -> list[str]:
    outcomes = []
    for message in batch:
        outcomes.append(_deliver(peer, message))
        result.requests += 1
        if outcomes[-1] == State.WAITING:
            break
    return outcomes


def _deliver(peer: Peer, message: OutboxMessage) -> str:
    reply = transport.post(peer.base_url, transport.MESSAGES_PATH, message.envelope,
                           timeout=settings.EXCHANGE_DELIVERY_TIMEOUT)
    message.attempts += 1
    return _settle_reply(peer, message, reply)


def _transient(reply: transport.Reply) -> bool:
    """The peer could not take it now: no answer, 5xx, 408, 425, 429 (try again later)."""
    return not reply.reached or reply.status >= 500 or reply.status in (408, 425, 429)


def _is_delivered(reply: transport.Reply) -> bool:
    replayed = reply.status == 409 and str(reply.body.get("code", "")) == "message_replayed"
    if replayed:
        return (reply.body.get("details") or {}).get("first_outcome") == InboxMessage.State.APPLIED
    return 200 <= reply.status < 300


def _settle_reply(peer: Peer, message: OutboxMessage, reply: transport.Reply) -> str:
    """The message settled by the peer's answer to it (its ``attempts`` already counted)."""
    code = str(reply.body.get("code", ""))
    if _is_delivered(reply):
        return _settle(message, State.DELIVERED)
    if reply.status == 409 and code == "message_replayed":
        first = (reply.body.get("details") or {})
        return _settle(message, State.REFUSED, code=str(first.get("refusal_code") or code),
                       reason=str(first.get("refusal_message") or reply.body.get("message", "")))
    if not _transient(reply):
        return _settle(message, State.REFUSED, code=code or f"http_{reply.status}",
                       reason=str(reply.body.get("message", reply.error)))
    message.last_error = (reply.error or f"HTTP {reply.status}")[:500]
    if message.attempts >= settings.EXCHANGE_MAX_ATTEMPTS:
        return _settle(message, State.DEAD)
    message.next_attempt_at = timezone.now() + backoff(message.attempts)
    message.save(update_fields=["attempts", "last_error", "next_attempt_at"])
    log.warning("exchange: %s to %s not delivered (attempt %s): %s", message.message_id, peer.name,
                message.attempts, message.last_error)
    return State.WAITING


def _settle(message: OutboxMessage, state: str, *, code: str = "", reason: str = "") -> str:
    message.state = state
    message.refusal_code, message.refusal_message = code[:64], reason[:500]
    if state == State.DELIVERED:
        message.delivered_at = timezone.now()
    with transaction.atomic():
        message.save(update_fields=["state", "attempts", "last_error", "refusal_code", "refusal_message",
                                    "delivered_at"])
        if state == State.REFUSED:
            _refused(message)
    if state != State.DELIVERED:
        log.warning("exchange: %s %s: %s %s", message.message_id, state, code, reason)
    return state


def _refused(message: OutboxMessage) -> None:
    """The peer refused the message: its type's sender-side handler closes what waited for it."""
    kind = protocol.message_type(message.type)
    if kind is None or kind.refused is None:
        return
    with acting_as(None, task=f"exchange:{message.type}:refused", peer=message.peer.name,
                   message_id=str(message.message_id)):
        kind.refused(message.envelope["body"], message.envelope, message.refusal_code, message.refusal_message)


def outbox_due_peers() -> list[int]:
    """Peers with a message waiting whose next attempt is due (for the periodic re-kick)."""
    return list(OutboxMessage.objects.filter(state=State.WAITING, next_attempt_at__lte=timezone.now())
                .values_list("peer_id", flat=True).distinct())


def message_retry(*, user, message_id: int) -> OutboxMessage:
    """Send a dead or refused message again (province staff of this registry)."""
    require_exchange_staff(user)
    with transaction.atomic(), acting_as(user):
        message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None:
            raise NotFound(_("消息不存在"), code="not_found")
        if message.state not in (State.DEAD, State.REFUSED):
            raise Conflict(_("只有发送失败或被拒收的消息可以重新发送"), code="message_not_retryable")
        message.state, message.attempts, message.next_attempt_at = State.WAITING, 0, timezone.now()
        message.refusal_code = message.refusal_message = message.last_error = ""
        message.save()
        transaction.on_commit(lambda: _queue_flush(message.peer_id))
    return message


def peer_echo(*, user, peer_id: int) -> PeerAnswer:
    """Test the link to a peer (``exchange.echo``): the answer, or why there is none."""
    require_exchange_staff(user)
    peer = Peer.objects.filter(pk=peer_id).first()
    if peer is None:
        raise NotFound(_("对端不存在"), code="not_found")
    [answer] = query_ask(user=user, type="exchange.echo", body={"note": "echo"}, peers=[peer])
    return answer


def is_exchange_staff(user) -> bool:
    """Whether the menu offers the exchange page: province staff, once a peer is configured."""
    if not Peer.objects.exists():
        return False
    try:
        require_exchange_staff(user)
    except RegistryError:
        return False
    return True


def require_exchange_staff(user):
    """Province-level staff of one of the provinces this registry serves."""
    membership = require_role(user, "operator", "approver", "admin", "viewer", "auditor")
    if membership.level != "province" or not is_own_province(membership.division_id or ""):
        raise Forbidden(_("只有本省的省级用户可以查看省际交换"), code="province_only")
    return membership


# --- receiving -------------------------------------------------------------------------

def _refuse(envelope: Any, exc: RegistryError, remote_address: str) -> RegistryError:
    shape = envelope if isinstance(envelope, dict) else {}
    InboxRefusal.objects.create(
        message_id=str(shape.get("id", ""))[:64], sender=str(shape.get("sender", ""))[:8],
        type=str(shape.get("type", ""))[:64], code=exc.code, reason=str(exc.message)[:500],
        remote_address=remote_address[:64],
    )
    log.warning("exchange: refused %s from %s: %s", shape.get("id"), remote_address, exc.code)
    return exc


def envelope_check(envelope: Any, *, query: bool, remote_address: str = "", peers: dict | None = None):
    """(peer, kind, body) of a well-formed, signed message to us; refuses (and logs) anything else.
    ``peers`` caches the peer of each sender over the messages of one batch."""
    try:
        if not isinstance(envelope, dict):
            raise ValidationFailed(_("消息不是 JSON 对象"), code="invalid_envelope")
        try:
            protocol.EnvelopeSchema.model_validate(envelope)
        except SchemaError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first.get("loc", ()))
            raise ValidationFailed(_("消息信封格式有误：%(where)s %(what)s") % {"where": where, "what": first["msg"]},
                                   code="invalid_envelope", field=where) from exc
        if not is_own_province(envelope["recipient"]):
            raise ValidationFailed(_("本系统不服务于收件省份 %(code)s") % {"code": envelope["recipient"]},
                                   code="wrong_recipient", field="recipient")
        sender = envelope["sender"]
        peer = peers[sender] if peers is not None and sender in peers else peer_for(sender)
        if peers is not None:
            peers[sender] = peer
        if peer is None:
            raise Forbidden(_("发件省份 %(code)s 不是已登记的对端") % {"code": envelope["sender"]},
                            code="unknown_peer", field="sender")
        if not signing.verify(envelope, peer.public_key):
            raise BadSignature(_("消息签名无效"), field="signature")
        kind = protocol.message_type(envelope["type"])
        if kind is None or kind.is_query != query:
            raise ValidationFailed(_("未知的消息类型 %(type)s") % {"type": envelope["type"]},
                                   code="unknown_type", field="type")
        body = protocol.body_valid(kind, envelope["body"])
    except RegistryError as exc:
        raise _refuse(envelope, exc, remote_address) from None
    return peer, kind, body


def envelope_receive(envelope: Any, *, remote_address: str = "", peers: dict | None = None) -> dict:
    """Apply a message once. Returns the answer body (status 202); raises a ``RegistryError``
    for a refusal (a replay answers ``message_replayed`` 409 with the first outcome)."""
    peer, kind, body = envelope_check(envelope, query=False, remote_address=remote_address, peers=peers)
    first = InboxMessage.objects.filter(message_id=envelope["id"]).first()
    if first is None:
        try:
            with transaction.atomic(), acting_as(None, task=f"exchange:{kind.name}", peer=peer.name,
                                                 message_id=envelope["id"]):
                InboxMessage.objects.create(message_id=envelope["id"], peer=peer, type=kind.name, envelope=envelope,
                                            state=InboxMessage.State.APPLIED)
                kind.apply(body, envelope, peer)
            return {"status": "applied", "id": envelope["id"]}
        except IntegrityError as exc:
            if "message_id" not in str(exc):
                raise
            first = InboxMessage.objects.filter(message_id=envelope["id"]).first()
        except RegistryError as exc:
            InboxMessage.objects.create(message_id=envelope["id"], peer=peer, type=kind.name, envelope=envelope,
                                        state=InboxMessage.State.REFUSED, refusal_code=exc.code,
                                        refusal_message=str(exc.message)[:500])
            raise
    raise _refuse(envelope, Conflict(
        _("该消息已收到过（重放），不再处理"), code="message_replayed", field="id",
        details={"first_outcome": first.state, "refusal_code": first.refusal_code,
                 "refusal_message": first.refusal_message},
    ), remote_address)


class InvalidBatch(ValidationFailed):
    default_code = "invalid_batch"


def envelopes_receive(payload: Any, *, remote_address: str = "") -> dict:
    """Apply a batch of messages in their order, each as ``envelope_receive`` would (its own
    savepoint: applied wholly or not at all), committed together: ``{"results": [{"id",
    "status", "body"}, …]}``, each the status and body the single endpoint would answer.
    An unexpected error stops the batch there (status 500, nothing of that message kept);
    the messages after it are not answered, and the sender sends them again."""
    messages = payload.get("messages") if isinstance(payload, dict) else None
    if not isinstance(messages, list) or not 1 <= len(messages) <= BATCH_RECEIVE_MAX or set(payload) != {"messages"}:
        raise InvalidBatch(_("批量消息应为 {\"messages\": [信封, …]}，含 1 到 %(max)s 条")
                           % {"max": BATCH_RECEIVE_MAX}, field="messages")
    results, peers = [], {}
    with transaction.atomic():
        for envelope in messages:
            message_id = str(envelope.get("id", ""))[:64] if isinstance(envelope, dict) else ""
            try:
                with transaction.atomic():
                    try:
                        answer = (202, envelope_receive(envelope, remote_address=remote_address, peers=peers))
                    except RegistryError as exc:
                        answer = (exc.status, exc.as_dict())
            except Exception:
                log.exception("exchange: batch message %s from %s failed", message_id, remote_address)
                results.append({"id": message_id, "status": 500, "body": {"code": "server_error"}})
                break
            results.append({"id": message_id, "status": answer[0], "body": answer[1]})
    return {"results": results}


# --- questions -------------------------------------------------------------------------

@dataclass
class PeerAnswer:
    peer: Peer
    outcome: str
    answer: dict | None = None
    error: str = ""


def query_ask(*, user, type: str, body: dict, peers=None, held=lambda answer: bool(answer)) -> list[PeerAnswer]:
    """Ask each active peer (or ``peers``) a question, all at once, within
    ``EXCHANGE_QUERY_TIMEOUT`` seconds; every question and answer is recorded (``PeerQuery``, 本省询问).
    ``held(answer)`` says whether an answer is a finding (for the record's outcome)."""
    kind = protocol.message_type(type)
    if kind is None or not kind.is_query:
        raise ValueError(f"not a registered query type: {type}")
    body = protocol.body_valid(kind, body)
    peers = list(peers if peers is not None else peers_active())
    envelopes = [protocol.envelope_new(type=type, recipient=peer.provinces[0], body=body) for peer in peers]

    def asked(pair):
        peer, envelope = pair
        return transport.post(peer.base_url, transport.QUERIES_PATH, envelope, timeout=settings.EXCHANGE_QUERY_TIMEOUT)

    # All peers at once: the wait is one timeout, however many peers (the HTTP only, no database).
    with ThreadPoolExecutor(max_workers=min(len(peers), 8) or 1) as pool:
        replies = list(pool.map(asked, zip(peers, envelopes)))
    answers = []
    for peer, envelope, reply in zip(peers, envelopes, replies):
        answer = _answer_of(peer, kind, envelope, reply)
        answers.append(answer)
        with acting_as(user):
            PeerQuery.objects.create(
                direction=PeerQuery.Direction.ASKED, peer=peer, message_id=envelope["id"], type=type,
                question=body, answer=answer.answer, user=user if getattr(user, "pk", None) else None,
                outcome=(answer.outcome if answer.outcome not in ("held", "not_held")
                         else ("held" if held(answer.answer) else "not_held")),
            )
    return answers


def _answer_of(peer: Peer, kind, envelope: dict, reply: transport.Reply) -> PeerAnswer:
    if not reply.reached or reply.status >= 500:
        return PeerAnswer(peer, PeerQuery.Outcome.UNREACHABLE, error=reply.error or f"HTTP {reply.status}")
    if reply.status != 200:
        return PeerAnswer(peer, PeerQuery.Outcome.REFUSED, error=str(reply.body.get("code", reply.status)))
    signed = reply.body
    good = (isinstance(signed, dict) and signing.verify(signed, peer.public_key)
            and signed.get("type") == f"{kind.name}.answer" and signed.get("body", {}).get("question") == envelope["id"]
            and signed.get("sender") in peer.provinces)
    if not good:
        log.warning("exchange: bad answer from %s to %s", peer.name, envelope["id"])
        return PeerAnswer(peer, PeerQuery.Outcome.REFUSED, error="bad_signature")
    try:
        answer = protocol.body_valid(kind, signed["body"].get("answer") or {}, schema=kind.answer_schema)
    except ValidationFailed as exc:
        return PeerAnswer(peer, PeerQuery.Outcome.REFUSED, error=exc.code)
    return PeerAnswer(peer, PeerQuery.Outcome.HELD, answer=answer)


def query_answer(envelope: Any, *, remote_address: str = "") -> dict:
    """Answer a peer's question: the signed answer envelope, recorded (外省询问)."""
    peer, kind, body = envelope_check(envelope, query=True, remote_address=remote_address)
    try:
        with transaction.atomic(), acting_as(None, task=f"exchange:{kind.name}", peer=peer.name,
                                             message_id=envelope["id"]):
            answer = protocol.body_valid(kind, kind.answer(body, envelope, peer), schema=kind.answer_schema)
            PeerQuery.objects.create(
                direction=PeerQuery.Direction.ANSWERED, peer=peer, message_id=envelope["id"], type=kind.name,
                question=body, answer=answer,
                outcome=PeerQuery.Outcome.HELD if answer.get("held", True) else PeerQuery.Outcome.NOT_HELD,
            )
    except IntegrityError:
        raise _refuse(envelope, Conflict(_("该消息已收到过（重放），不再处理"), code="message_replayed",
                                         field="id"), remote_address) from None
    return protocol.envelope_new(type=f"{kind.name}.answer", recipient=envelope["sender"],
                                 body={"question": envelope["id"], "answer": answer})
