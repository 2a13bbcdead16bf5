"""Our duplicate-matching engine against a Splink (DuckDB) baseline on the labelled generator.

    PYTHONPATH=. .venv/bin/python bench/dup_splink.py                  # n = 100,000, dup_quality's seed
    PYTHONPATH=. .venv/bin/python bench/dup_splink.py --n 1000000
    PYTHONPATH=. .venv/bin/python bench/dup_splink.py --skip-engine --threshold 0.95

Needs the ``bench`` extra (``pip install "splink>=4" duckdb``). Both matchers see the same
``generate(n, seed)`` records; for each the script prints wall time, pairs predicted,
precision and recall overall and per duplicate kind, and the false positives on the hard
negatives (twins, namesakes, siblings) and on unlabelled pairs, counted as in
``bench/dup_quality.py``.

Our side runs end to end as a sweep does: the generated records are first written to
scratch tables of a PostgreSQL database (``--postgres``, not timed), then timed: read them
back (pupils, then guardians' ID numbers and phones), block and score (``find_matches``),
write the cases with COPY. Splink gets the records in memory (a head start: no database
read) and is timed from building its input table (pinyin, t2s) to the predictions.

The Splink model (Fellegi-Sunter, trained unsupervised: no labels are used), as a careful
user would set it up for Chinese names:

* features computed in Python: the name in simplified characters (OpenCC t2s), its
  toneless pinyin (pypinyin), the pinyin of the given name, the 曾用名 in pinyin (array), the
  ID without its birth part (region + sequence), the guardians' ID numbers and phones
  (arrays);
* name: exact (simplified) > same pinyin > one record's name is the other's 曾用名 (pinyin)
  > Jaro-Winkler of the pinyin >= 0.92 > same given-name pinyin > else;
* birth date (ISO string): exact / Damerau-Levenshtein <= 1 / else;  sex: exact;
* ID number: exact / Damerau-Levenshtein <= 1 / <= 2 / the same but for the birth part /
  else;
* family: a guardian ID shared > a guardian phone shared > else (null when neither side
  has either on file).

Blocking for prediction: birth date + sex, name pinyin + birth year, 曾用名 pinyin against
name pinyin (both ways) + birth year, each guardian ID and each phone (arrays exploded),
ID region + birth (first 14 characters), ID without birth + surname pinyin. Training:
lambda from a deterministic rule (same simplified name, birth date and sex and a shared
guardian; recall assumed 0.6), u by random sampling (``--u-pairs``), m by EM on four
blockings (birth date + sex, name pinyin + birth year, first guardian, ID region + birth).
Prediction keeps pairs with match probability >= ``--threshold`` (0.9); the script also
prints the best F1 any threshold would have given (chosen with the labels, which a real
user does not have: an upper bound for Splink).
"""

from __future__ import annotations

import argparse
import io
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


# Our sweep, end to end through PostgreSQL ----------------------------------------------------------


def load(conn, records) -> None:
    """The generated records as scratch pupil and guardian tables (not timed)."""
    with conn.cursor() as cursor:
        cursor.execute(
            "DROP TABLE IF EXISTS bench_guardian; DROP TABLE IF EXISTS bench_pupil;"
            "CREATE TABLE bench_pupil (id bigint primary key, name text, former_name text, sex text, birth_date date,"
            " id_number text, id_type text, county_code text);"
            "CREATE TABLE bench_guardian (pupil_id bigint, id_number text, phone text);")
        pupils, guardians = io.StringIO(), io.StringIO()
        for r in records:
            pupils.write(f"{r.pk}\t{r.name}\t{'、'.join(r.former_names)}\t{r.sex}\t{r.birth_date.isoformat()}\t"
                         f"{r.id_number}\t{r.id_type}\t{r.county}\n")
            numbers, phones = r.guardian_ids, r.guardian_phones
            for i in range(max(len(numbers), len(phones))):
                number, phone = numbers[i] if i < len(numbers) else "", phones[i] if i < len(phones) else ""
                guardians.write(f"{r.pk}\t{number}\t{phone}\n")
        pupils.seek(0)
        guardians.seek(0)
        cursor.copy_from(pupils, "bench_pupil")
        cursor.copy_from(guardians, "bench_guardian")
        cursor.execute("CREATE INDEX ON bench_guardian (pupil_id); ANALYZE bench_pupil; ANALYZE bench_guardian")
    conn.commit()


