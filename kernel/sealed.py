"""Sealed references: a value handed to a client and read back later, encrypted and
authenticated (Fernet: AES-128-CBC + HMAC-SHA256), so that the reference reveals nothing
(not even an id) and cannot be forged. The key is derived from ``SECRET_KEY`` per purpose."""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class BadSeal(ValueError):
    """Not a reference sealed for this purpose (altered, foreign or too old)."""


@cache
def _fernet(purpose: str, secret: str) -> Fernet:
    key = hashlib.sha256(f"kernel.sealed:{purpose}:{secret}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(value: Any, *, purpose: str) -> str:
    """``value`` (JSON-serialisable) as an opaque, url-safe text."""
    return _fernet(purpose, settings.SECRET_KEY).encrypt(json.dumps(value).encode()).decode()


def unseal(token: str, *, purpose: str, max_age: int | None = None) -> Any:
    """The value of ``seal(value, purpose=purpose)``; ``BadSeal`` otherwise."""
    try:
        return json.loads(_fernet(purpose, settings.SECRET_KEY).decrypt(str(token).encode(), ttl=max_age))
    except (InvalidToken, TypeError, ValueError, UnicodeError):
        raise BadSeal(purpose) from None
