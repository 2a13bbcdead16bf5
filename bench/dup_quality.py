"""Precision and recall of the duplicate-matching engine on the labelled generator.

    PYTHONPATH=. python bench/dup_quality.py                 # n = 100,000, the committed seed
    PYTHONPATH=. python bench/dup_quality.py --n 5000 --seed 3
    PYTHONPATH=. python bench/dup_quality.py --scale         # also time 100 k, 300 k and 1 M

Prints precision and recall overall and per duplicate kind, the false positives on each
kind of hard negative (and on unlabelled pairs), and how long ``find_matches`` took.
Targets: recall ≥ 0.97, precision ≥ 0.95; a 1 M sweep ≤ 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.dupgen import DUPLICATE_KINDS, NEGATIVE_KINDS, generate  # noqa: E402
from kernel.matching import CASE_THRESHOLD, SweepStats, explain_pair, find_matches  # noqa: E402

DEFAULT_SEED = 20240611


def evaluate(n: int, seed: int, *, processes: int | None = None, verbose: bool = True) -> dict:
    started = time.perf_counter()
    records, truth, kinds = generate(n, seed)
    generated = time.perf_counter() - started
    stats = SweepStats()
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    matches = find_matches(records, processes=processes, stats=stats)
    swept = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    found = {m.pair for m in matches}
    by_kind: dict[str, list[int]] = {}  # the engine's kind of a reported pair -> [true, reported]
    for m in matches:
        counts = by_kind.setdefault(m.kind, [0, 0])
        counts[0] += m.pair in truth
        counts[1] += 1
    true_positives = found & truth
    precision = len(true_positives) / len(found) if found else 1.0
    recall = len(true_positives) / len(truth) if truth else 1.0
    per_kind = {}
    for kind in DUPLICATE_KINDS:
        pairs = {pair for pair, k in kinds.items() if k == kind}
        hit = len(pairs & found)
        per_kind[kind] = (hit, len(pairs))
    misses: dict[str, list] = {}
    for pair in truth - found:
        misses.setdefault(kinds.get(pair, "?"), []).append(pair)
    false_positives = Counter(kinds.get(pair, "unlabelled") for pair in found - truth)
    negatives = {kind: sum(1 for k in kinds.values() if k == kind) for kind in NEGATIVE_KINDS}
    by_pk = {record.pk: record for record in records}
    scores: dict[str, list[float]] = {}
    for pair, kind in kinds.items():
        a, b = sorted(pair)
        scores.setdefault(kind, []).append(explain_pair(by_pk[a], by_pk[b]).score)
    result = {
        "n": n, "seed": seed, "precision": precision, "recall": recall, "per_kind": per_kind,
        "false_positives": dict(false_positives), "negatives": negatives,
        "generate_s": generated, "sweep_s": swept, "sweep_cpu_s": cpu, "stats": stats, "matches": len(found),
        "truth": len(truth), "scores": scores, "by_kind": by_kind, "misses": misses,
        "wrong": [(kinds.get(m.pair, "unlabelled"), m) for m in matches if m.pair not in truth],
        "by_pk": by_pk,
    }
    if verbose:
        report(result)
    return result


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the forked sweep workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f}/{five:.1f} on {os.cpu_count()} cores"


def report(result: dict) -> None:
    stats = result["stats"]
    print(f"n={result['n']:,} seed={result['seed']} threshold={CASE_THRESHOLD}")
    print(f"  precision {result['precision']:.4f}  recall {result['recall']:.4f}  "
          f"({result['matches']} reported, {result['truth']} true duplicates)")
    print("  recall per kind:")
    for kind, (hit, total) in result["per_kind"].items():
        share = hit / total if total else 1.0
        print(f"    {kind:<18} {hit:>5}/{total:<5} {share:.4f}")
    print("  precision per kind the engine reported (true / reported):")
    for kind, (true, reported) in sorted(result["by_kind"].items()):
        print(f"    {kind:<18} {true:>5}/{reported:<5} {true / reported:.4f}")
    if os.environ.get("DUP_QUALITY_SHOW"):
        by_pk = result["by_pk"]
        for kind, pairs in sorted(result["misses"].items()):
            for pair in pairs[:5]:
                a, b = (by_pk[pk] for pk in sorted(pair))
                print(f"    missed {kind}: {a}\n                 {b}\n      {explain_pair(a, b)}")
        for kind, m in result["wrong"][:10]:
            a, b = by_pk[m.a_pk], by_pk[m.b_pk]
            print(f"    wrong {kind}: {a}\n                 {b}\n      {m}")
    print("  false positives:")
    for kind in (*NEGATIVE_KINDS, "unlabelled"):
        count = result["false_positives"].get(kind, 0)
        total = result["negatives"].get(kind)
        print(f"    {kind:<18} {count:>5}" + (f" of {total}" if total is not None else ""))
    print(f"  scores of the labelled pairs (min / median / max; threshold {CASE_THRESHOLD}):")
    for kind in (*DUPLICATE_KINDS, *NEGATIVE_KINDS):
        values = sorted(result["scores"].get(kind, ()))
        if values:
            print(f"    {kind:<18} {values[0]:.2f} / {values[len(values) // 2]:.2f} / {values[-1]:.2f}")
    print(f"  generate {result['generate_s']:.1f} s, find_matches {result['sweep_s']:.1f} s wall, "
          f"{result['sweep_cpu_s']:.1f} s CPU "
          f"({stats.pairs_scored:,} pairs scored of {stats.pairs_considered:,} considered, "
          f"{stats.blocks:,} blocks, {stats.oversized_blocks} oversized; {_load()})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--processes", type=int, default=None, help="default: 2 above 200 k records")
    parser.add_argument("--scale", action="store_true", help="also time find_matches at 100 k, 300 k, 1 M")
    args = parser.parse_args(argv)
    evaluate(args.n, args.seed, processes=args.processes)
    if args.scale:
        print("\nscale (find_matches wall time):")
        for n in (100_000, 300_000, 1_000_000):
            result = evaluate(n, args.seed, processes=args.processes, verbose=False)
            print(f"  {n:>9,}: {result['sweep_s']:6.1f} s wall, {result['sweep_cpu_s']:6.1f} s CPU  "
                  f"precision {result['precision']:.4f} recall {result['recall']:.4f}  "
                  f"({result['stats'].pairs_scored:,} pairs scored; {_load()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
