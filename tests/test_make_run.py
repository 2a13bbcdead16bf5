"""``make run``'s setup path on an empty ``var/``: embedded servers start, the database is
migrated, demo data loads, /healthz answers, and Ctrl-C stops every process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def var_parent():
    """A folder the embedded PostgreSQL's own user can reach. Not under pytest's base
    temporary folder: every pytest run on the machine resets that one to 0700."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="registry-make-run-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_make_run_setup_serves_and_stops(var_parent):
    var_dir = var_parent / "var"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TEST_DATABASE_NAME")}
    env["REGISTRY_VAR_DIR"] = str(var_dir)
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.devserver", "--port", str(port), "--demo-pupils", "300", "--workers", "1"],
        cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    output: list[str] = []
    try:
        deadline = time.time() + 240
        ready = False
        while time.time() < deadline and process.poll() is None:
            line = process.stdout.readline()
            output.append(line)
            if "Ctrl-C" in line:
                ready = True
                break
        assert ready, "".join(output)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as response:
            assert "登录" in response.read().decode()
        assert (var_dir / "pgdata" / "PG_VERSION").exists()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    rest = process.stdout.read()
    assert "已停止" in rest, "".join(output) + rest
    # Every child is gone: nothing listens on the port, the embedded servers are down.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    assert not (var_dir / "redis.sock").exists() or not _alive(var_dir / "redis.sock")
    assert not (var_dir / "pgdata" / "postmaster.pid").exists()


def _alive(sock: Path) -> bool:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(str(sock))
        return True
    except OSError:
        return False
    finally:
        s.close()
