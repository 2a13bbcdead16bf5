"""A labelled population of pupils with injected duplicates, for tuning and testing 查重.

``generate(n, seed)`` returns ``(records, truth, kinds)``:

* ``records``: ``n`` ``PupilKey`` records of one province (code ``44``): families with one
  to three school-age children sharing both parents' ID numbers as guardians, names drawn
  from weighted lists of common surnames and given-name characters (by sex), birth dates
  over twelve school years (2007-09-01 .. 2019-08-31), valid resident IDs agreeing with
  birth date and sex (about 12 % born outside the province), about 2 % without an ID (无户籍,
  type ``Z``) and a few without guardian IDs on record;
* ``truth``: the pairs that are one child (the injected duplicates);
* ``kinds``: the kind of every injected pair, duplicates and hard negatives alike.

Duplicate kinds (second record of one child), about 1 % of the records involved:

==================  ===========================================================================
pinyin_slip         one character replaced by a homophone (李娜 → 李纳), an invented valid ID
lookalike           one character replaced by a look-alike (淞 → 凇), an invented ID or none
traditional         the name in traditional characters (张伟 → 張偉), an invented ID or none
invented_id         same name, a new valid ID instead of a transfer
id_typo             the ID one substitution or adjacent transposition off
no_id_twin_record   a no-ID (type Z) record of a child who also has an ID record
renamed_former      the child renamed (a new given name) with the old name as 曾用名, on the
                    renamed record or on the original (renamed in place, re-entered under the
                    old name); the re-entry has an invented valid ID or none
renamed_same_id     a new given name, no 曾用名, the same ID (or one typo off), birth date and
                    guardians
birth_typo_id       the birth date one digit off (or month and day swapped) with an ID made to
                    agree: the same ID with the birth part changed (30 % then without
                    guardians) or a new valid ID for the wrong date
soundalike_fab_id   a look-alike or homophone character with an invented ID that agrees with
                    everything (same region and birth date: it looks like a twin's ID)
two_chars           two characters changed, each by a homophone or a look-alike; an invented
                    ID or none
no_id_guardians     a no-ID record (type Z), the name the same or one homophone off, its family
                    known by guardian IDs or only by the guardians' phone numbers
==================  ===========================================================================

Every duplicate keeps sex and at least one guardian ID or phone (a quarter name only one
parent; ``id_typo`` records sometimes have no guardians, ``birth_typo_id`` too when its ID
is the original's with the birth part changed). Records carry the phones of their guardians
(85 % each) and 曾用名 where a kind sets one.

Hard negatives (not in ``truth``): ``twins`` (same guardians and birth date, another given
name, most of them sharing a character such as 子涵/子轩, IDs with the next sequence
numbers), ``namesakes`` (same name, sex and birth date, in the same county with an ID of the
same region, other guardians; 30 % with no guardians on file), ``siblings`` (same guardians
and phones, another birth date and name; a third born a whole number of years apart so that
the dates are one digit off, names often sharing a character). A fixed seed gives identical
output.
"""

from __future__ import annotations

import bisect
import itertools
import random
from datetime import date, timedelta
from functools import cache, lru_cache

from kernel.identity import id_check_char
from kernel.matching import PupilKey, chars_look_alike, lookalikes, name_readings

PROVINCE = "44"
DUPLICATE_SHARE = 0.008  # duplicate pairs per record: ~1.6 % of the records are involved
TWIN_SHARE = 0.002
NAMESAKE_SHARE = 0.002
SIBLING_SHARE = 0.002
NO_ID_SHARE = 0.02
NO_GUARDIAN_SHARE = 0.02
ONE_GUARDIAN_SHARE = 0.12
PHONE_ON_FILE_SHARE = 0.85
BORN_ELSEWHERE_SHARE = 0.12

DUPLICATE_KINDS = (
    "pinyin_slip", "lookalike", "traditional", "invented_id", "id_typo", "no_id_twin_record",
    "renamed_former", "renamed_same_id", "birth_typo_id", "soundalike_fab_id", "two_chars", "no_id_guardians",
)
NEGATIVE_KINDS = ("twins", "namesakes", "siblings")

FIRST_BIRTH = date(2007, 9, 1)
LAST_BIRTH = date(2019, 8, 31)

