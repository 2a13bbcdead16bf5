"""An exchange world: this registry serves province 44 with its own key; one peer serves 45
with a key the tests hold, so they can sign messages as that peer (or fail to)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from exchange import protocol, services, signing, transport
from exchange.models import Peer


@dataclass
class PeerWorld:
    peer: Peer
    peer_key: object  # the peer's Ed25519 private key

    def envelope(self, type: str, body: dict, *, sender: str = "45", recipient: str = "44", key=None) -> dict:
        """A message signed as the peer (or with ``key``)."""
        envelope = {"id": protocol.uuid.uuid4().hex, "type": type, "sender": sender, "recipient": recipient,
                    "sent_at": "2026-12-02T04:00:00.000Z", "body": body}
        envelope["id"] = str(protocol.uuid.UUID(envelope["id"]))
        envelope["signature"] = signing.sign(envelope, key=key or self.peer_key)
        return envelope


@pytest.fixture
def own_key(settings):
    private, _public = signing.key_generate()
    settings.EXCHANGE_PRIVATE_KEY = private
    settings.EXCHANGE_PRIVATE_KEY_FILE = ""
    settings.EXCHANGE_PROVINCES = ["44"]
    settings.EXCHANGE_BACKOFF_SECONDS = 2
    settings.EXCHANGE_MAX_ATTEMPTS = 3
    signing.own_key.cache_clear()
    yield private
    signing.own_key.cache_clear()


@pytest.fixture
def peer_world(db, own_key) -> PeerWorld:
    private, public = signing.key_generate()
    peer = Peer.objects.create(name="广西", provinces=["45"], base_url="http://127.0.0.1:9", public_key=public)
    return PeerWorld(peer=peer, peer_key=signing.private_key_of(private))


@pytest.fixture
def replies(monkeypatch):
    """The peer's answers to each message, in order; every message sent is recorded. The
    peer takes batches (``requests`` records each request's path and its messages): a
    message it cannot take now ends the batch there, as the real endpoint does."""
    sent: list[dict] = []
    queue: list[transport.Reply] = []
    requests: list[tuple[str, int]] = []

    def answer(envelope) -> transport.Reply:
        sent.append(envelope)
        return queue.pop(0) if queue else transport.Reply(202, {"status": "applied"})

    def post(base_url, path, payload, *, timeout):
        if path == transport.MESSAGES_PATH:
            requests.append((path, 1))
            return answer(payload)
        results = []
        for envelope in payload["messages"]:
            reply = answer(envelope)
            if not reply.reached and not results:
                requests.append((path, 1))
                return reply  # the peer is down: the batch as a whole fails
            results.append({"id": envelope["id"], "status": reply.status or 503, "body": reply.body})
            if reply.status == 0 or reply.status >= 500:
                break
        requests.append((path, len(results)))
        return transport.Reply(200, {"results": results})

    monkeypatch.setattr(transport, "post", post)
    monkeypatch.setattr(services, "_queue_flush", lambda peer_id, countdown=0: None)
    post.requests = requests
    return sent, queue
