"""CI runs on one machine never share a Redis DB or a test database, and ``make test`` on
the embedded servers leaves no process behind."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR / ".ci"))

import resources  # noqa: E402  (.ci/resources.py)


def test_two_runs_claim_different_redis_databases_and_release_them():
    url = settings.REDIS_URL
    if not url.startswith("redis://"):
        pytest.skip("needs a Redis server on TCP")
    base = url.rsplit("/", 1)[0]
    first, second = f"ci-{uuid.uuid4().hex}", f"ci-{uuid.uuid4().hex}"
    a = resources.redis_claim(base, first)
    try:
        b = resources.redis_claim(base, second)
        try:
            assert a != b
            assert not a.endswith("/0") and not b.endswith("/0")
        finally:
            resources.redis_release(b, second)
    finally:
        resources.redis_release(a, first)
    import redis

    assert redis.Redis.from_url(a).get(resources.CLAIM_KEY) is None


def test_a_database_in_use_is_never_claimed():
    url = settings.REDIS_URL
    if not url.startswith("redis://"):
        pytest.skip("needs a Redis server on TCP")
    import redis

    ours = redis.Redis.from_url(url)
    ours.set("registry-test-marker", "1")
    try:
        run = f"ci-{uuid.uuid4().hex}"
        claimed = resources.redis_claim(url.rsplit("/", 1)[0], run)
        resources.redis_release(claimed, run)
        assert claimed != url
    finally:
        ours.delete("registry-test-marker")


def _alive(sock: Path) -> bool:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(str(sock))
        return True
    except OSError:
        return False
    finally:
        s.close()


@pytest.mark.slow
def test_make_test_on_the_embedded_servers_leaves_no_process_behind(tmp_path):
    var_dir = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TEST_DATABASE_NAME")}
    env["REGISTRY_VAR_DIR"] = str(var_dir)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--create-db", "-p", "no:randomly",
         "tests/config/test_health.py::test_liveness_answers_without_asking_the_database",
         "tests/registry/test_reference_data.py::test_a_second_deploy_keeps_edited_divisions_and_codes"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "2 passed" in result.stdout
    assert (var_dir / "pgdata" / "PG_VERSION").exists(), "the embedded PostgreSQL was used"
    assert not (var_dir / "pgdata" / "postmaster.pid").exists(), "embedded PostgreSQL still running"
    assert not _alive(var_dir / "redis.sock"), "embedded Redis still running"