# Surnames with their approximate share (per mille) of the population.
SURNAMES = (
    "王71 李70 张67 刘54 陈45 杨31 黄23 赵22 吴20 周19 徐16 孙15 马14 朱13 胡13 郭12 何12 "
    "林11 高11 罗10 郑9 梁9 谢8 宋7 唐7 许7 韩6 邓6 冯6 曹6 彭6 曾6 肖5 田5 董5 潘5 袁5 "
    "蔡5 蒋5 余5 于5 杜4 叶4 程4 魏4 苏4 吕4 丁4 任4 卢4 姚3 沈3 钟3 姜3 崔3 谭3 陆3 范3 "
    "汪3 廖3 石3 金3 韦3 贾3 夏2 付2 方2 邹2 熊2 白2 孟2 秦2 邱2 侯2 江2 尹2 薛2 闫2 段2 "
    "雷2 龙2 黎2 史2 陶2 贺2 毛2 郝2 顾2 龚2 邵2 万2 覃2 武1 钱1 戴1 严1 莫1 孔1 向1 常1 "
    "汤1 康1 易1 乔1 赖1 文1 单1 季1 欧阳1 上官1 司马1 诸葛1"
)

# Given-name characters of children born 2007-2019, weighted (roughly by popularity).
BOY_CHARS = (
    "子9 梓6 浩8 宇9 轩8 睿6 泽7 俊5 杰5 博5 文5 一6 晨5 铭4 涵4 辰4 奕4 天4 嘉4 明4 豪3 "
    "航3 瑞4 鑫3 凯3 伟2 鹏2 阳3 磊2 昊4 然5 霖3 皓3 宸3 逸3 翔3 烨2 彬2 宏2 强2 志3 哲3 "
    "远2 毅2 家4 思3 诚3 成3 乐3 可2 沐3 安3 恒3 煜3 锦3 佑3 承3 景2 宁2 淞1 松2 林2 森2 "
    "帆2 峰2 江1 海2 洋2 治1 住1 晴1 冷1 天1 雨2 佳2 宏2 锐2 硕2 朗2 旭3 彦2 骏2 哲2"
)
GIRL_CHARS = (
    "梓6 子7 涵8 欣7 怡6 诺5 一5 雨6 萱6 可5 馨5 思5 佳5 悦4 雅4 琪4 婷3 妍4 晨3 彤4 琳3 "
    "淇2 瑶3 依4 若4 语4 菲2 婉2 静2 娜2 丽1 芳1 敏1 慧2 雪2 颖2 玥3 冉2 楠3 心4 茜2 蕾2 "
    "薇2 嘉3 梦3 艺2 诗3 晴3 萌2 汐2 淑1 蓉1 露1 燕1 玲2 淞1 冷1 安3 乐2 宁2 沐2 熙3 "
    "然2 希3 晗3 珂2 钰2 媛2 璐2 文2 月2 清2 桐3 瑾2 芮2 晓2 曦2"
)
# Popular whole given names drawn directly now and then (names cluster in real data).
POPULAR_GIVEN = {
    "1": "子轩 浩然 宇轩 梓轩 一诺 浩宇 子涵 俊杰 梓睿 宇航 皓轩 子墨 奕辰 博文 天佑",
    "2": "梓涵 子涵 欣怡 一诺 雨萱 诗涵 可馨 梓萱 语桐 思涵 雨涵 欣妍 佳怡 若汐 紫涵",
}
POPULAR_SHARE = 0.08
SINGLE_GIVEN_SHARE = 0.15


def _weighted(spec: str) -> tuple[list[str], list[int]]:
    items, weights = [], []
    for token in spec.split():
        text = token.rstrip("0123456789")
        items.append(text)
        weights.append(int(token[len(text):]))
    return items, list(itertools.accumulate(weights))


@cache
def _tables():
    surnames = _weighted(SURNAMES)
    given = {"1": _weighted(BOY_CHARS), "2": _weighted(GIRL_CHARS)}
    popular = {sex: names.split() for sex, names in POPULAR_GIVEN.items()}
    return surnames, given, popular


def _pick(rng: random.Random, table: tuple[list[str], list[int]]) -> str:
    items, cumulative = table
    return items[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]


