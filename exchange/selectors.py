"""What the exchange page shows: messages by state, refusals, questions (province staff)."""

from __future__ import annotations

from exchange.models import InboxMessage, InboxRefusal, OutboxMessage, Peer, PeerQuery
from exchange.services import require_exchange_staff

LIMIT = 200


def exchange_overview(user, *, state: str = "") -> dict:
    require_exchange_staff(user)
    outbox = OutboxMessage.objects.select_related("peer").order_by("-id")
    if state in OutboxMessage.State.values:
        outbox = outbox.filter(state=state)
    counts = {choice: OutboxMessage.objects.filter(state=choice).count() for choice in OutboxMessage.State.values}
    return {
        "peers": list(Peer.objects.order_by("name")),
        "outbox": list(outbox[:LIMIT]),
        "counts": counts,
        "inbox": list(InboxMessage.objects.select_related("peer").order_by("-id")[:LIMIT]),
        "refusals": list(InboxRefusal.objects.all()[:LIMIT]),
        "queries": list(PeerQuery.objects.select_related("peer", "user").all()[:LIMIT]),
    }
