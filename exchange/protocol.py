"""The message types between registries and who handles them.

Every message is an envelope (``docs/exchange.md``)::

    {"id": uuid, "type": str, "sender": "44", "recipient": "45",
     "sent_at": ISO 8601 UTC, "body": {...}, "signature": base64}

Its ``body`` has a JSON schema per type: a pydantic model registered here, whose
``model_json_schema()`` is the published schema. The apps above this layer register their
types in their ``ready()`` (like the chains register with ``workflow.engine``):

- ``register_message(type, schema, apply, refused=None)`` — a one-way message, sent through
  the outbox and applied once from the inbox: ``apply(body, envelope, peer)`` runs in the
  transaction of the inbox row and refuses with a ``RegistryError`` (its code reaches the
  sender); on the sender, ``refused(body, envelope, code, reason)`` runs when the peer
  refused it, in the transaction that records the refusal on the outbox row (what waited
  for the message closes with the peer's reason);
- ``register_query(type, schema, answer, answer_schema)`` — a question answered at once
  (``answer(body, envelope, peer) -> dict``), e.g. whether an ID number is held there.

``exchange.ping`` (a message) and ``exchange.echo`` (a query) are this app's own: they test
the link to a peer.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as SchemaError

from kernel.errors import ValidationFailed

ENVELOPE_FIELDS = ("id", "type", "sender", "recipient", "sent_at", "body", "signature")


class EnvelopeSchema(BaseModel):
    """The envelope of every message (信封)."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID = Field(description="unique message id (UUID); a second message with the same id is a replay")
    type: str = Field(max_length=64, description="message type, e.g. transfer.apply")
    sender: str = Field(pattern=r"^\d{2}$", description="province code of the sending registry")
    recipient: str = Field(pattern=r"^\d{2}$", description="province code of the receiving registry")
    sent_at: dt.datetime = Field(description="when the sender wrote the message (UTC, ISO 8601)")
    body: dict[str, Any] = Field(description="the message of this type, per its own schema")
    signature: str = Field(description="base64 Ed25519 signature of the canonical JSON without this member")


@dataclass(frozen=True)
class MessageType:
    name: str
    schema: type[BaseModel]
    apply: Callable[..., Any] | None = None
    refused: Callable[..., Any] | None = None
    answer: Callable[..., dict] | None = None
    answer_schema: type[BaseModel] | None = None

    @property
    def is_query(self) -> bool:
        return self.answer is not None


_TYPES: dict[str, MessageType] = {}


def register_message(name: str, *, schema: type[BaseModel], apply: Callable[..., Any],
                     refused: Callable[..., Any] | None = None) -> None:
    _TYPES[name] = MessageType(name=name, schema=schema, apply=apply, refused=refused)


def register_query(name: str, *, schema: type[BaseModel], answer: Callable[..., dict],
                   answer_schema: type[BaseModel]) -> None:
    _TYPES[name] = MessageType(name=name, schema=schema, answer=answer, answer_schema=answer_schema)


def message_type(name: str) -> MessageType | None:
    return _TYPES.get(name)


def message_types() -> dict[str, MessageType]:
    return dict(sorted(_TYPES.items()))


def own_province() -> str:
    """The province code this registry signs as (the first of ``EXCHANGE_PROVINCES``)."""
    return settings.EXCHANGE_PROVINCES[0]


def body_valid(kind: MessageType, body: dict, *, schema: type[BaseModel] | None = None) -> dict:
    """The body checked against its type's schema, as JSON; refuses with ``invalid_message``."""
    try:
        return (schema or kind.schema).model_validate(body).model_dump(mode="json")
    except SchemaError as exc:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise ValidationFailed(
            _("消息内容不符合 %(type)s 的格式：%(where)s %(what)s")
            % {"type": kind.name, "where": where, "what": first.get("msg", "")},
            code="invalid_message", field=where or None,
        ) from exc


def envelope_new(*, type: str, recipient: str, body: dict) -> dict:
    """A new, signed envelope."""
    from exchange import signing

    envelope = {
        "id": str(uuid.uuid4()), "type": type, "sender": own_province(), "recipient": recipient,
        "sent_at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "body": body,
    }
    envelope["signature"] = signing.sign(envelope)
    return envelope


# The app's own types: a one-way ping and an echo question, to test a peer's link.
class PingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=200, description="free text, kept in the inbox")


class EchoBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=200)


class EchoAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(max_length=200)
    province: str = Field(pattern=r"^\d{2}$")


register_message("exchange.ping", schema=PingBody, apply=lambda body, envelope, peer: None)
register_query("exchange.echo", schema=EchoBody, answer_schema=EchoAnswer,
               answer=lambda body, envelope, peer: {"note": body["note"], "province": own_province()})
