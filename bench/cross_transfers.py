"""Benchmark: 1,000 cross-province transfers (跨省转学) in flight between two registries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres TEST_DATABASE_NAME=test_h20bench \\
    .venv/bin/python bench/cross_transfers.py --transfers 1000

Two registries on this machine, as the tests start them (``tests/exchange/registries.py``):
registry A serves province 44 (the destination), registry B province 45 (the origin);
each its own database copied from the migrated ``TEST_DATABASE_NAME`` (``--databases``,
default ``bench_h20_a`` / ``bench_h20_b``), its own gunicorn (``gunicorn.conf.py``, sync
workers, ``--web-workers`` each, 5 by default as in production on 2 cores) and its own Celery worker (Redis databases ``--redis``,
default 7 and 8), each the other's peer with its own Ed25519 key.

B holds ``--transfers`` pupils (one guardian and one history entry each) in
``--schools`` schools of county 450102; A has as many destination schools in county
440106, each with its operator and school approver (every operator stays under the
hourly lookup allowance), and one county approver on each side. Then, all at once with
``--clients`` simulated users per registry (stdlib asyncio, as ``bench/transfer_chains.py``):

1. on A, per transfer: ``POST /transfers/remote-lookup`` (a question to B, answered at
   once), ``/transfers/remote-apply`` by the school's operator, ``/remote/{id}/submit`` by
   its approver and ``/remote/{id}/approve`` by the county, which sends ``transfer.applied``;
2. on B, as each application arrives (待转出学校审核): ``/remote/{id}/approve`` by the
   origin school's approver (``transfer.step`` to A), then by the county approver, which
   releases the record (``transfer.released``: every field, family and history);
3. it waits until A has completed all of them, each pupil created there with the national
   number B holds, and B holds each as 转出.

It prints the wall time from the first request to the last record arrived, when each phase
ended and how long its requests took, the messages sent and delivered each way,
throughput, and every failure (a request that did not get its expected answer, a message
not delivered).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.transfer_chains import Client  # noqa: E402
from exchange import signing  # noqa: E402
from tests.exchange.registries import MARK, Registry, _stop, database_copy, database_drop  # noqa: E402

DEST_COUNTY, ORIGIN_COUNTY = "440106", "450102"
SETUP = """
import datetime as dt, json
from django.contrib.auth import get_user_model
from django.core.management import call_command
from accounts.models import ApiToken, Membership
from exchange.models import Peer
from provinces.models import Division
from registry.models import Guardian, HistoryEntry, Pupil
from schools.models import School, SchoolClass
from tests.factories import resident_id
if not Division.objects.filter(code="44").exists():
    call_command("loaddata", "fixtures/divisions.json", "fixtures/codes.json", verbosity=0)
county = Division.objects.get(code={county!r})
def user(name, role, **unit):
    u = get_user_model().objects.create_user(username=name)  # bearer tokens only: no password
    Membership.objects.create(user=u, role=role, **unit)
    return ApiToken.issue(u, name="bench", access=ApiToken.Access.WRITE)[1]
tokens = {{"county": user("county-{label}", "approver", division=county)}}
schools = []
for i in range({schools}):
    school = School.objects.create(code=f"{county}{{i + 1:04d}}", name=f"压测学校{label}{{i + 1}}",
                                   county=county, stage="primary")
    schools.append(school)
    tokens[school.code] = {{"operator": user(f"op-{label}-{{i}}", "operator", school=school),
                           "approver": user(f"ap-{label}-{{i}}", "approver", school=school)}}
