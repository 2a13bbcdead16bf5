"""Create (or recreate) and migrate the benchmark database named by ``DATABASE_URL``.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench_1m \\
    REDIS_URL=redis://127.0.0.1:6379/9 .venv/bin/python bench/_db.py [--fresh]

``--fresh`` drops the database first. Benchmarks import ``setup_django`` from here.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("Set DATABASE_URL to the benchmark database, e.g. "
                 "postgres://postgres@127.0.0.1:5432/registry_bench_1m")
    return url


def ensure_database(url: str, *, fresh: bool = False) -> None:
    import psycopg2
    from psycopg2 import sql

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(
        dbname="postgres", user=parts.username or "postgres", password=parts.password,
        host=parts.hostname, port=parts.port,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        if fresh:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")
    admin.close()


def migrate() -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, check=True)


def setup_django() -> None:
    database_url()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
    import django

    django.setup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the database")
    args = parser.parse_args()
    ensure_database(database_url(), fresh=args.fresh)
    migrate()
    print("database ready")


if __name__ == "__main__":
    main()
