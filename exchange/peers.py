"""Peers from configuration: a JSON list (``EXCHANGE_PEERS_FILE``) or the ``exchange_peer``
command. Each peer: ``name``, ``provinces`` (two-digit codes), ``base_url``, ``public_key``."""

from __future__ import annotations

import json
import re
from pathlib import Path

from django.db import transaction

from accounts.audit import acting_as
from exchange import signing
from exchange.models import Peer


def peer_save(entry: dict) -> Peer:
    name = str(entry.get("name", "")).strip()
    provinces = [str(code).strip() for code in entry.get("provinces", [])]
    if not name:
        raise ValueError("a peer needs a name")
    if not provinces or not all(re.fullmatch(r"\d{2}", code) for code in provinces):
        raise ValueError(f"peer {name}: provinces must be two-digit codes, got {provinces}")
    if not re.match(r"^https?://", str(entry.get("base_url", ""))):
        raise ValueError(f"peer {name}: base_url must be an http(s) URL")
    if not signing.public_key_valid(str(entry.get("public_key", ""))):
        raise ValueError(f"peer {name}: public_key is not a base64 Ed25519 public key")
    with acting_as(None, task="exchange_peer"):
        peer, _created = Peer.objects.update_or_create(name=name, defaults={
            "provinces": provinces, "base_url": entry["base_url"], "public_key": entry["public_key"].strip(),
            "active": bool(entry.get("active", True)),
        })
    return peer


def peers_load(path: str) -> list[Peer]:
    entries = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise ValueError(f"{path}: a JSON list of peers is expected")
    with transaction.atomic():
        return [peer_save(entry) for entry in entries]
