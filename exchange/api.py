"""The receiving end of the exchange: ``POST /api/v1/exchange/messages`` (one-way messages,
applied once; ``…/messages/batch``: several of them, in order, in one request) and
``POST /api/v1/exchange/queries`` (questions answered at once). All are authenticated by
each message's own signature, not by a session or token; and
``POST /api/v1/exchange/id-check`` for this province's staff to ask the peers."""

from __future__ import annotations

import json

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status

from exchange import services

router = Router(tags=["exchange"])


def _envelope(request: HttpRequest):
    try:
        return json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise HttpError(400, "body is not JSON") from None


def _address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


class Accepted(Schema):
    status: str
    id: str


@router.post("/exchange/messages", auth=None, response={202: Accepted}, summary="接收对端学籍系统的消息（签名认证）")
def message_receive(request):
    return Status(202, services.envelope_receive(_envelope(request), remote_address=_address(request)))


class BatchAnswer(Schema):
    id: str
    status: int
    body: dict


class BatchAccepted(Schema):
    results: list[BatchAnswer]


@router.post("/exchange/messages/batch", auth=None, response={200: BatchAccepted},
             summary="接收对端学籍系统的一批消息（逐条签名认证，按序处理）")
def messages_receive(request):
    return services.envelopes_receive(_envelope(request), remote_address=_address(request))


@router.post("/exchange/queries", auth=None, response={200: dict}, summary="回答对端学籍系统的询问（签名认证）")
def query_receive(request):
    return services.query_answer(_envelope(request), remote_address=_address(request))