pupils = []
if {pupils}:
    classes = [SchoolClass.objects.create(school=school, grade=3, number=1) for school in schools]
    born = dt.date(2017, 1, 1)
    rows = []
    for n in range({pupils}):
        day = born + dt.timedelta(days=n % 300)
        school = schools[n % len(schools)]
        rows.append(Pupil(
            national_number=f"L{county}{{day:%Y%m%d}}{{n:04d}}", name=f"压测{{n:04d}}", sex="1" if n % 2 else "2",
            birth_date=day, id_type="1", id_number=resident_id(day, "1" if n % 2 else "2", region=f"{county}",
                                                               seq=n // 300),
            school=school, school_class=classes[n % len(schools)], grade=3, county_code=county.code,
            enrolled_on=dt.date(2023, 9, 1)))
    Pupil.objects.bulk_create(rows, batch_size=500)
    Guardian.objects.bulk_create([Guardian(pupil=p, name=p.name + "父", relation="51", is_first_guardian=True)
                                  for p in rows], batch_size=500)
    HistoryEntry.objects.bulk_create([HistoryEntry(pupil=p, kind="registered", summary="新生注册", school=p.school)
                                      for p in rows], batch_size=500)
    pupils = [{{"name": p.name, "school": p.school.code, "id_number": p.id_number}} for p in rows]
Peer.objects.create(name={peer_name!r}, provinces=[{peer_province!r}], base_url={peer_url!r}, public_key={peer_key!r})
print({mark!r} + json.dumps({{"tokens": tokens, "pupils": pupils}}))
"""


class BenchRegistry(Registry):
    """A registry of the harness served by gunicorn (the production server) on a given
    port, with the production delivery settings."""

    web_workers: int = 5

    def env(self) -> dict:
        env = super().env()
        for name in ("EXCHANGE_BACKOFF_SECONDS", "EXCHANGE_BACKOFF_MAX_SECONDS", "EXCHANGE_MAX_ATTEMPTS",
                     "EXCHANGE_QUERY_TIMEOUT", "EXCHANGE_DELIVERY_TIMEOUT"):
            env.pop(name)  # the defaults of config/settings/base.py
        env.update({"SECRET_KEY": f"bench-{self.label}", "ALLOWED_HOSTS": "127.0.0.1,localhost",
                    "WEB_CONCURRENCY": str(self.web_workers)})
        return env

    def start_server(self) -> None:
        self.server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{self.port}",
             "--log-level", "warning", "--access-logfile", "/dev/null", "--keep-alive", "30"],
            env=self.env(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        import urllib.request

        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1).read()
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.label}: gunicorn did not start")

    def stop_server(self) -> None:
        _stop(self.server)
        self.server = None


class Run:
    """The state of one run: what each registry's users do next, and what happened."""

    def __init__(self, a: BenchRegistry, b: BenchRegistry, jobs: list[dict], tokens_a: dict, tokens_b: dict):
        self.a, self.b = a, b
        self.jobs = list(jobs)
        self.tokens_a, self.tokens_b = tokens_a, tokens_b
        self.arrived: asyncio.Queue = asyncio.Queue()  # B's rows waiting for its school
        self.failures: list[tuple] = []
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.ended: dict[str, float] = {}
        self.counts: Counter = Counter()
        self.a_done = asyncio.Event()
        self.started = 0.0

    def fail(self, action: str, status: int, body: dict) -> None:
        self.failures.append((action, status, body.get("code"), str(body.get("message", ""))[:120]))

    def mark(self, phase: str) -> None:
        self.ended[phase] = time.perf_counter() - self.started

    async def ok(self, action: str, answer: tuple, expected: int) -> dict | None:
        status, body, ms = answer
        self.latency[action].append(ms)
        self.counts[action] += 1
        if status != expected:
            self.fail(action, status, body)
            return None
        return body


async def destination_user(run: Run) -> None:
    """A's users: lookup, apply, the school's submit and the county's approval, per transfer."""
    client = Client(run.a.port)
    while run.jobs:
        job = run.jobs.pop()
        school = run.tokens_a[job["dest"]]
        found = await run.ok("A lookup", await client.post("/api/v1/transfers/remote-lookup", school["operator"], {
            "origin_school_code": job["school"], "name": job["name"], "id_number": job["id_number"]}), 200)
        if not found or len(found["found"]) != 1:
            if found is not None:
                run.fail("A lookup", 200, {"code": "not_one_card", "message": str(found)})
            continue
        applied = await run.ok("A apply", await client.post("/api/v1/transfers/remote-apply", school["operator"], {
            "ref": found["found"][0]["ref"], "origin_school_code": job["school"], "pupil_name": job["name"],
            "dest_grade": 3, "dest_class_number": 1, "reason": "随父母务工迁居"}), 201)
        if not applied:
            continue
        pk = applied["id"]
        if not await run.ok("A school submit", await client.post(f"/api/v1/transfers/remote/{pk}/submit",
                                                                 school["approver"]), 200):
            continue
        await run.ok("A county approve", await client.post(f"/api/v1/transfers/remote/{pk}/approve",
                                                           run.tokens_a["county"]), 200)
    client.close()


async def origin_user(run: Run) -> None:
    """B's users: the origin school's approval, then the county's (which releases the record)."""
    client = Client(run.b.port)
    while True:
        item = await run.arrived.get()
        if item is None:
            break
        pk, school = item
        if await run.ok("B school approve", await client.post(f"/api/v1/transfers/remote/{pk}/approve",
                                                              run.tokens_b[school]["approver"]), 200):
            await run.ok("B county approve", await client.post(f"/api/v1/transfers/remote/{pk}/approve",
                                                               run.tokens_b["county"]), 200)
        run.arrived.task_done()
    client.close()


async def watch_arrivals(run: Run, total: int, clients: int) -> None:
    """Hand B's users each application as it arrives at the origin school (their 待办)."""
    seen: set[int] = set()
    while len(seen) < total:
        rows = await asyncio.to_thread(
            run.b.query, "SELECT id, origin_school_code FROM transfers_crosstransfer WHERE side = 'origin'"
                         " AND state = 'origin_school' ORDER BY id")
        for pk, school in rows:
            if pk not in seen:
                seen.add(pk)
                run.arrived.put_nowait((pk, school))
        if run.a_done.is_set() and not rows and await asyncio.to_thread(_nothing_more_to_arrive, run):
            break
        await asyncio.sleep(0.2)
    run.mark("all applications arrived on B")
    for _ in range(clients):
        run.arrived.put_nowait(None)


def _nothing_more_to_arrive(run: Run) -> bool:
    """Whether no further application can arrive on B (A's users are done and its outbox settled)."""
    [(waiting,)] = run.a.query("SELECT count(*) FROM exchange_outboxmessage WHERE state = 'waiting'")
    return waiting == 0


async def watch_completion(run: Run, total: int, timeout: float) -> None:
    while True:
        [(done,)] = await asyncio.to_thread(run.a.query, "SELECT count(*) FROM transfers_crosstransfer"
                                                         " WHERE side = 'dest' AND state = 'completed'")
        if done >= total:
            break
        if time.perf_counter() - run.started > timeout:
            run.fail("timeout", 0, {"code": "timeout", "message": f"{done} of {total} completed on A"})
            break
        await asyncio.sleep(0.2)
    run.mark("all records arrived on A")


async def drive(run: Run, total: int, clients: int, timeout: float) -> None:
    run.started = time.perf_counter()

    async def destination_side() -> None:
        await asyncio.gather(*(destination_user(run) for _ in range(clients)))
        run.mark("A: lookups, applications, school and county approvals done")
        run.a_done.set()

    async def origin_side() -> None:
        await asyncio.gather(*(origin_user(run) for _ in range(clients)))
        run.mark("B: school and county approvals done")

    await asyncio.gather(destination_side(), origin_side(), watch_arrivals(run, total, clients),
                         watch_completion(run, total, timeout))


def messages(registry: Registry) -> dict[str, Counter]:
    sent: dict[str, Counter] = defaultdict(Counter)
    for type_, state, count in registry.query("SELECT type, state, count(*) FROM exchange_outboxmessage"
                                              " GROUP BY type, state"):
        sent[type_][state] += count
    return sent


def check(a: Registry, b: Registry, total: int) -> tuple[int, int, int]:
    """(pupils on A with B's national number, B's pupils 转出, those that match both ways)."""
    arrived = dict(a.query("SELECT p.national_number, p.id_number FROM transfers_crosstransfer t"
                           " JOIN registry_pupil p ON p.id = t.pupil_id WHERE t.side = 'dest'"
                           " AND t.state = 'completed' AND p.status = 'enrolled'"))
    out = dict(b.query("SELECT national_number, id_number FROM registry_pupil WHERE status = 'transferred_out'"))
    same = sum(1 for number, id_number in arrived.items() if out.get(number) == id_number)
    return len(arrived), len(out), same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transfers", type=int, default=1000)
    parser.add_argument("--schools", type=int, default=40, help="origin schools on B and destination schools on A")
    parser.add_argument("--clients", type=int, default=8, help="simulated users on each registry")
    parser.add_argument("--web-workers", type=int, default=5, help="gunicorn workers of each registry")
    parser.add_argument("--ports", default="18610,18611")
    parser.add_argument("--databases", default="bench_h20_a,bench_h20_b")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7,redis://127.0.0.1:6379/8")
    parser.add_argument("--timeout", type=float, default=1200)
    parser.add_argument("--keep", action="store_true", help="keep the two databases afterwards")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    template = os.environ.get("TEST_DATABASE_NAME", "test_registry")
    keys = [signing.key_generate() for _ in range(2)]
    ports = [int(p) for p in args.ports.split(",")]
    names = args.databases.split(",")
    brokers = args.redis.split(",")
    BenchRegistry.web_workers = args.web_workers
    a = BenchRegistry("a", "44", f"{url}/{names[0]}", brokers[0], *keys[0], port=ports[0])
    b = BenchRegistry("b", "45", f"{url}/{names[1]}", brokers[1], *keys[1], port=ports[1])
    import redis

    load_before = os.getloadavg()
    for registry in (a, b):
        if not database_copy(url, template, registry.database_url.rsplit("/", 1)[1]):
            registry.manage("migrate", "-v", "0")
        redis.Redis.from_url(registry.redis_url).flushdb()
    try:
        t0 = time.perf_counter()
        world_a = a.run(SETUP.format(label="a", county=DEST_COUNTY, schools=args.schools, pupils=0, peer_name="广西",
                                     peer_province="45", peer_url=b.url, peer_key=b.public_key, mark=MARK))
        world_b = b.run(SETUP.format(label="b", county=ORIGIN_COUNTY, schools=args.schools, pupils=args.transfers,
                                     peer_name="广东", peer_province="44", peer_url=a.url, peer_key=a.public_key,
                                     mark=MARK))
        print(f"setup: {args.transfers} pupils in {args.schools} schools on B, {args.schools} destination schools"
              f" on A in {time.perf_counter() - t0:.1f} s")
        a.start_server(), b.start_server()
        a.start_worker(), b.start_worker()
        dest_schools = sorted(code for code in world_a["tokens"] if code != "county")
        jobs = [{**pupil, "dest": dest_schools[n % len(dest_schools)]} for n, pupil in enumerate(world_b["pupils"])]
        jobs.reverse()  # popped from the end: the first pupil first
        run = Run(a, b, jobs, world_a["tokens"], world_b["tokens"])
        cpu = time.process_time()
        asyncio.run(drive(run, args.transfers, args.clients, args.timeout))
        wall = run.ended["all records arrived on A"]
        load_after = os.getloadavg()
        report(run, a, b, args, wall, time.process_time() - cpu, load_before, load_after)
    finally:
        for registry in (a, b):
            registry.stop()
        if not args.keep:
            for registry in (a, b):
                database_drop(url, registry.database_url.rsplit("/", 1)[1])
        for registry in (a, b):
            redis.Redis.from_url(registry.redis_url).flushdb()


def report(run: Run, a: Registry, b: Registry, args, wall: float, client_cpu: float, load_before, load_after) -> None:
    print(f"machine: {os.cpu_count()} cores; each registry: gunicorn {args.web_workers} sync workers + one Celery"
          f" worker (solo); {args.clients} simulated users on each; load average before {load_before[0]:.2f}"
          f" (5 min {load_before[1]:.2f}), after {load_after[0]:.2f} (5 min {load_after[1]:.2f})")
    print(f"\ntransfers: {args.transfers}; wall time, first request → last record on A: {wall:.1f} s"
          f" ({args.transfers / wall:.2f} transfers/s); the load generator used {client_cpu / wall:.0%} of a core")
    print("phases ended at:")
    for phase, at in sorted(run.ended.items(), key=lambda item: item[1]):
        print(f"  {at:7.1f} s  {phase}")
    print("requests:")
    for action, values in run.latency.items():
        print(f"  {action:<18} n={len(values):<5} sum={sum(values) / 1000:7.1f} s  p50={statistics.median(values):6.0f} ms"
              f"  p95={sorted(values)[int(0.95 * (len(values) - 1))]:6.0f} ms  max={max(values):6.0f} ms")
    for label, registry in (("A → B", a), ("B → A", b)):
        sent = messages(registry)
        total = sum(sum(c.values()) for c in sent.values())
        delivered = sum(c["delivered"] for c in sent.values())
        detail = ", ".join(f"{t} {dict(c)}" for t, c in sorted(sent.items()))
        print(f"messages {label}: {total} sent, {delivered} delivered ({delivered / wall:.1f}/s over the run): {detail}")
    arrived, out, same = check(a, b, args.transfers)
    print(f"records: {arrived} arrived on A (completed, enrolled); {out} 转出 on B; {same} with the same national"
          f" number and ID number on both sides")
    refused = a.query("SELECT type, refusal_code, count(*) FROM exchange_outboxmessage WHERE state <> 'delivered'"
                      " GROUP BY 1, 2") + b.query("SELECT type, refusal_code, count(*) FROM exchange_outboxmessage"
                                                  " WHERE state <> 'delivered' GROUP BY 1, 2")
    failures = Counter(run.failures)
    print(f"failures: {len(run.failures)} requests, {sum(r[2] for r in refused)} messages not delivered")
    for failure, count in failures.most_common(10):
        print(f"  {count} × {failure}")
    for row in refused:
        print(f"  not delivered: {row}")
    print(json.dumps({"wall_s": round(wall, 1), "transfers": args.transfers, "failures": len(run.failures)}))


if __name__ == "__main__":
    main()
