"""Our duplicate-matching engine against a Splink (DuckDB) baseline on the labelled generator.

    PYTHONPATH=. .venv/bin/python bench/dup_splink.py                  # n = 100,000, dup_quality's seed
    PYTHONPATH=. .venv/bin/python bench/dup_splink.py --n 1000000
    PYTHONPATH=. .venv/bin/python bench/dup_splink.py --skip-engine --threshold 0.95

Needs the ``bench`` extra (``pip install "splink>=4" duckdb``). Both matchers see the same
``generate(n, seed)`` records; for each the script prints wall time, pairs predicted,
precision and recall overall and per duplicate kind, and the false positives on the hard
negatives (twins, namesakes, siblings) and on unlabelled pairs, counted as in
``bench/dup_quality.py``.

The Splink model (Fellegi-Sunter, trained unsupervised: no labels are used):

* name: one comparison with levels exact name > exact pinyin (``name_pinyin``, toneless,
  computed with pypinyin, so homophones and traditional forms agree) > Jaro-Winkler of the
  name >= 0.85 > Jaro-Winkler of the pinyin >= 0.90 > else. Name and pinyin are kept in one
  comparison so that the two (highly dependent) signals are not counted twice;
* birth date (ISO string): exact / Levenshtein <= 1 / else;  sex: exact;
* ID number: exact / Levenshtein <= 1 / <= 2 (an adjacent transposition) / else;
* guardian IDs (array): intersection >= 2 / >= 1 / else.

Blocking for prediction: birth_date+sex, name_pinyin+birth year, first guardian ID,
first 14 characters of the ID number. Training: lambda from a deterministic rule (same
name, birth date, sex and a shared guardian; recall assumed 0.5), u by random sampling,
m by EM on the birth_date+sex and name_pinyin+birth-year blocks. Prediction keeps pairs
with match probability >= ``--threshold`` (0.9).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections import Counter
from functools import cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.dup_quality import DEFAULT_SEED  # noqa: E402
from bench.dupgen import DUPLICATE_KINDS, NEGATIVE_KINDS, generate  # noqa: E402
from kernel.matching import CASE_THRESHOLD, find_matches  # noqa: E402


def counts(found: set[frozenset[int]], truth: set[frozenset[int]], kinds: dict) -> dict:
    """Precision, recall, recall per kind and false positives per kind, as dup_quality does."""
    true_positives = found & truth
    per_kind = {}
    for kind in DUPLICATE_KINDS:
        pairs = {pair for pair, k in kinds.items() if k == kind}
        per_kind[kind] = (len(pairs & found), len(pairs))
    return {
        "predicted": len(found),
        "truth": len(truth),
        "precision": len(true_positives) / len(found) if found else 1.0,
        "recall": len(true_positives) / len(truth) if truth else 1.0,
        "per_kind": per_kind,
        "false_positives": Counter(kinds.get(pair, "unlabelled") for pair in found - truth),
        "negatives": {kind: sum(1 for k in kinds.values() if k == kind) for kind in NEGATIVE_KINDS},
    }


def report(title: str, wall: float, result: dict, extra: str = "") -> None:
    print(f"\n== {title}: {wall:.1f} s wall{extra}")
    print(f"  pairs predicted {result['predicted']:,}  precision {result['precision']:.4f}  "
          f"recall {result['recall']:.4f}  ({result['truth']:,} true duplicates)")
    print("  recall per kind:")
    for kind, (hit, total) in result["per_kind"].items():
        print(f"    {kind:<18} {hit:>6}/{total:<6} {hit / total if total else 1.0:.4f}")
    print("  false positives:")
    for kind in (*NEGATIVE_KINDS, "unlabelled"):
        count = result["false_positives"].get(kind, 0)
        total = result["negatives"].get(kind)
        print(f"    {kind:<18} {count:>6}" + (f" of {total}" if total is not None else ""))


# Splink -----------------------------------------------------------------------------------------


@cache
def pinyin_of(name: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return " ".join(lazy_pinyin(name, style=Style.NORMAL))


def splink_table(records):
    """The records as a pyarrow table with the columns the Splink model uses."""
    import pyarrow as pa

    columns: dict[str, list] = {key: [] for key in (
        "unique_id", "name", "name_pinyin", "sex", "birth_date", "birth_year", "id_number",
        "id_prefix", "guardian_ids", "guardian1")}
    for r in records:
        columns["unique_id"].append(r.pk)
        columns["name"].append(r.name or None)
        columns["name_pinyin"].append(pinyin_of(r.name) if r.name else None)
        columns["sex"].append(r.sex or None)
        columns["birth_date"].append(r.birth_date.isoformat() if r.birth_date else None)
        columns["birth_year"].append(r.birth_date.year if r.birth_date else None)
        columns["id_number"].append(r.id_number or None)
        columns["id_prefix"].append(r.id_number[:14] if r.id_number else None)
        columns["guardian_ids"].append(list(r.guardian_ids) if r.guardian_ids else None)
        columns["guardian1"].append(r.guardian_ids[0] if r.guardian_ids else None)
    return pa.table({
        **{key: pa.array(values, type=pa.string()) for key, values in columns.items()
           if key not in ("unique_id", "birth_year", "guardian_ids")},
        "unique_id": pa.array(columns["unique_id"], type=pa.int64()),
        "birth_year": pa.array(columns["birth_year"], type=pa.int32()),
        "guardian_ids": pa.array(columns["guardian_ids"], type=pa.list_(pa.string())),
    })


def run_splink(records, *, threshold: float, u_pairs: float, em_max_pairs: float | None,
               threads: int | None, seed: int) -> tuple[set[frozenset[int]], dict[str, float]]:
    import duckdb
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    timings: dict[str, float] = {}
    started = time.perf_counter()
    table = splink_table(records)
    timings["prepare"] = time.perf_counter() - started

    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    db_api = DuckDBAPI(con)
    t0 = time.perf_counter()
    df = db_api.register(table, table_name="pupils")

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name"),
            cll.ExactMatchLevel("name"),
            cll.ExactMatchLevel("name_pinyin"),
            cll.JaroWinklerLevel("name", 0.85),
            cll.JaroWinklerLevel("name_pinyin", 0.90),
            cll.ElseLevel(),
        ],
        comparison_description="name: exact / pinyin exact / JW name / JW pinyin",
    )
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            name,
            cl.LevenshteinAtThresholds("birth_date", [1]),
            cl.ExactMatch("sex"),
            cl.LevenshteinAtThresholds("id_number", [1, 2]),
            cl.ArrayIntersectAtSizes("guardian_ids", [2, 1]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("birth_date", "sex"),
            block_on("name_pinyin", "birth_year"),
            block_on("guardian1"),
            block_on("id_prefix"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(df, settings, log_level=logging.WARNING)

    t = time.perf_counter()
    linker.training.estimate_probability_two_random_records_match(
        ["l.name = r.name and l.birth_date = r.birth_date and l.sex = r.sex "
         "and list_has_any(l.guardian_ids, r.guardian_ids)"],
        recall=0.5,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
    for rule in (block_on("birth_date", "sex"), block_on("name_pinyin", "birth_year")):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True, max_pairs=em_max_pairs)
    timings["train"] = time.perf_counter() - t

    t = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    rows = predictions.as_duckdbpyrelation().select("unique_id_l, unique_id_r").fetchall()
    timings["predict"] = time.perf_counter() - t
    timings["splink"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - started
    found = {frozenset((a, b)) for a, b in rows}
    timings["lambda"] = linker._settings_obj._probability_two_random_records_match
    if os.environ.get("DUP_SPLINK_SHOW_MODEL"):
        for comparison in linker.misc.save_model_to_json()["comparisons"]:
            for level in comparison["comparison_levels"]:
                print(f"  {comparison['output_column_name']:<12} {level.get('label_for_charts', '')[:48]:<48}"
                      f" m={level.get('m_probability')} u={level.get('u_probability')}")
    return found, timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--threshold", type=float, default=0.9, help="Splink match probability")
    parser.add_argument("--u-pairs", type=float, default=1e7, help="u estimation max_pairs")
    parser.add_argument("--em-max-pairs", type=float, default=None,
                        help="cap on EM training pairs per rule (default: all blocked pairs)")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all)")
    parser.add_argument("--processes", type=int, default=None, help="find_matches processes")
    parser.add_argument("--skip-engine", action="store_true")
    parser.add_argument("--skip-splink", action="store_true")
    args = parser.parse_args(argv)

    import splink

    started = time.perf_counter()
    records, truth, kinds = generate(args.n, args.seed)
    one, five, _ = os.getloadavg()
    print(f"n={args.n:,} seed={args.seed}: generated in {time.perf_counter() - started:.1f} s; "
          f"{len(truth):,} true duplicate pairs; splink {splink.__version__}; "
          f"load {one:.1f}/{five:.1f} on {os.cpu_count()} cores")

    if not args.skip_engine:
        started = time.perf_counter()
        matches = find_matches(records, processes=args.processes)
        wall = time.perf_counter() - started
        report(f"kernel.matching.find_matches (score >= {CASE_THRESHOLD})", wall,
               counts({m.pair for m in matches}, truth, kinds))

    if not args.skip_splink:
        found, timings = run_splink(records, threshold=args.threshold, u_pairs=args.u_pairs,
                                    em_max_pairs=args.em_max_pairs, threads=args.threads,
                                    seed=args.seed % 2**31)
        extra = (f" (table prep {timings['prepare']:.1f} s incl. pinyin, train "
                 f"{timings['train']:.1f} s, predict {timings['predict']:.1f} s; "
                 f"lambda {timings['lambda']:.3g})")
        report(f"Splink {splink.__version__} DuckDB (match probability >= {args.threshold})",
               timings["total"], counts(found, truth, kinds), extra)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
