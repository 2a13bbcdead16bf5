"""POST a signed envelope to a peer and read its JSON answer (stdlib HTTP, bounded time)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

MESSAGES_PATH = "/api/v1/exchange/messages"
QUERIES_PATH = "/api/v1/exchange/queries"
BATCH_PATH = "/api/v1/exchange/messages/batch"  # several one-way messages in one request


@dataclass
class Reply:
    status: int  # 0: the peer could not be reached
    body: dict[str, Any]
    error: str = ""

    @property
    def reached(self) -> bool:
        return self.status != 0


def post(base_url: str, path: str, envelope: dict, *, timeout: float) -> Reply:
    data = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        base_url.rstrip("/") + path, data=data, method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - configured peer URL
            return Reply(response.status, _json(response.read()))
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, _json(exc.read()), error=f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        return Reply(0, {}, error=str(getattr(exc, "reason", exc))[:500])


def _json(raw: bytes) -> dict:
    try:
        value = json.loads(raw.decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
