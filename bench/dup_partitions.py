"""Sweep partitions that read only their own records: read time, records read and peak memory
per partition, against the whole-province read, on a demo province in one run.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_h19 REDIS_URL=redis://127.0.0.1:6379/10
    .venv/bin/python bench/dup_partitions.py [--province 44] [--partitions 1,4,16]
        [--score 0]          # partitions of each count that are also blocked and scored (first k)
        [--fill]             # fill the missing sweep buckets first (timed)

Each partition runs in its own process (``python bench/dup_partitions.py --child N p``), as
a Celery task would: the ids from the stored buckets (``duplicates.keys.partition_pupil_ids``),
the pupils and family members by id in chunks (``partition_records``; for one partition the
whole province, ``province_records``), then, when scored, ``matching.sweep_partition`` with
the database's ``phone_holders``. Prints per partition: the read time (ids / records), the
records read, the partition's blocks, pairs scored and matches, the CPU seconds and the
peak RSS of its process; per count the sums, and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def child(province: str, partitions: int, partition: int, score: bool) -> dict:
    from bench._db import setup_django

    setup_django()
    from duplicates.keys import partition_pupil_ids, partition_records, phone_holders, province_records
    from kernel import matching

    t0 = time.perf_counter()
    ids = len(partition_pupil_ids(province, partition, partitions)) if partitions > 1 else 0
    t1 = time.perf_counter()
    records = (partition_records(province, partition, partitions) if partitions > 1
               else province_records(province))
    t2 = time.perf_counter()
    out = {"partitions": partitions, "partition": partition, "ids_s": round(t1 - t0, 1),
           "read_s": round(t2 - t0, 1), "records": len(records)}
    if score:
        stats = matching.SweepStats()
        matches = matching.sweep_partition(records, partition, partitions, stats=stats,
                                           phone_holders=phone_holders(province) if partitions > 1 else None)
        t3 = time.perf_counter()
        out.update(score_s=round(t3 - t2, 1), blocks=stats.blocks, pairs_scored=stats.pairs_scored,
                   matches=len(matches), cases=sum(m.score >= matching.CASE_THRESHOLD for m in matches))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.update(cpu_s=round(usage.ru_utime + usage.ru_stime, 1), peak_rss_mib=usage.ru_maxrss // 1024, ids=ids)
    return out


def run_child(province: str, partitions: int, partition: int, score: bool) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--child", str(partitions), str(partition),
               "--province", province] + (["--scored"] if score else [])
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def fill(province: str) -> None:
    from bench._db import setup_django

    setup_django()
    from duplicates.keys import match_keys_fill_missing

    t0 = time.perf_counter()
    filled = match_keys_fill_missing(province)
    print(f"filled the keys of {filled} pupils in {time.perf_counter() - t0:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--province", default="44")
    parser.add_argument("--partitions", default="1,4,16")
    parser.add_argument("--score", type=int, default=0, help="score the first k partitions of each count")
    parser.add_argument("--fill", action="store_true")
    parser.add_argument("--child", nargs=2, type=int, metavar=("N", "P"))
    parser.add_argument("--scored", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.province, args.child[0], args.child[1], args.scored)), flush=True)
        return
    if args.fill:
        fill(args.province)
    for partitions in [int(n) for n in args.partitions.split(",")]:
        rows = []
        for partition in range(partitions):
            row = run_child(args.province, partitions, partition, partition < args.score)
            rows.append(row)
            print(json.dumps(row), f"load={os.getloadavg()[0]:.1f}", flush=True)
        reads = [r["read_s"] for r in rows]
        records = [r["records"] for r in rows]
        summary = (f"partitions={partitions} read per partition {min(reads)}-{max(reads)} s (sum {sum(reads):.1f}) "
                   f"records per partition {min(records)}-{max(records)} (sum {sum(records)}) "
                   f"peak RSS {max(r['peak_rss_mib'] for r in rows)} MiB")
        scored = [r for r in rows if "pairs_scored" in r]
        if scored:
            summary += (f" scored {len(scored)}: pairs {sum(r['pairs_scored'] for r in scored)} "
                        f"cases {sum(r['cases'] for r in scored)} score {sum(r['score_s'] for r in scored):.1f} s")
        print(summary, f"load={os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
