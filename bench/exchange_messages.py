"""Benchmark: messages between two registries end to end (省际交换).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres TEST_DATABASE_NAME=test_exchange \\
    .venv/bin/python bench/exchange_messages.py --messages 1000

Starts two registries on this machine as the tests do (``tests/exchange/registries.py``):
databases copied from the migrated database ``TEST_DATABASE_NAME`` (``bench_exchange_a``,
``bench_exchange_b``), two ``runserver`` processes and two Celery workers (Redis databases
13 and 14), each the other's peer. On A it writes ``--messages`` messages, each in its own
transaction with its outbox row; it prints how long until B has applied them all (written →
signed → delivered over HTTP → verified → inbox row → applied → acknowledged), messages per
second, and checks that B applied each exactly once and in the order written.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exchange import signing  # noqa: E402
from tests.exchange.registries import MARK, SETUP, Registry, database_copy, database_drop  # noqa: E402

SEND = """
import time
from django.db import transaction
from exchange.services import message_send
started = time.time()
for n in range({n}):
    with transaction.atomic():
        message_send(type="exchange.ping", province="45", body={{"note": str(n)}})
print({mark!r} + str(time.time() - started))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    template = os.environ.get("TEST_DATABASE_NAME", "test_registry")
    keys = [signing.key_generate() for _ in range(2)]
    a = Registry("a", "44", f"{url}/bench_exchange_a", "redis://127.0.0.1:6379/13", *keys[0])
    b = Registry("b", "45", f"{url}/bench_exchange_b", "redis://127.0.0.1:6379/14", *keys[1])
    import redis

    for registry in (a, b):
        if not database_copy(url, template, registry.database_url.rsplit("/", 1)[1]):
            registry.manage("migrate", "-v", "0")
        redis.Redis.from_url(registry.redis_url).flushdb()
    try:
        a.start_server(), b.start_server()
        a.start_worker(), b.start_worker()
        for registry, peer, school in ((a, b, ("4401060001", "天河第一小学", "440106")),
                                       (b, a, ("4501020001", "南宁市民主路小学", "450102"))):
            registry.run(SETUP.format(
                label=registry.label, province=registry.province, school_code=school[0], school_name=school[1],
                county=school[2], peer_name={"44": "广东", "45": "广西"}[peer.province], peer_province=peer.province,
                peer_url=peer.url, peer_key=peer.public_key, mark=MARK))
        started = time.time()
        written = a.run(SEND.format(n=args.messages, mark=MARK))
        while True:
            applied = b.query("SELECT count(*) FROM exchange_inboxmessage")[0][0]
            if applied >= args.messages:
                break
            if time.time() - started > 1800:
                raise SystemExit(f"timed out: {applied} of {args.messages} applied")
            time.sleep(0.5)
        elapsed = time.time() - started
        notes = [int(row[0]) for row in b.query("SELECT envelope->'body'->>'note' FROM exchange_inboxmessage"
                                                " ORDER BY id")]
        delivered = a.query("SELECT count(*) FROM exchange_outboxmessage WHERE state = 'delivered'")[0][0]
        print(f"messages: {args.messages}")
        print(f"written on A (one transaction each, shell): {written:.1f} s")
        print(f"written → all applied on B: {elapsed:.1f} s ({args.messages / elapsed:.1f} messages/s)")
        print(f"applied once and in order: {notes == list(range(args.messages))}; A delivered: {delivered}")
        print(f"load average: {os.getloadavg()[0]:.2f}")
    finally:
        for registry in (a, b):
            registry.stop()
        for registry in (a, b):
            database_drop(url, registry.database_url.rsplit("/", 1)[1])


if __name__ == "__main__":
    main()
