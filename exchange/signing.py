"""Ed25519 signatures of the messages between registries (省际交换).

A message is signed over its canonical JSON (keys sorted, no spaces, UTF-8, the
``signature`` member left out); the signature and the keys travel as base64 of their raw
bytes (64 and 32). Our private key comes from ``EXCHANGE_PRIVATE_KEY`` (base64 of the 32
raw bytes) or the file ``EXCHANGE_PRIVATE_KEY_FILE`` holding the same text;
``manage.py exchange_keygen`` makes one and prints the public key to give to the peers.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def canonical(message: dict[str, Any]) -> bytes:
    """The bytes that are signed: the message without ``signature``, keys sorted, compact."""
    unsigned = {key: value for key, value in message.items() if key != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def key_generate() -> tuple[str, str]:
    """A new key pair as (private, public), each base64 of its raw bytes."""
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw_private).decode(), public_key_text(private)


def public_key_text(private: Ed25519PrivateKey) -> str:
    return base64.b64encode(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def private_key_of(text: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text.strip(), validate=True))


@functools.cache
def own_key() -> Ed25519PrivateKey:
    text = getattr(settings, "EXCHANGE_PRIVATE_KEY", "")
    path = getattr(settings, "EXCHANGE_PRIVATE_KEY_FILE", "")
    if not text and path:
        text = Path(path).read_text().strip()
    if not text:
        raise ImproperlyConfigured("EXCHANGE_PRIVATE_KEY or EXCHANGE_PRIVATE_KEY_FILE is not set")
    return private_key_of(text)


def own_public_key() -> str:
    return public_key_text(own_key())


def sign(message: dict[str, Any], *, key: Ed25519PrivateKey | None = None) -> str:
    return base64.b64encode((key or own_key()).sign(canonical(message))).decode()


def public_key_valid(text: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip(), validate=True))
    except (ValueError, binascii.Error):
        return False
    return True


def verify(message: dict[str, Any], public_key: str) -> bool:
    """Whether ``message["signature"]`` is the peer's signature of the rest of the message."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
        key.verify(base64.b64decode(str(message.get("signature", "")), validate=True), canonical(message))
    except (InvalidSignature, ValueError, binascii.Error, TypeError):
        return False
    return True
