"""Benchmark: full transfer chains (转学) through the API served by gunicorn on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_transfers_bench \\
    REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/transfer_chains.py --clients 50 --chains 400

What it does:
1. migrates the database named by DATABASE_URL (created if missing), loads divisions and
   code tables, and creates one destination school per client (spread over four counties),
   as many origin schools in four other counties, their operators/approvers, county
   approvers, one pupil per chain and a bearer token per user (idempotent: a run prefix);
2. starts gunicorn (gthread workers) on a free port;
3. drives ``--chains`` full chains with ``--clients`` threads (stdlib ``http.client``,
   keep-alive): POST /transfers, /submit, then /approve by the destination county, the
   origin school and the origin county. Every ``--retry-every``-th approval is sent twice,
   as a double click would: the second must answer 409 and change nothing;
4. prints chains/s, p50/p95/max per action, errors, the 409s, and counts in the database
   the double transitions (two log rows leaving one state of one transfer) afterwards.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-" + uuid.uuid4().hex)
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("LOG_LEVEL", "ERROR")


def ensure_database() -> None:
    import psycopg2
    from urllib.parse import urlparse

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

    from registry.models import ApiToken, Membership, Pupil
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
        tokens[name] = ApiToken.issue(u, name="bench")[1]
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
            "pupil": pupil.national_number, "origin": origin.code, "dest": schools[dest_i].code,
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


def start_gunicorn(port: int, workers: int, threads: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "registry.wsgi", "-b", f"127.0.0.1:{port}", "-k", "gthread",
         "-w", str(workers), "--threads", str(threads), "--log-level", "warning", "--keep-alive", "30"],
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
    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def post(self, path: str, token: str, body: dict | None = None) -> tuple[int, dict, float]:
        payload = json.dumps(body or {}).encode()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        started = time.perf_counter()
        for attempt in range(2):
            try:
                self.conn.request("POST", path, body=payload, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        elapsed = (time.perf_counter() - started) * 1000
        return response.status, (json.loads(data) if data else {}), elapsed


def drive(port: int, jobs: "queue.Queue[dict]", stats: dict, lock: threading.Lock, retry_every: int,
          think_ms: int = 0) -> None:
    client = Client(port)
    counter = 0

    def record(action: str, status: int, body: dict, ms: float, expected: int = 200) -> bool:
        if think_ms:
            time.sleep(think_ms / 1000)  # the person reads the page before the next click
        with lock:
            stats["latency"][action].append(ms)
            if status != expected:
                stats["errors"].append((action, status, body.get("code"), body.get("message")))
        return status == expected

    while True:
        try:
            job = jobs.get_nowait()
        except queue.Empty:
            return
        status, body, ms = client.post("/api/v1/transfers", job["dest_op"], {
            "national_number": job["pupil"], "origin_school_code": job["origin"], "dest_school_code": job["dest"],
            "dest_grade": 3, "dest_class_number": 2, "reason": "压测"})
        if not record("apply", status, body, ms, 201):
            continue
        tid = body["id"]
        if not record("submit", *client.post(f"/api/v1/transfers/{tid}/submit", job["dest_ap"])):
            continue
        ok = True
        for party in ("dest_county", "origin_school", "origin_county"):
            ok = record("approve", *client.post(f"/api/v1/transfers/{tid}/approve", job[party]))
            if not ok:
                break
            counter += 1
            if retry_every and counter % retry_every == 0:
                status, body, ms = client.post(f"/api/v1/transfers/{tid}/approve", job[party])
                record("approve_again", status, body, ms, 409)
        if ok:
            with lock:
                stats["completed"] += 1


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def double_transitions(run: str) -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM (
                   SELECT s.transfer_id, s.from_state FROM transfers_transferstep s
                   JOIN transfers_transfer t ON t.id = s.transfer_id
                   JOIN registry_pupil p ON p.id = t.pupil_id
                   WHERE p.name LIKE '压测%%' AND s.action <> 'apply' AND s.actor_name LIKE %s
                   GROUP BY s.transfer_id, s.from_state HAVING count(*) > 1) d""",
            [f"bench-{run}-%"],
        )
        doubles = cursor.fetchone()[0]
        cursor.execute(
            """SELECT count(*) FROM transfers_transfer t JOIN transfers_transferstep s
                 ON s.transfer_id = t.id AND s.action = 'apply'
               WHERE t.state = 'completed' AND s.actor_name LIKE %s""",
            [f"bench-{run}-%"],
        )
        completed = cursor.fetchone()[0]
    return doubles, completed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--chains", type=int, default=400)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--retry-every", type=int, default=5, help="send every n-th approval twice (0: never)")
    parser.add_argument("--think-ms", type=int, default=0,
                        help="pause of each client after every answer (0: closed loop, as fast as possible)")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database for the benchmark")
    ensure_database()
    t0 = time.time()
    jobs, run = setup(args.clients, args.chains)
    print(f"setup: {len(jobs)} pupils, {args.clients * 2} schools in {time.time() - t0:.1f}s (run {run})")
    port = free_port()
    server = start_gunicorn(port, args.workers, args.threads)
    work: "queue.Queue[dict]" = queue.Queue()
    for job in jobs:
        work.put(job)
    stats = {"latency": defaultdict(list), "errors": [], "completed": 0}
    lock = threading.Lock()
    threads = [threading.Thread(target=drive, args=(port, work, stats, lock, args.retry_every, args.think_ms))
               for _ in range(args.clients)]
    started = time.perf_counter()
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    doubles, completed_db = double_transitions(run)
    print(f"machine: {os.cpu_count()} cores; gunicorn gthread {args.workers}x{args.threads}; "
          f"{args.clients} clients, think time {args.think_ms} ms; PostgreSQL {os.environ['DATABASE_URL'].rsplit('@', 1)[-1]}")
    print(f"chains completed: {stats['completed']}/{len(jobs)} in {wall:.1f}s = {stats['completed'] / wall:.1f} chains/s")
    requests = sum(len(v) for v in stats["latency"].values())
    print(f"requests: {requests} = {requests / wall:.0f} req/s")
    for action in ("apply", "submit", "approve", "approve_again"):
        values = stats["latency"].get(action)
        if values:
            print(f"  {action:<14} n={len(values):<5} p50={statistics.median(values):6.1f} ms  "
                  f"p95={percentile(values, 0.95):6.1f} ms  max={max(values):6.1f} ms")
    print(f"errors: {len(stats['errors'])}")
    for error in stats["errors"][:10]:
        print("  ", error)
    print(f"second approvals answered 409: {len(stats['latency'].get('approve_again', []))} sent")
    print(f"double transitions in the database: {doubles}; completed chains in the database: {completed_db}")


if __name__ == "__main__":
    main()
