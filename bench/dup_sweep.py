"""End-to-end duplicate sweep timing: read pupils from PostgreSQL, block, score, write cases.

    .venv/bin/python bench/dup_sweep.py [--sizes 100000,300000,1000000]
        [--source postgres://postgres@127.0.0.1:5432/registry_bench_1m]
        [--target postgres://postgres@127.0.0.1:5432/registry_bench_dups]

Reads the first N active pupils (and their guardians' ID numbers) of the demo database
(read only), runs ``kernel.matching.find_matches`` (the same engine and blocking the
Celery partitions use; 2 processes on this 2-core machine), and writes one row per case
and two per member into scratch tables of the target database with COPY (the write the
sweep does, without the Django model layer). Prints one line of figures per size: wall
times, CPU seconds (this process and its workers), peak memory (this process / the largest
worker) and the load average at the end.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import time
from urllib.parse import urlparse

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def connect(url: str, *, create: bool = False):
    import psycopg2

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    if create:
        admin = psycopg2.connect(dbname="postgres", user=parts.username or "postgres", host=parts.hostname,
                                 port=parts.port)
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if not cursor.fetchone():
                cursor.execute(f'CREATE DATABASE "{name}"')
        admin.close()
    return psycopg2.connect(dbname=name, user=parts.username or "postgres", host=parts.hostname, port=parts.port)


def read(source, n: int):
    """The first ``n`` active pupils with their guardians' ID numbers and phones, as
    ``duplicates.keys.province_records`` reads them."""
    from kernel.matching import PupilKey, former_names

    with source.cursor() as cursor:
        cursor.execute(
            "SELECT id, name, former_name, sex, birth_date, id_number, county_code, id_type FROM registry_pupil "
            "WHERE status IN ('enrolled','suspended','dropped_out','abroad') ORDER BY id LIMIT %s", [n])
        pupils = cursor.fetchall()
        last = pupils[-1][0]
        cursor.execute("SELECT pupil_id, id_number, phone FROM registry_guardian WHERE pupil_id <= %s "
                       "AND (id_number <> '' OR phone <> '')", [last])
        guardians: dict[int, list[str]] = {}
        phones: dict[int, list[str]] = {}
        for pupil_id, number, phone in cursor:
            if number:
                guardians.setdefault(pupil_id, []).append(number)
            if phone:
                phones.setdefault(pupil_id, []).append(phone)
    return [PupilKey(pk, name, sex, birth, number or "", tuple(sorted(set(guardians.get(pk, ())))), county, id_type,
                     former_names(former), tuple(sorted(set(phones.get(pk, ())))))
            for pk, name, former, sex, birth, number, county, id_type in pupils]


def write(target, matches) -> None:
    with target.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_case_member; DROP TABLE IF EXISTS bench_case;"
                       "CREATE TABLE bench_case (id int primary key, low bigint, high bigint, score float, kind text,"
                       " reasons text); CREATE TABLE bench_case_member (case_id int, pupil_id bigint);")
        cases, members = io.StringIO(), io.StringIO()
        for i, m in enumerate(matches, start=1):
            reasons = "；".join(m.reasons).replace("\t", " ").replace("\n", " ").replace("\\", "/")
            cases.write(f"{i}\t{m.a_pk}\t{m.b_pk}\t{m.score}\t{m.kind}\t{reasons}\n")
            members.write(f"{i}\t{m.a_pk}\n{i}\t{m.b_pk}\n")
        cases.seek(0)
        members.seek(0)
        cursor.copy_from(cases, "bench_case")
        cursor.copy_from(members, "bench_case_member")
        cursor.execute("CREATE UNIQUE INDEX ON bench_case (low, high)")
    target.commit()


def main() -> None:
    from kernel.matching import SweepStats, find_matches

    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--source", default="postgres://postgres@127.0.0.1:5432/registry_bench_1m")
    parser.add_argument("--target", default="postgres://postgres@127.0.0.1:5432/registry_bench_dups")
    args = parser.parse_args()
    source, target = connect(args.source), connect(args.target, create=True)
    print(f"cpus={os.cpu_count()}")
    for n in [int(s) for s in args.sizes.split(",")]:
        cpu0 = _cpu_seconds()
        t0 = time.perf_counter()
        records = read(source, n)
        t1 = time.perf_counter()
        stats = SweepStats()
        matches = find_matches(records, stats=stats)
        t2 = time.perf_counter()
        write(target, matches)
        t3 = time.perf_counter()
        print(f"n={len(records):>8} read={t1 - t0:6.1f}s block+score={t2 - t1:6.1f}s write={t3 - t2:5.1f}s "
              f"total={t3 - t0:6.1f}s cpu={_cpu_seconds() - cpu0:6.1f}s peak_rss={_peak_mib()}MiB "
              f"blocks={stats.blocks} pairs_scored={stats.pairs_scored} cases={len(matches)} "
              f"load={os.getloadavg()[0]:.1f}", flush=True)
        del records, matches


def _cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the forked workers): on a
    shared machine a fairer figure than wall time (PostgreSQL's own CPU is not counted)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _peak_mib() -> str:
    """Peak resident memory of this process / of the largest forked worker, in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    return f"{own}/{child}"


if __name__ == "__main__":
    main()
