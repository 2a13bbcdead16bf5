"""Per-run resources for .ci/run, so two runs on one machine never collide.

    python .ci/resources.py redis-claim REDIS_BASE_URL RUN_ID   -> prints the claimed DB's URL
    python .ci/resources.py redis-release REDIS_URL RUN_ID      -> empties and releases it
    python .ci/resources.py drop-database DATABASE_URL NAME     -> drops the run's test database

A Redis DB is claimed with ``SET registry-ci-claim RUN_ID NX EX 21600`` on a DB that holds
nothing else (DB 0 is left to others); the claim expires on its own if a run is killed.
"""

from __future__ import annotations

import sys

CLAIM_KEY = "registry-ci-claim"
CLAIM_SECONDS = 6 * 3600


def redis_claim(base_url: str, run_id: str, databases: int = 16) -> str:
    import redis

    base = base_url.rstrip("/").rsplit("/", 1)[0] if base_url.count("/") > 2 else base_url.rstrip("/")
    for number in range(1, databases):
        client = redis.Redis.from_url(f"{base}/{number}")
        if client.set(CLAIM_KEY, run_id, nx=True, ex=CLAIM_SECONDS):
            if client.dbsize() == 1:
                return f"{base}/{number}"
            client.delete(CLAIM_KEY)  # someone else's data is there: leave it alone
    raise SystemExit("no free Redis database (1-15) to claim")


def redis_release(url: str, run_id: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    if client.get(CLAIM_KEY) == run_id.encode():
        client.flushdb()


def drop_database(url: str, name: str) -> None:
    import psycopg2

    connection = psycopg2.connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "redis-claim":
        print(redis_claim(*args))
    elif command == "redis-release":
        redis_release(*args)
    elif command == "drop-database":
        drop_database(*args)
    else:
        raise SystemExit(__doc__)