def read(conn):
    """The records as a sweep reads them (``duplicates.keys.province_records``): two queries."""
    from kernel.matching import PupilKey, former_names

    guardians: dict[int, list[str]] = {}
    phones: dict[int, list[str]] = {}
    with conn.cursor() as cursor:
        cursor.execute("SELECT pupil_id, id_number, phone FROM bench_guardian")
        for pupil_id, number, phone in cursor:
            if number:
                guardians.setdefault(pupil_id, []).append(number)
            if phone:
                phones.setdefault(pupil_id, []).append(phone)
        cursor.execute("SELECT id, name, former_name, sex, birth_date, id_number, county_code, id_type FROM bench_pupil")
        return [PupilKey(pk, name, sex, birth, number or "", tuple(sorted(set(guardians.get(pk, ())))), county,
                         id_type, former_names(former), tuple(sorted(set(phones.get(pk, ())))))
                for pk, name, former, sex, birth, number, county, id_type in cursor]


def run_sweep(conn, *, processes: int | None) -> tuple[set[frozenset[int]], dict[str, float]]:
    from bench.dup_sweep import write
    from kernel.matching import SweepStats

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    records = read(conn)
    t1 = time.perf_counter()
    stats = SweepStats()
    matches = find_matches(records, processes=processes, stats=stats)
    t2 = time.perf_counter()
    write(conn, matches)
    t3 = time.perf_counter()
    timings.update(read=t1 - t0, match=t2 - t1, write=t3 - t2, total=t3 - t0, pairs=stats.pairs_scored)
    return {m.pair for m in matches}, timings


# Splink -----------------------------------------------------------------------------------------


@cache
def simplified_of(name: str) -> str:
    from kernel.matching import simplified_name

    return simplified_name(name)