def _given_name(rng: random.Random, sex: str) -> str:
    _, given, popular = _tables()
    if rng.random() < POPULAR_SHARE:
        return rng.choice(popular[sex])
    if rng.random() < SINGLE_GIVEN_SHARE:
        return _pick(rng, given[sex])
    first = _pick(rng, given[sex])
    second = _pick(rng, given[sex])
    while second == first:
        second = _pick(rng, given[sex])
    return first + second


@cache
def _common_chars() -> tuple[str, ...]:
    """GB 2312 level-1 characters (the 3,755 most common), by decoding the code table."""
    chars = []
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                chars.append(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return tuple(chars)


@cache
def _homophones_of(char: str) -> tuple[str, ...]:
    """Common characters sharing ``char``'s first toneless reading (the IME's other picks)."""
    options = _homophone_index().get(_first_reading(char), ())
    return tuple(c for c in options if c != char and not chars_look_alike(c, char))


def _first_reading(char: str) -> str:
    from pypinyin import Style, pinyin

    return pinyin(char, style=Style.NORMAL, heteronym=False)[0][0]


@cache
def _homophone_index() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for char in _common_chars():
        index.setdefault(_first_reading(char), []).append(char)
    return {reading: tuple(chars) for reading, chars in index.items()}


@lru_cache(maxsize=1)
def _to_traditional():
    import opencc

    return opencc.OpenCC("s2t")


class _Ids:
    """Valid resident ID numbers, never the same twice."""

    def __init__(self, rng: random.Random, counties: list[str]) -> None:
        self.rng = rng
        self.counties = counties
        self.used: set[str] = set()

    def region(self) -> str:
        if self.rng.random() < BORN_ELSEWHERE_SHARE:
            province = self.rng.choice(("11", "32", "35", "36", "42", "43", "45", "50", "51", "52"))
            return f"{province}{self.rng.randint(1, 15):02d}{self.rng.randint(1, 30):02d}"
        return self.rng.choice(self.counties)

    def make(self, region: str, born: date, sex: str, near: str | None = None) -> str:
        while True:
            if near is not None:  # a twin: registered together, the next free sequence
                sequence = int(near[14:17]) + self.rng.choice((1, 2, 3, 4))
                if sequence > 999 or (sequence % 2 == 1) != (sex == "1"):
                    near = None
                    continue
            else:
                sequence = self.rng.randrange(1000)
                if (sequence % 2 == 1) != (sex == "1"):
                    sequence = (sequence + 1) % 1000
            body = f"{region}{born:%Y%m%d}{sequence:03d}"
            number = body + id_check_char(body)
            if number not in self.used:
                self.used.add(number)
                return number
            near = None


def _counties(rng: random.Random) -> list[str]:
    counties = []
    for city in range(1, 21):
        for county in range(rng.randint(3, 9)):
            counties.append(f"{PROVINCE}{city:02d}{county + 2:02d}")
    return counties


def _random_birth(rng: random.Random) -> date:
    return FIRST_BIRTH + timedelta(days=rng.randrange((LAST_BIRTH - FIRST_BIRTH).days + 1))


def _names_clash(first: str, second: str) -> bool:
    """Would the engine see two names as one spelling (equal, homophone or look-alike)?"""
    if len(first) != len(second):
        return False
    a, b = name_readings(first), name_readings(second)
    return all(x == y or chars_look_alike(x, y) or (ra & rb) for x, y, ra, rb in zip(first, second, a, b))


class _Population:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.counties = _counties(self.rng)
        self.ids = _Ids(self.rng, self.counties)
        self.rows: list[dict] = []  # pk assigned at the end
        self.phone_of: dict[str, str] = {}  # guardian ID number -> mobile phone
        self.phones_used: set[str] = set()

    def phone(self) -> str:
        while True:
            number = f"1{self.rng.choice('3456789')}{self.rng.randrange(10**9):09d}"
            if number not in self.phones_used:
                self.phones_used.add(number)
                return number

    def parents(self) -> tuple[str, str, str]:
        rng = self.rng
        region = self.ids.region()
        father_born = date(rng.randint(1972, 1992), rng.randint(1, 12), rng.randint(1, 28))
        mother_born = father_born + timedelta(days=rng.randint(-900, 1500))
        father = self.ids.make(region, father_born, "1")
        mother = self.ids.make(self.ids.region() if rng.random() < 0.3 else region, mother_born, "2")
        self.phone_of[father] = self.phone()
        self.phone_of[mother] = self.phone()
        return region, father, mother

    def phones_on_record(self, guardians: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(self.phone_of[g] for g in guardians if self.rng.random() < PHONE_ON_FILE_SHARE)

    def guardians_on_record(self, father: str, mother: str) -> tuple[str, ...]:
        roll = self.rng.random()
        if roll < NO_GUARDIAN_SHARE:
            return ()
        if roll < NO_GUARDIAN_SHARE + ONE_GUARDIAN_SHARE:
            return (self.rng.choice((father, mother)),)
        return (father, mother)

    def child(self, *, surname: str, region: str, father: str, mother: str, born: date,
              sex: str, given: str, county: str, twin_of: str | None = None,
              guardians: tuple[str, ...] | None = None, with_id: bool | None = None) -> dict:
        if with_id is None:
            with_id = self.rng.random() >= NO_ID_SHARE
        number = self.ids.make(region, born, sex, near=twin_of) if with_id else ""
        if guardians is None:
            guardians = self.guardians_on_record(father, mother)
            if not with_id and not guardians:
                guardians = (father, mother)  # no-hukou records always name the parents
        row = {
            "name": surname + given, "surname": surname, "sex": sex, "birth_date": born,
            "id_number": number, "id_type": "1" if number else "Z", "guardians": guardians,
            "phones": self.phones_on_record(guardians), "former_names": (),
            "county": county, "family": (father, mother, region), "tag": None,
        }
        self.rows.append(row)
        return row

    def family(self) -> None:
        rng = self.rng
        (surnames, _, _) = _tables()
        surname = _pick(rng, surnames)
        region, father, mother = self.parents()
        county = region if region.startswith(PROVINCE) else rng.choice(self.counties)
        count = 1 if rng.random() < 0.6 else (2 if rng.random() < 0.88 else 3)
        births: list[date] = []
        names: list[str] = []
        for _ in range(count):
            born = _random_birth(rng)
            if any(abs((born - other).days) < 300 for other in births):
                continue
            sex = rng.choice("12")
            given = _given_name(rng, sex)
            if any(_names_clash(surname + given, other) for other in names):
                continue
            births.append(born)
            names.append(surname + given)
            self.child(surname=surname, region=region, father=father, mother=mother, born=born,
                       sex=sex, given=given, county=county)


def _replace(name: str, position: int, char: str) -> str:
    return name[:position] + char + name[position + 1:]


def _pinyin_slip(rng: random.Random, name: str, surname: str) -> str | None:
    positions = list(range(len(surname), len(name)))
    rng.shuffle(positions)
    for position in positions:
        options = _homophones_of(name[position])
        if options:
            return _replace(name, position, rng.choice(options))
    return None


def _lookalike(rng: random.Random, name: str) -> str | None:
    common = set(_common_chars())
    positions = list(range(len(name)))
    rng.shuffle(positions)
    for position in positions:
        options = sorted(c for c in lookalikes(name[position]) if c in common)
        if options:
            return _replace(name, position, rng.choice(options))
    return None


def _two_chars(rng: random.Random, name: str, surname: str) -> str | None:
    """Two characters replaced, each by a homophone or a look-alike (张子涵 → 张梓晗)."""
    if len(name) < 3:
        return None
    common = set(_common_chars())
    positions = list(range(len(name)))
    rng.shuffle(positions)
    changed = 0
    for position in positions:
        char = name[position]
        looks = sorted(c for c in lookalikes(char) if c in common)
        sounds = _homophones_of(char)
        options = looks if looks and (not sounds or rng.random() < 0.5) else list(sounds)
        if options:
            name = _replace(name, position, rng.choice(options))
            changed += 1
            if changed == 2:
                return name
    return None


def _birth_typo(rng: random.Random, born: date) -> date | None:
    """One digit of YYYYMMDD mistyped, or month and day swapped: a real date, not ``born``."""
    for _ in range(50):
        if rng.random() < 0.2 and born.day <= 12:
            candidate = (born.year, born.day, born.month)
        else:
            text = f"{born:%Y%m%d}"
            i = rng.choice((3, 4, 5, 6, 7, 7, 7, 6))
            text = _replace(text, i, rng.choice([d for d in "0123456789" if d != text[i]]))
            candidate = (int(text[:4]), int(text[4:6]), int(text[6:]))
        try:
            typo = date(*candidate)
        except ValueError:
            continue
        if typo != born and date(2005, 1, 1) <= typo <= date(2021, 12, 31):
            return typo
    return None


def _traditional(name: str) -> str | None:
    converted = _to_traditional().convert(name)
    return converted if converted != name else None


def _id_typo(rng: random.Random, number: str) -> str:
    if rng.random() < 0.3:
        for _ in range(50):
            i = rng.randrange(17)
            if number[i] != number[i + 1]:
                return number[:i] + number[i + 1] + number[i] + number[i + 2:]
    i = rng.randrange(18)
    digits = "0123456789X" if i == 17 else "0123456789"
    return _replace(number, i, rng.choice([d for d in digits if d != number[i]]))


def generate(n: int, seed: int) -> tuple[list[PupilKey], set[frozenset[int]], dict[frozenset[int], str]]:
    """``n`` records with injected duplicates; see the module docstring."""
    population = _Population(seed)
    rng = population.rng
    duplicates = round(n * DUPLICATE_SHARE)
    twins, namesakes, siblings = (round(n * share) for share in (TWIN_SHARE, NAMESAKE_SHARE, SIBLING_SHARE))
    base = n - duplicates - twins - namesakes - siblings
    while len(population.rows) < base:
        population.family()
    del population.rows[base:]

    originals = [row for row in population.rows if row["id_number"] and row["guardians"]]
    rng.shuffle(originals)
    pool = iter(originals)
    labelled: list[tuple[dict, dict, str]] = []

    def fresh_given(row: dict) -> str | None:
        """Another given name for the child (renamed): not clashing with the old one."""
        own = row["name"][len(row["surname"]):]
        for _ in range(20):
            given = _given_name(rng, row["sex"])
            if given != own and not set(given) & set(own) and not _names_clash(row["surname"] + given, row["name"]):
                return given
        return None

    def duplicate_of(row: dict, kind: str) -> dict | None:
        name, number, guardians = row["name"], row["id_number"], row["guardians"]
        born, former_names, phones = row["birth_date"], (), None
        county = row["county"] if rng.random() < 0.5 else rng.choice(population.counties)
        with_id = True
        keep_id = False
        if kind == "pinyin_slip":
            name = _pinyin_slip(rng, name, row["surname"])
        elif kind == "lookalike":
            name = _lookalike(rng, name)
            with_id = rng.random() < 0.5
        elif kind == "traditional":
            name = _traditional(name)
            with_id = rng.random() < 0.5
        elif kind == "no_id_twin_record":
            with_id = False
        elif kind == "renamed_former":
            given = fresh_given(row)
            if given is None:
                return None
            with_id = rng.random() < 0.7
            if rng.random() < 0.5:  # the copy carries the new name and the old one as 曾用名
                name, former_names = row["surname"] + given, (row["name"],)
            else:  # renamed in place; re-entered elsewhere under the old name
                row["former_names"] = (row["name"],)
                row["name"] = row["surname"] + given
        elif kind == "renamed_same_id":
            given = fresh_given(row)
            if given is None:
                return None
            name, keep_id = row["surname"] + given, True
        elif kind == "birth_typo_id":
            born = _birth_typo(rng, born)
            if born is None:
                return None
        elif kind == "soundalike_fab_id":
            name = _lookalike(rng, name) if rng.random() < 0.5 else _pinyin_slip(rng, name, row["surname"])
        elif kind == "two_chars":
            name = _two_chars(rng, name, row["surname"])
            with_id = rng.random() < 0.7
        elif kind == "no_id_guardians":
            with_id = False
            if rng.random() < 0.4:
                name = _pinyin_slip(rng, name, row["surname"])
        if len(guardians) == 2 and rng.random() < 0.25:  # the re-entry names one parent
            guardians = (rng.choice(guardians),)
        if name is None:
            return None
        if kind == "id_typo" or (keep_id and rng.random() < 0.3):
            number = _id_typo(rng, number)
            if kind == "id_typo" and rng.random() < 0.3:
                guardians = ()
        elif keep_id:
            pass
        elif kind == "birth_typo_id" and rng.random() < 0.5:
            body = f"{number[:6]}{born:%Y%m%d}{number[14:17]}"
            number = body + id_check_char(body)  # the same ID, its birth part made to agree
            if number in population.ids.used:
                return None
            population.ids.used.add(number)
            if rng.random() < 0.3:
                guardians = ()
        elif kind == "birth_typo_id":
            number = population.ids.make(population.ids.region(), born, row["sex"])
        elif kind == "soundalike_fab_id":  # agrees with region, birth date and sex, like a twin's
            number = population.ids.make(number[:6], born, row["sex"], near=number)
        elif with_id:
            number = population.ids.make(population.ids.region(), born, row["sex"])
        else:
            number = ""
        if kind == "no_id_guardians" and rng.random() < 0.5:  # known only by the phones on file
            phones = tuple(population.phone_of[g] for g in row["family"][:2])
            guardians = ()
        if phones is None:
            phones = population.phones_on_record(guardians)
            if not guardians and kind == "no_id_twin_record":
                phones = ()
        copy = dict(row, name=name, id_number=number, id_type="1" if number else "Z",
                    guardians=guardians, county=county, birth_date=born, former_names=former_names,
                    phones=phones)
        population.rows.append(copy)
        return copy

    for index in range(duplicates):
        kind = DUPLICATE_KINDS[index % len(DUPLICATE_KINDS)]
        for row in pool:
            copy = duplicate_of(row, kind)
            if copy is not None:
                labelled.append((row, copy, kind))
                break

    def relative(row: dict, *, same_birth: bool) -> dict | None:
        father, mother, region = row["family"]
        sex = rng.choice("12")
        born = row["birth_date"]
        if not same_birth:
            if rng.random() < 0.35:  # a whole number of years apart: the dates one digit off
                try:
                    born = born.replace(year=born.year + rng.choice((-1, 1)))
                except ValueError:
                    return None
                sex = row["sex"]
            else:
                born = born + timedelta(days=rng.choice((-1, 1)) * rng.randint(330, 2000))
            if not FIRST_BIRTH <= born <= LAST_BIRTH:
                return None
        for _ in range(20):
            given = _given_name(rng, sex)
            own = row["name"][len(row["surname"]):]
            if len(own) == 2 and rng.random() < (0.8 if same_birth else 0.5):
                given = own[0] + given[-1]  # twins and siblings often share a character: 子涵/子轩
            if given != own and not _names_clash(row["surname"] + given, row["name"]):
                break
        else:
            return None
        return population.child(
            surname=row["surname"], region=region, father=father, mother=mother, born=born,
            sex=sex, given=given, county=row["county"], with_id=True,
            twin_of=row["id_number"] if same_birth else None, guardians=row["guardians"],
        )

    def namesake_of(row: dict) -> dict:
        """Same name, sex and birth date, in the same county, an ID of the same region."""
        _, father, mother = population.parents()
        given = row["name"][len(row["surname"]):]
        return population.child(
            surname=row["surname"], region=row["id_number"][:6], father=father, mother=mother,
            born=row["birth_date"], sex=row["sex"], given=given, county=row["county"], with_id=True,
            guardians=(father, mother) if rng.random() >= 0.3 else (),  # legacy data: none on file
        )

    for kind, count in (("twins", twins), ("namesakes", namesakes), ("siblings", siblings)):
        made = 0
        for row in pool:
            if made == count:
                break
            other = namesake_of(row) if kind == "namesakes" else relative(row, same_birth=kind == "twins")
            if other is not None:
                labelled.append((row, other, kind))
                made += 1

    while len(population.rows) < n:  # a kind ran out of originals: top up with families
        population.family()
    del population.rows[n:]

    order = list(range(len(population.rows)))
    rng.shuffle(order)
    for pk, index in enumerate(order, start=1):
        population.rows[index]["pk"] = pk
    records = [None] * len(population.rows)
    for row in population.rows:
        records[row["pk"] - 1] = PupilKey(
            pk=row["pk"], name=row["name"], sex=row["sex"], birth_date=row["birth_date"],
            id_number=row["id_number"], guardian_ids=row["guardians"], county=row["county"],
            id_type=row["id_type"], former_names=row["former_names"], guardian_phones=row["phones"],
        )
    kinds: dict[frozenset[int], str] = {}
    truth: set[frozenset[int]] = set()
    for first, second, kind in labelled:
        if "pk" not in first or "pk" not in second:
            continue  # cut off by the final trim
        pair = frozenset((first["pk"], second["pk"]))
        kinds[pair] = kind
        if kind in DUPLICATE_KINDS:
            truth.add(pair)
    return records, truth, kinds
