"""Benchmark: full transfer chains (转学) through the API served by gunicorn on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_transfers_bench \\
    REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/transfer_chains.py --clients 50 --chains 400

What it does:
1. migrates the database named by DATABASE_URL (created if missing), loads divisions and
   code tables, and creates one destination school per client (spread over four counties),
   as many origin schools in four other counties, their operators/approvers, county
   approvers, one pupil per chain and a bearer token per user (idempotent: a run prefix);
2. starts gunicorn with the production settings (``gunicorn.conf.py``: sync workers,
   2 × cores + 1, app preloaded) on a free port;
3. for each scenario of ``--think-ms`` (default ``1000,500,0``), drives ``--chains`` full
   chains with ``--clients`` simulated users (stdlib asyncio, one connection each, opened
   again whenever the server closes it, as sync workers do after every answer): POST /transfers/lookup (the pupil card and its reference), /transfers, /submit, then /approve by the destination county, the origin
   school and the origin county. A user pauses 0.5–1.5 × the think time after every
   answer, as a person reading the page would, and the users start spread over one pause;
   think time 0 is the closed loop, every user firing the next request at once (the
   server's capacity). Every ``--retry-every``-th approval is sent twice, as a double
   click would: the second must answer 409 and change nothing;
4. prints per scenario chains/s, req/s, p50/p95/max per action and over every action,
   errors and the 409s, and at the end counts in the database the double transitions (two
   log rows leaving one state of one transfer).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict, deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-" + uuid.uuid4().hex)
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("LOG_LEVEL", "ERROR")


def ensure_database() -> None:
    from urllib.parse import urlparse

    import psycopg2

    url = urlparse(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    conn = psycopg2.connect(host=url.hostname, port=url.port or 5432, user=url.username,
                            password=url.password, dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def setup(clients: int, chains: int) -> tuple[list[dict], str]:
    """Schools, users, pupils and tokens; returns one job per chain and the run prefix."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from provinces.models import Division, ProvincePolicy

    if not Division.objects.filter(code="44").exists():
        call_command("loaddata", "fixtures/divisions.json", "fixtures/codes.json", verbosity=0)
    ProvincePolicy.objects.update_or_create(province_id="44", defaults={"freeze_enabled": False})

    import datetime as dt

    from django.contrib.auth import get_user_model

    from accounts.models import ApiToken, Membership
    from registry.models import Pupil
    from schools.models import School, SchoolClass

    counties = list(Division.objects.filter(level="county", code__startswith="44").order_by("code")[:8])
    if len(counties) < 8:
        raise SystemExit("need 8 counties of province 44 in fixtures/divisions.json")
    dest_counties, origin_counties = counties[:4], counties[4:]
    run = uuid.uuid4().hex[:6]
    users = get_user_model().objects
    tokens: dict[str, str] = {}

    def user(name: str, role: str, **unit) -> str:
        u = users.create_user(username=f"bench-{run}-{name}")
        Membership.objects.create(user=u, role=role, **unit)
        tokens[name] = ApiToken.issue(u, name="bench", access=ApiToken.Access.WRITE)[1]
        return name

    for county in counties:
        user(f"c{county.code}", "approver", division=county)
    serial = int(time.time()) % 9000
    schools = []
    for i in range(clients * 2):
        county = (dest_counties if i < clients else origin_counties)[i % 4]
        code = f"{county.code}{(serial + i) % 10000:04d}"
        school = School.objects.filter(code=code).first() or School.objects.create(
            code=code, name=f"压测学校{run}-{i}", county=county, stage="primary")
        user(f"s{i}op", "operator", school=school)
        user(f"s{i}ap", "approver", school=school)
        schools.append(school)
    jobs = []
    born = dt.date(2016, 3, 1)
    for n in range(chains):
        dest_i = n % clients
        origin = schools[clients + (n * 7) % clients]
        school_class, _ = SchoolClass.objects.get_or_create(school=origin, grade=3, number=1)
        day = born + dt.timedelta(days=n % 300)
        suffix = (serial + n) % 10000
        while Pupil.objects.filter(national_number=f"J{origin.county_id}{day:%Y%m%d}{suffix:04d}").exists():
            suffix = (suffix + 1) % 10000
        # No ID number (type Z): the bench never collides with another run's ID numbers.
        pupil = Pupil.objects.create(
            national_number=f"J{origin.county_id}{day:%Y%m%d}{suffix:04d}",
            name=f"压测{n}", sex="1", birth_date=day, id_type="Z", id_number="",
            school=origin, school_class=school_class, grade=3, county_code=origin.county_id,
            enrolled_on=dt.date(2022, 9, 1),
        )
        jobs.append({
            "pupil": pupil.national_number, "name": pupil.name, "origin": origin.code, "dest": schools[dest_i].code,
            "dest_op": tokens[f"s{dest_i}op"], "dest_ap": tokens[f"s{dest_i}ap"],
            "dest_county": tokens[f"c{schools[dest_i].county_id}"],
            "origin_school": tokens[f"s{schools.index(origin)}ap"],
            "origin_county": tokens[f"c{origin.county_id}"],
        })
    return jobs, run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int, worker_class: str, workers: int, threads: int) -> subprocess.Popen:
    """The production server settings (gunicorn.conf.py), on a local port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}",
         "-k", worker_class, "-w", str(workers), "--threads", str(threads), "--log-level", "warning",
         "--keep-alive", "30", "--access-logfile", "/dev/null"],
        cwd=str(ROOT), env=dict(os.environ), start_new_session=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("gunicorn did not start")


class Client:
    """One simulated user: a keep-alive HTTP/1.1 connection on stdlib asyncio.

    All clients share one thread, so the load generator spends little of the machine's CPU
    (a thread per client with ``http.client`` took about a third of a core at 60 req/s)."""

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(request)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("connection closed by the server")
        status = int(status_line.split()[1])
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                close = value.strip().lower() == b"close"
            elif name == b"transfer-encoding":
                raise RuntimeError("chunked answers are not expected from the API")
        data = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, data

    async def post(self, path: str, token: str, body: dict | None = None) -> tuple[int, dict, float]:
        payload = json.dumps(body or {}).encode()
        request = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload
        return await self._timed(request)

    async def get(self, path: str, token: str) -> tuple[int, dict, float]:
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
        return await self._timed(request)

    async def _timed(self, request: bytes) -> tuple[int, dict, float]:
        started = time.perf_counter()
        for attempt in range(2):
            try:
                status, data = await self._exchange(request)
                break
            except (ConnectionError, asyncio.IncompleteReadError):
                # A keep-alive connection the server closed while idle: open a new one.
                self.close()
                if attempt:
                    raise
        elapsed = (time.perf_counter() - started) * 1000
        return status, (json.loads(data) if data else {}), elapsed


async def drive(port: int, jobs: deque[dict], stats: dict, retry_every: int, think_ms: int, seed: int) -> None:
    client = Client(port)
    counter = 0
    pause = random.Random(seed)
    if think_ms:
        # People do not all click in the same millisecond: each starts within one pause.
        await asyncio.sleep(pause.uniform(0, think_ms / 1000))

    async def record(action: str, status: int, body: dict, ms: float, expected: int = 200) -> bool:
        stats["latency"][action].append(ms)
        if status != expected:
            stats["errors"].append((action, status, body.get("code"), body.get("message")))
        if think_ms:
            # The person reads the answer before the next click: 0.5–1.5 × the think time.
            await asyncio.sleep(pause.uniform(0.5, 1.5) * think_ms / 1000)
        return status == expected

    while jobs:
        job = jobs.popleft()
        # A transfer starts from a lookup (its reference).
        status, found, ms = await client.post("/api/v1/transfers/lookup", job["dest_op"],
                                              {"origin_school_code": job["origin"], "name": job["name"]})
        if not await record("lookup", status, found, ms, 200) or not found.get("found"):
            continue
        status, body, ms = await client.post("/api/v1/transfers", job["dest_op"], {
            "pupil_ref": found["found"][0]["ref"], "origin_school_code": job["origin"], "dest_school_code": job["dest"],
            "dest_grade": 3, "dest_class_number": 2, "reason": "压测"})
        if not await record("apply", status, body, ms, 201):
            continue
        tid = body["id"]
        if not await record("submit", *await client.post(f"/api/v1/transfers/{tid}/submit", job["dest_ap"])):
            continue
        ok = True
        for party in ("dest_county", "origin_school", "origin_county"):
            ok = await record("approve", *await client.post(f"/api/v1/transfers/{tid}/approve", job[party]))
            if not ok:
                break
            counter += 1
            if retry_every and counter % retry_every == 0:
                status, body, ms = await client.post(f"/api/v1/transfers/{tid}/approve", job[party])
                await record("approve_again", status, body, ms, 409)
        if ok:
            stats["completed"] += 1
    client.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def double_transitions(run: str) -> tuple[int, int]:
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from transfers.models import Transfer

    # The chain log (workflow.ChainEvent) of the transfers this run filed.
    transfer_type = ContentType.objects.get_for_model(Transfer).pk
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM (
                   SELECT e.object_id, e.from_state FROM changes_chainevent e
                   JOIN transfers_transfer t ON t.id = e.object_id
                   JOIN registry_pupil p ON p.id = t.pupil_id
                   WHERE e.content_type_id = %s AND p.name LIKE '压测%%' AND e.action <> 'apply'
                     AND e.actor_name LIKE %s
                   GROUP BY e.object_id, e.from_state HAVING count(*) > 1) d""",
            [transfer_type, f"bench-{run}-%"],
        )
        doubles = cursor.fetchone()[0]
        cursor.execute(
            """SELECT count(*) FROM transfers_transfer t JOIN changes_chainevent e
                 ON e.object_id = t.id AND e.content_type_id = %s AND e.action = 'apply'
               WHERE t.state = 'completed' AND e.actor_name LIKE %s""",
            [transfer_type, f"bench-{run}-%"],
        )
        completed = cursor.fetchone()[0]
    return doubles, completed