@cache
def pinyin_of(name: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return " ".join(lazy_pinyin(simplified_of(name), style=Style.NORMAL))


def splink_table(records):
    """The records as a pyarrow table with the columns the Splink model uses."""
    import pyarrow as pa

    from kernel.matching.names import surname_length

    strings = ("name", "name_py", "given_py", "surname_py", "former1_py", "sex", "birth_date", "id_number",
               "id_prefix", "id_nobirth", "guardian1")
    lists = ("former_py", "guardian_ids", "guardian_phones")
    columns: dict[str, list] = {key: [] for key in ("unique_id", "birth_year", *strings, *lists)}
    for r in records:
        simple = simplified_of(r.name) if r.name else ""
        py = pinyin_of(r.name) if r.name else None
        cut = surname_length(simple) if simple else 1
        syllables = py.split() if py else []
        formers = [pinyin_of(f) for f in r.former_names if f]
        columns["unique_id"].append(r.pk)
        columns["name"].append(simple or None)
        columns["name_py"].append(py)
        columns["given_py"].append(" ".join(syllables[cut:]) or None)
        columns["surname_py"].append(" ".join(syllables[:cut]) or None)
        columns["former_py"].append(formers or None)
        columns["former1_py"].append(formers[0] if formers else None)
        columns["sex"].append(r.sex or None)
        columns["birth_date"].append(r.birth_date.isoformat() if r.birth_date else None)
        columns["birth_year"].append(r.birth_date.year if r.birth_date else None)
        columns["id_number"].append(r.id_number or None)
        columns["id_prefix"].append(r.id_number[:14] if r.id_number else None)
        columns["id_nobirth"].append(r.id_number[:6] + r.id_number[14:17] if len(r.id_number) == 18 else None)
        columns["guardian_ids"].append(list(r.guardian_ids) or None)
        columns["guardian_phones"].append(list(r.guardian_phones) or None)
        columns["guardian1"].append(r.guardian_ids[0] if r.guardian_ids else None)
    return pa.table({
        **{key: pa.array(columns[key], type=pa.string()) for key in strings},
        **{key: pa.array(columns[key], type=pa.list_(pa.string())) for key in lists},
        "unique_id": pa.array(columns["unique_id"], type=pa.int64()),
        "birth_year": pa.array(columns["birth_year"], type=pa.int32()),
    })


def run_splink(records, *, threshold: float, u_pairs: float, em_max_pairs: float | None,
               threads: int | None, seed: int) -> tuple[dict[frozenset[int], float], dict[str, float]]:
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

    former = ("(list_contains(former_py_l, name_py_r) or list_contains(former_py_r, name_py_l) "
              "or list_has_any(former_py_l, former_py_r))")
    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name"),
            cll.ExactMatchLevel("name"),
            cll.ExactMatchLevel("name_py"),
            cll.CustomLevel(former, label_for_charts="former name (曾用名) matches"),
            cll.JaroWinklerLevel("name_py", 0.92),
            cll.ExactMatchLevel("given_py"),
            cll.ElseLevel(),
        ],
        comparison_description="name: exact / pinyin / 曾用名 / JW pinyin / given-name pinyin",
    )
    identity = cl.CustomComparison(
        output_column_name="id_number",
        comparison_levels=[
            cll.NullLevel("id_number"),
            cll.ExactMatchLevel("id_number"),
            cll.DamerauLevenshteinLevel("id_number", 1),
            cll.DamerauLevenshteinLevel("id_number", 2),
            cll.ExactMatchLevel("id_nobirth"),
            cll.ElseLevel(),
        ],
        comparison_description="ID: exact / DL 1 / DL 2 / same but for the birth part",
    )
    family = cl.CustomComparison(
        output_column_name="family",
        comparison_levels=[
            cll.CustomLevel("(guardian_ids_l is null or guardian_ids_r is null) and "
                            "(guardian_phones_l is null or guardian_phones_r is null)",
                            label_for_charts="no family on one side").configure(is_null_level=True),
            cll.ArrayIntersectLevel("guardian_ids", 1),
            cll.ArrayIntersectLevel("guardian_phones", 1),
            cll.ElseLevel(),
        ],
        comparison_description="family: guardian ID shared / phone shared",
    )
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            name,
            cl.DamerauLevenshteinAtThresholds("birth_date", [1]),
            cl.ExactMatch("sex"),
            identity,
            family,
        ],
        blocking_rules_to_generate_predictions=[
            block_on("birth_date", "sex"),
            block_on("name_py", "birth_year"),
            "l.name_py = r.former1_py and l.birth_year = r.birth_year",
            "l.former1_py = r.name_py and l.birth_year = r.birth_year",
            block_on("guardian_ids", arrays_to_explode=["guardian_ids"]),
            block_on("guardian_phones", arrays_to_explode=["guardian_phones"]),
            block_on("id_prefix"),
            block_on("id_nobirth", "surname_py"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(df, settings, log_level=logging.WARNING)

    t = time.perf_counter()
    linker.training.estimate_probability_two_random_records_match(
        ["l.name = r.name and l.birth_date = r.birth_date and l.sex = r.sex "
         "and list_has_any(l.guardian_ids, r.guardian_ids)"],
        recall=0.6,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
    for rule in (block_on("birth_date", "sex"), block_on("name_py", "birth_year"), block_on("guardian1"),
                 block_on("id_prefix")):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True, max_pairs=em_max_pairs)
    timings["train"] = time.perf_counter() - t

    t = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=min(threshold, 0.5))
    rows = predictions.as_duckdbpyrelation().select("unique_id_l, unique_id_r, match_probability").fetchall()
    timings["predict"] = time.perf_counter() - t
    timings["splink"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - started
    scored = {frozenset((a, b)): p for a, b, p in rows}
    timings["lambda"] = linker._settings_obj._probability_two_random_records_match
    if os.environ.get("DUP_SPLINK_SHOW_MODEL"):
        for comparison in linker.misc.save_model_to_json()["comparisons"]:
            for level in comparison["comparison_levels"]:
                print(f"  {comparison['output_column_name']:<12} {level.get('label_for_charts', '')[:48]:<48}"
                      f" m={level.get('m_probability')} u={level.get('u_probability')}")
    return scored, timings


def f1(result: dict) -> float:
    p, r = result["precision"], result["recall"]
    return 2 * p * r / (p + r) if p + r else 0.0


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
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/registry_bench_dupcmp",
                        help="scratch database for our end-to-end sweep (created; tables bench_*)")
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
        from bench.dup_sweep import connect

        conn = connect(args.postgres, create=True)
        load(conn, records)
        found, timings = run_sweep(conn, processes=args.processes)
        result = counts(found, truth, kinds)
        report(f"our sweep, PostgreSQL → find_matches → COPY cases (score >= {CASE_THRESHOLD})", timings["total"],
               result, f" (read {timings['read']:.1f} s, block + score {timings['match']:.1f} s, write "
                       f"{timings['write']:.1f} s; {timings['pairs']:,} pairs scored; F1 {f1(result):.4f})")
        conn.close()

    if not args.skip_splink:
        scored, timings = run_splink(records, threshold=args.threshold, u_pairs=args.u_pairs,
                                     em_max_pairs=args.em_max_pairs, threads=args.threads,
                                     seed=args.seed % 2**31)
        result = counts({pair for pair, p in scored.items() if p >= args.threshold}, truth, kinds)
        extra = (f" (table prep {timings['prepare']:.1f} s incl. pinyin and t2s, train "
                 f"{timings['train']:.1f} s, predict {timings['predict']:.1f} s; "
                 f"lambda {timings['lambda']:.3g}; F1 {f1(result):.4f})")
        report(f"Splink {splink.__version__} DuckDB (match probability >= {args.threshold})",
               timings["total"], result, extra)
        best = max(
            ((t, counts({pair for pair, p in scored.items() if p >= t}, truth, kinds))
             for t in (0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999)),
            key=lambda item: f1(item[1]),
        )
        print(f"  best threshold with hindsight: {best[0]}: precision {best[1]['precision']:.4f} "
              f"recall {best[1]['recall']:.4f} F1 {f1(best[1]):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
