"""Two registries on this machine for the exchange tests: each its own database (copied
from the test database), web server (``runserver``) and Celery worker (its own Redis
database), and each the other's peer with its own Ed25519 key."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2

BASE_DIR = Path(__file__).resolve().parents[2]
MARK = "@@registry@@"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_copy(server_url: str, template: str, name: str) -> bool:
    """``name`` as a fresh copy of ``template`` (its connections are ended first); an empty
    database when ``template`` does not exist or has no tables (False)."""
    connection = psycopg2.connect(f"{server_url.rstrip('/')}/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template])
        if cursor.fetchone() is None:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
            return False
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname IN (%s, %s)"
                       " AND pid <> pg_backend_pid()", [name, template])
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    connection.close()
    return True


CLAIM_KEY = "registry-exchange-test-claim"


def redis_claim(base_url: str, owner: str, count: int = 2) -> list[str]:
    """``count`` Redis databases nobody uses (holding nothing but our claim), so two test
    runs on one machine never share a broker (the claim expires if a run is killed)."""
    import redis

    claimed = []
    for number in range(1, 16):
        client = redis.Redis.from_url(f"{base_url}/{number}")
        if client.set(CLAIM_KEY, owner, nx=True, ex=3600):
            if client.dbsize() == 1:
                claimed.append(f"{base_url}/{number}")
                if len(claimed) == count:
                    return claimed
            else:
                client.delete(CLAIM_KEY)  # someone else's data is there: leave it alone
    redis_release(claimed, owner)
    raise RuntimeError("no free Redis database for the two registries")


def redis_release(urls: list[str], owner: str) -> None:
    import redis

    for url in urls:
        client = redis.Redis.from_url(url)
        if client.get(CLAIM_KEY) == owner.encode():
            client.flushdb()


def database_drop(server_url: str, name: str) -> None:
    connection = psycopg2.connect(f"{server_url.rstrip('/')}/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
    connection.close()


@dataclass
class Registry:
    """One running instance."""

    label: str
    province: str
    database_url: str
    redis_url: str
    private_key: str
    public_key: str
    port: int = field(default_factory=free_port)
    server: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        env = dict(os.environ)
        env.update({
            "DJANGO_SETTINGS_MODULE": "config.settings.development", "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url, "EXCHANGE_PROVINCES": self.province,
            "EXCHANGE_PRIVATE_KEY": self.private_key, "CELERY_QUEUE": f"exchange-{self.label}",
            "EXCHANGE_BACKOFF_SECONDS": "0.5", "EXCHANGE_BACKOFF_MAX_SECONDS": "2", "EXCHANGE_MAX_ATTEMPTS": "1000",
            "EXCHANGE_QUERY_TIMEOUT": "2", "EXCHANGE_DELIVERY_TIMEOUT": "3", "LOG_LEVEL": "ERROR",
            "PYTHONUNBUFFERED": "1", "DEBUG": "0",
        })
        return env

    def run(self, code: str) -> object:
        """Run Python in a Django shell of this registry; returns what it printed after MARK, as JSON."""
        done = subprocess.run([sys.executable, "manage.py", "shell", "-v", "0", "-c", code], env=self.env(),
                              cwd=BASE_DIR, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{self.label}: {done.stderr[-3000:]}")
        for line in done.stdout.splitlines():
            if line.startswith(MARK):
                return json.loads(line[len(MARK):])
        return None

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], env=self.env(), cwd=BASE_DIR, check=True, timeout=900)

    def query(self, sql: str, params=()) -> list[tuple]:
        connection = psycopg2.connect(self.database_url)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        finally:
            connection.close()

    def start_server(self) -> None:
        self.server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload", "--skip-checks"],
            env=self.env(), cwd=BASE_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1).read()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.label}: the web server did not start")

    def stop_server(self) -> None:
        _stop(self.server)
        self.server = None

    def start_worker(self) -> None:
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-Q", f"exchange-{self.label}",
             "--loglevel", "ERROR", "--without-heartbeat", "--without-mingle", "--without-gossip"],
            env=self.env(), cwd=BASE_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        self.stop_server()
        _stop(self.worker)
        self.worker = None


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


SETUP = """
import json
from django.core.management import call_command
from provinces.models import Division
from schools.models import School
from accounts.models import ApiToken, Membership
from exchange.models import Peer
from tests.factories import make_user
if not Division.objects.filter(code="44").exists():
    call_command("loaddata", "fixtures/divisions.json", "fixtures/codes.json", verbosity=0)
school = School.objects.create(code={school_code!r}, name={school_name!r}, county_id={county!r}, stage="primary")
operator = make_user("op-{label}", role=Membership.Role.OPERATOR, school=school)
make_user("province-{label}", role=Membership.Role.OPERATOR, division=Division.objects.get(code={province!r}))
_, token = ApiToken.issue(operator, access=ApiToken.Access.WRITE)
approver = make_user("approver-{label}", role=Membership.Role.APPROVER, school=school)
county = make_user("county-{label}", role=Membership.Role.APPROVER, division=Division.objects.get(code={county!r}))
_, approver_token = ApiToken.issue(approver, access=ApiToken.Access.WRITE)
_, county_token = ApiToken.issue(county, access=ApiToken.Access.WRITE)
Peer.objects.create(name={peer_name!r}, provinces=[{peer_province!r}], base_url={peer_url!r},
                    public_key={peer_key!r})
print({mark!r} + json.dumps({{"token": token, "school": school.code, "approver": approver_token,
                               "county": county_token}}))
"""
