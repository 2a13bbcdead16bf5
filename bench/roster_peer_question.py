"""Benchmark: a roster dry run asking the other province's registry (跨省查重, ``registry.ids_held``).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres TEST_DATABASE_NAME=test_registry \\
    REDIS_URL=redis://127.0.0.1:6379/9 .venv/bin/python bench/roster_peer_question.py --rows 2000 --held 1000

Two registries on this machine as the tests start them (``tests/exchange/registries.py``):
databases copied from the migrated ``TEST_DATABASE_NAME`` (named after it, ``…_bqa`` and
``…_bqb``), B's ``runserver`` on a free port. B holds ``--held`` active pupils; on A a
roster of ``--rows`` new rows — the first ``--held`` of them with B's pupils' ID numbers — is
checked (``rosters.checking.check_rows``) with B as its peer and again with the peer
switched off. Prints both times, the questions asked (one per batch of 2,000 rows) and the
rows refused as held in the other province.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exchange import signing  # noqa: E402
from tests.exchange.registries import (  # noqa: E402
    MARK,
    SETUP,
    Registry,
    database_copy,
    database_drop,
    redis_claim,
    redis_release,
)

IDS = """
import datetime as dt
from tests.factories import resident_id
def ids(n, region):
    return [(dt.date(2016, 1, 1) + dt.timedelta(days=i // 400), resident_id(dt.date(2016, 1, 1)
             + dt.timedelta(days=i // 400), "1", region=region, seq=i % 400)) for i in range(n)]
"""

HOLD = IDS + """
from schools.models import School
from tests.factories import make_pupil
school = School.objects.get(code="4501020001")
for birth, number in ids({held}, "440106"):
    make_pupil(school, name="黄小刚", birth_date=birth, id_number=number)
"""

CHECK = IDS + """
import json, time
from django.contrib.auth import get_user_model
from exchange.models import Peer, PeerQuery
from rosters.checking import check_rows
from rosters.reading import parse_table, read_table
from schools.models import School
from tests.rosters.test_support import roster_row, xlsx_bytes
school = School.objects.get(code="4401060001")
user = get_user_model().objects.get(username="op-a")
numbers = ids({rows}, "440106")
table = parse_table(read_table(xlsx_bytes([roster_row(school, birth=b, id_number=n) for b, n in numbers]))[1])
figures = {{}}
for active in (True, False):
    Peer.objects.update(active=active)
    asked = PeerQuery.objects.count()
    started = time.time()
    checked = check_rows(user=user, table=table)
    figures["with peer" if active else "without peer"] = {{
        "seconds": round(time.time() - started, 2), "questions": PeerQuery.objects.count() - asked,
        "refused as held there": sum(1 for r in checked if any(p["code"] == "id_number_held_in_other_province"
                                                                 for p in r.problems)),
        "new": sum(1 for r in checked if r.outcome == "new")}}
print({mark!r} + json.dumps(figures))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--held", type=int, default=1000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
    server = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    template = os.environ.get("TEST_DATABASE_NAME", "test_registry")
    redis_base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9").rsplit("/", 1)[0]
    owner = f"{template}-bench-{os.getpid()}"
    brokers = redis_claim(redis_base, owner)
    keys = [signing.key_generate() for _ in range(2)]
    a = Registry("a", "44", f"{server}/{template[:58]}_bqa", brokers[0], *keys[0])
    b = Registry("b", "45", f"{server}/{template[:58]}_bqb", brokers[1], *keys[1])
    try:
        for registry in (a, b):
            if not database_copy(server, template, registry.database_url.rsplit("/", 1)[1]):
                registry.manage("migrate", "-v", "0")
        b.start_server()
        for registry, peer, school in ((a, b, ("4401060001", "天河第一小学", "440106")),
                                       (b, a, ("4501020001", "南宁市民主路小学", "450102"))):
            registry.run(SETUP.format(
                label=registry.label, province=registry.province, school_code=school[0], school_name=school[1],
                county=school[2], peer_name={"44": "广东", "45": "广西"}[peer.province], peer_province=peer.province,
                peer_url=peer.url, peer_key=peer.public_key, mark=MARK))
        b.run(HOLD.format(held=args.held))
        figures = a.run(CHECK.format(rows=args.rows, mark=MARK))
        print(f"roster of {args.rows} rows on A, {args.held} of them held on B")
        for label, values in figures.items():
            print(f"  {label}: " + ", ".join(f"{k} {v}" for k, v in values.items()))
    finally:
        for registry in (a, b):
            registry.stop()
            database_drop(server, registry.database_url.rsplit("/", 1)[1])
        redis_release(brokers, owner)


if __name__ == "__main__":
    main()