def run_scenario(port: int, jobs: list[dict], clients: int, retry_every: int, think_ms: int) -> None:
    work = deque(jobs)
    stats = {"latency": defaultdict(list), "errors": [], "completed": 0}

    async def everyone() -> None:
        await asyncio.gather(*(drive(port, work, stats, retry_every, think_ms, n) for n in range(clients)))

    started = time.perf_counter()
    cpu_started = time.process_time()
    asyncio.run(everyone())
    wall = time.perf_counter() - started
    client_cpu = time.process_time() - cpu_started
    label = "closed loop (no pause)" if not think_ms else f"think time {think_ms} ms (0.5–1.5×, staggered start)"
    print(f"\n{clients} clients, {label}")
    print(f"  chains completed: {stats['completed']}/{len(jobs)} in {wall:.1f}s = {stats['completed'] / wall:.1f} chains/s")
    requests = sum(len(v) for v in stats["latency"].values())
    print(f"  requests: {requests} = {requests / wall:.0f} req/s; the load generator used {client_cpu / wall:.0%} of a core")
    everything = [ms for action in ("apply", "submit", "approve") for ms in stats["latency"].get(action, [])]
    # "every action" is the chain's steps (as in the earlier runs); the lookup before each
    # application is printed on its own.
    actions = ("lookup", "apply", "submit", "approve", "approve_again")
    for action, values in [*((a, stats["latency"].get(a)) for a in actions), ("every action", everything)]:
        if values:
            print(f"  {action:<14} n={len(values):<5} p50={statistics.median(values):6.1f} ms  "
                  f"p95={percentile(values, 0.95):6.1f} ms  max={max(values):6.1f} ms")
    print(f"  errors: {len(stats['errors'])}")
    for error in stats["errors"][:10]:
        print("    ", error)
    print(f"  second approvals sent: {len(stats['latency'].get('approve_again', []))}, every one answered 409"
          if not any(e[0] == "approve_again" for e in stats["errors"]) else "  some second approvals did not get 409")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--chains", type=int, default=400, help="chains per scenario")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--retry-every", type=int, default=5, help="send every n-th approval twice (0: never)")
    parser.add_argument("--think-ms", default="1000,500,0",
                        help="comma-separated scenarios: each client's pause after every answer "
                             "(0: closed loop, as fast as possible)")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database for the benchmark")
    scenarios = [int(x) for x in args.think_ms.split(",")]
    ensure_database()
    t0 = time.time()
    jobs, run = setup(args.clients, args.chains * len(scenarios))
    print(f"setup: {len(jobs)} pupils, {args.clients * 2} schools in {time.time() - t0:.1f}s (run {run})")
    port = free_port()
    server = start_gunicorn(port, args.worker_class, args.workers, args.threads)
    print(f"machine: {os.cpu_count()} cores; gunicorn {args.worker_class} {args.workers} workers x {args.threads} threads; "
          f"PostgreSQL {os.environ['DATABASE_URL'].rsplit('@', 1)[-1]}; client and server on this machine")
    try:
        for n, think_ms in enumerate(scenarios):
            run_scenario(port, jobs[n * args.chains:(n + 1) * args.chains], args.clients, args.retry_every, think_ms)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    doubles, completed_db = double_transitions(run)
    print(f"\ndouble transitions in the database: {doubles}; completed chains in the database: {completed_db}")


if __name__ == "__main__":
    main()
