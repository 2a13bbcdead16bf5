"""``make run``: one command that serves the registry with demo data.

Starts the embedded PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL are set),
migrates, loads the code tables, divisions and demo data (once: a second run reuses
``var/``), then runs a Celery worker, Celery beat and the web server until Ctrl-C, which
stops every process it started.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from devtools import embedded

BASE_DIR = Path(__file__).resolve().parent.parent


def _manage(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


def _wait_ready(url: str, processes: list[subprocess.Popen], timeout: float = 60) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(p.poll() is not None for p in processes):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--demo-pupils", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    args = parser.parse_args(argv)

    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
    var_dir = Path(env.get("REGISTRY_VAR_DIR", BASE_DIR / "var"))
    started_embedded = False
    if not env.get("DATABASE_URL") or not env.get("REDIS_URL"):
        print(f"启动内置 PostgreSQL 与 Redis（数据保存在 {var_dir}）…", flush=True)
        if not env.get("DATABASE_URL"):
            env["DATABASE_URL"] = embedded.postgres_url(var_dir)
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = embedded.redis_url(var_dir)
        started_embedded = True

    _manage("migrate", "--no-input", "-v", "0", env=env)
    _manage("load_demo", "--pupils", str(args.demo_pupils), env=env)

    python = sys.executable
    processes = [
        subprocess.Popen(
            [python, "-m", "celery", "-A", "config", "worker", "-c", str(args.workers), "--loglevel", "WARNING"],
            cwd=BASE_DIR, env=env,
        ),
        subprocess.Popen(
            [python, "-m", "celery", "-A", "config", "beat", "--loglevel", "WARNING",
             "--schedule", str(var_dir / "celerybeat-schedule")],
            cwd=BASE_DIR, env=env,
        ),
        subprocess.Popen(
            [python, "manage.py", "runserver", "--noreload", f"{args.host}:{args.port}"], cwd=BASE_DIR, env=env
        ),
    ]

    def stop(*_args) -> None:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        if started_embedded:
            embedded.redis_stop(var_dir)
            embedded.postgres_stop(var_dir)
        print("已停止。", flush=True)

    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    url = f"http://{args.host}:{args.port}"
    try:
        if not _wait_ready(f"{url}/healthz", processes):
            print("服务未能启动，请查看上面的输出。", flush=True)
            stop()
            return 1
        password = env.get("DEMO_PASSWORD", "xueji-demo-2026")
        print(
            f"\n学籍系统已启动: {url}/   API 文档: {url}/api/v1/docs   管理后台: {url}/admin/\n"
            f"演示账号（密码 {password}）：44.admin、44.approver、4401.operator、<区县代码>.approver、"
            f"<学校标识码>.operator … 完整列表见上方 load_demo 输出。\n按 Ctrl-C 停止全部进程。\n",
            flush=True,
        )
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        print("有进程意外退出，正在停止其余进程。", flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
