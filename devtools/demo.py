"""Demo data (演示数据): one real province with schools, classes, pupils, guardians and logins.

``demo_load`` builds a believable province for trying the registry and for benchmarks:

* real cities and counties of the province from ``provinces.Division`` (loaded from
  ``fixtures/divisions.json`` when missing), ~30 schools (more for large runs) whose
  10-digit school codes (学校标识码) are the county code + ``9`` + a 3-digit number — the
  ``9xxx`` range marks them as demo schools;
* classes (班级) for every grade of every school, pupils whose birth dates fit their grade
  (grade 1 is 6–7 years old on 1 September), valid resident IDs (GB 11643) agreeing with
  birth date and sex, L numbers (临时学籍号) at registration, a few pupils without an ID
  (无户籍: ID type Z, J numbers with per-county-and-day sequences, both parents with IDs);
* 1–2 guardians (家庭成员) per pupil with valid IDs, 24–40 years older than the child;
* logins ``<unit code>.operator`` / ``.approver`` for every demo school, county and city and
  the province (plus ``<province>.admin``, and ``.viewer`` / ``.auditor`` for the bureaus),
  all with ``settings.DEMO_PASSWORD``; their e-mail
  is ``<username>@demo.invalid``, which marks them as demo users.

Pupils and guardians are written with PostgreSQL ``COPY`` in chunks so that a million
pupils load in minutes. See docs/demo-data.md for the audit choice made for the bulk load.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import math
import queue
import random
import threading
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pgtrigger
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone
from pghistory.models import Context

from accounts.audit import acting_as
from accounts.models import Membership
from devtools import demo_queues
from kernel import identity
from provinces.models import Division
from registry import numbers as registry_numbers
from registry.models import Guardian, Pupil, PupilStatus
from registry.reference import reference_data_load
from schools.models import School, SchoolClass

logger = logging.getLogger("devtools.demo")

DEFAULT_PUPILS = 20_000
DEFAULT_SEED = 1
DEFAULT_PROVINCE = "44"
#: The 4-digit tail of demo school codes starts with this digit.
DEMO_SCHOOL_MARK = "9"
DEMO_EMAIL_DOMAIN = "demo.invalid"
CHUNK = 25_000
#: From this many pupils on, indexes and foreign keys are built after the COPY (BulkIndexes).
BULK_THRESHOLD = 50_000
PUPILS_PER_SCHOOL = 1_200
CLASS_SIZE = 45

#: Preferred cities per province (the capital and the largest other city).
PREFERRED_CITIES = {"44": ("4401", "4403"), "42": ("4201", "4205"), "32": ("3201", "3205"), "33": ("3301", "3302")}
#: Provinces many migrant children (随迁子女) come from, for IDs issued elsewhere.
MIGRANT_ORIGINS = ("43", "45", "36", "51", "42", "41", "35", "52")
#: How many counties of those provinces appear as birth regions (keeps the ID counters small).
ORIGIN_COUNTIES = 60

Progress = Callable[[str], None]


# --- names -----------------------------------------------------------------------------

# Common surnames with rough relative frequencies (Guangdong-leaning, not a census table).
SURNAMES = (
    "陈18 李14 黄11 张10 梁8 刘8 林8 吴6 王6 何5 罗5 郑5 谢4 杨4 周4 邓4 冯4 曾4 许3 钟3 "
    "叶3 蔡3 朱3 卢3 彭3 赖2 温2 苏2 徐2 廖2 邱2 潘2 胡2 江2 郭2 余2 方2 欧阳2 马2 杜1 "
    "孙1 赵1 高1 宋1 唐1 韩1 曹1 肖1 田1 董1 袁1 蒋1 魏1 吕1 丁1 沈1 姚1 姜1 崔1 谭1 "
    "陆1 汪1 范1 金1 石1 贾1 夏1 韦1 付1 白1 邹1 孟1 熊1 秦1 尹1 薛1 段1 雷1 侯1 龙1 "
    "史1 陶1 黎1 贺1 顾1 毛1 郝1 龚1 邵1 万1 严1 覃1 武1 戴1 莫1 孔1 汤1 司徒1 麦1 关1"
)
CHILD_BOY = "梓子浩宇轩泽俊博文睿昊铭嘉一然晨杰辰航宸皓逸锦翔豪鑫明涛鹏凯伟斌毅恒瑞霖彬烨天佑煜景骏志诚奕楷柏言哲希朗钧钰承"
CHILD_GIRL = "梓子涵欣怡雨诗琪萱可佳思语彤馨悦妍嘉婷雅晴琳颖瑶心若依乐静雪菲晓紫姝蕊玥芷慧丽梦钰婧璐蕾淑薇洁露楠一诺"
ADULT_MAN = "伟强军勇杰涛斌超明刚平辉鹏华飞鑫波宁建国峰磊俊海志文东林成荣亮锋永健冠德炳祥伟振江旭"
ADULT_WOMAN = "芳娜敏静丽艳娟霞燕玲婷红梅琳萍慧雪洁莉颖倩琴云英晶芬丹华兰秀凤翠玉桂小美春珊"

SCHOOL_PLACES = (
    "华阳 育才 启明 培英 明德 东方 新城 滨江 南湖 金沙 桥东 龙口 沙河 石牌 棠下 员村 "
    "昌岗 晓港 江南 南华 岭南 华侨 怡园 丽江 翠竹 碧桂 荔湾 龙洞 凤凰 紫荆 榕树 锦城 "
    "新港 文华 三元 汇景 云山 清水 翰林 梅花 天府 星海 朝阳 长湴 车陂 黄村 前进 五山"
).split()
CN_ORDINALS = "一二三四五六七八九十"


def _weighted_table(spec: str) -> list[str]:
    """Expand ``"陈18 李14 …"`` into a list where each name appears weight times."""
    table: list[str] = []
    for item in spec.split():
        name = item.rstrip("0123456789")
        table.extend([name] * int(item[len(name):]))
    return table


def _ordinal(n: int) -> str:
    """第 n in Chinese numerals, 1..99."""
    if n <= 10:
        return CN_ORDINALS[n - 1]
    tens, ones = divmod(n, 10)
    head = "" if tens == 1 else CN_ORDINALS[tens - 1]
    return head + "十" + (CN_ORDINALS[ones - 1] if ones else "")


class NameMaker:
    """Realistic Chinese names from weighted surnames and given-name characters."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.surnames = _weighted_table(SURNAMES)

    def surname(self) -> str:
        return self.surnames[int(self.rng.random() * len(self.surnames))]

    def given(self, chars: str, two_share: float) -> str:
        rng = self.rng
        first = chars[int(rng.random() * len(chars))]
        if rng.random() >= two_share:
            return first
        second = chars[int(rng.random() * len(chars))]
        if second == first and rng.random() < 0.7:  # 婷婷 happens, but not that often
            second = chars[int(rng.random() * len(chars))]
        return first + second

    def child(self, sex: str, surname: str) -> str:
        return surname + self.given(CHILD_BOY if sex == "1" else CHILD_GIRL, 0.85)

    def adult(self, sex: str, surname: str | None = None) -> str:
        return (surname or self.surname()) + self.given(ADULT_MAN if sex == "1" else ADULT_WOMAN, 0.6)


# --- identity numbers ----------------------------------------------------------------------


class CheckChars:
    """GB 11643 check chars from cached partial sums (region, birth date, sequence).

    The weighted sum is linear in the digits, so the sums of the region and date parts are
    computed once each; a million pupils with their parents need ~3 M check chars. The
    result is checked against ``identity.id_check_char`` at start.
    """

    WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # GB 11643-1999
    CHARS = "10X98765432"

    def __init__(self) -> None:
        self.regions: dict[str, int] = {}
        self.dates: dict[int, tuple[str, int]] = {}
        self.sequences = [self._sum(f"{n:03d}", 14) for n in range(1000)]
        for sample in ("11010519491231002", "44010620150308123", "43052419881111456"):
            assert self.check(sample) == identity.id_check_char(sample), sample

    def _sum(self, digits: str, start: int) -> int:
        return sum(int(d) * w for d, w in zip(digits, self.WEIGHTS[start:]))

    def check(self, body: str) -> str:
        return self.CHARS[self._sum(body, 0) % 11]

    def resident_id(self, region: str, born: dt.date, sequence: int) -> str:
        region_sum = self.regions.get(region)
        if region_sum is None:
            region_sum = self.regions[region] = self._sum(region, 0)
        ordinal = born.toordinal()
        date_part = self.dates.get(ordinal)
        if date_part is None:
            text = f"{born:%Y%m%d}"
            date_part = self.dates[ordinal] = (text, self._sum(text, 6))
        total = region_sum + date_part[1] + self.sequences[sequence]
        return f"{region}{date_part[0]}{sequence:03d}{self.CHARS[total % 11]}"


class IdAllocator:
    """Unique, valid resident IDs without remembering every number issued.

    A counter per (region, birth date, sex) hands out sequence codes (odd for men, even for
    women) starting at a per-key offset; numbers already in the database are skipped.
    """

    FIRST_DAY = dt.date(1950, 1, 1).toordinal()
    DAYS = (dt.date(2040, 1, 1) - dt.date(1950, 1, 1)).days
    SLOTS = 499  # sequence codes 001..997 (men) / 002..998 (women)

    def __init__(self, regions: Iterable[str], taken: set[str]) -> None:
        self.regions = list(dict.fromkeys(regions))
        self.index = {code: i for i, code in enumerate(self.regions)}
        self.counters = array("H", bytes(2 * len(self.regions) * self.DAYS * 2))
        self.taken = taken
        self.checks = CheckChars()

    def allocate(self, region: str, born: dt.date, sex: str, fallback: list[str], rng: random.Random) -> str:
        for _attempt in range(50):
            number = self._next(region, born, sex)
            if number is not None:
                return number
            region = fallback[int(rng.random() * len(fallback))]
        raise RuntimeError(f"no free ID sequence for {born}")

    def _next(self, region: str, born: dt.date, sex: str) -> str | None:
        r = self.index[region]
        day = born.toordinal() - self.FIRST_DAY
        slot = (r * self.DAYS + day) * 2 + (sex == "1")
        while self.counters[slot] < self.SLOTS:
            k = self.counters[slot]
            self.counters[slot] = k + 1
            idx = (k + r * 31 + day * 17) % self.SLOTS
            third = 2 * idx + 1 if sex == "1" else 2 * idx + 2
            number = self.checks.resident_id(region, born, third)
            if number not in self.taken:
                return number
        return None


class NumberAllocator:
    """Unique L numbers (seeded random digits, ``identity.make_l_number``) and J sequences."""

    def __init__(self, rng: random.Random, taken_l: set[int], last_j: dict[str, int]) -> None:
        self.rng = rng
        self.used_l = taken_l
        self.last_j = last_j

    def l_number(self, county: str, born: dt.date) -> str:
        while True:
            number = identity.make_l_number(county, born, rng=self.rng)
            key = int(number[1:])
            if key not in self.used_l:
                self.used_l.add(key)
                return number

    def j_number(self, county: str, born: dt.date) -> str:
        prefix = f"J{county}{born:%Y%m%d}"
        sequence = self.last_j.get(prefix, 0) + 1
        self.last_j[prefix] = sequence
        return identity.make_j_number(county, born, sequence)


# --- the plan: cities, counties, schools ----------------------------------------------------


@dataclass
class SchoolPlan:
    code: str
    name: str
    county: str
    stage: str
    pk: int = 0
    pupils: int = 0
    #: grade -> list of (class id, pupil count)
    classes: dict[int, list[tuple[int, int]]] = field(default_factory=dict)


@dataclass
class DemoSummary:
    province: Division
    cities: list[Division]
    counties: list[Division]
    schools: list[School]
    pupils: int = 0
    guardians: int = 0
    no_id_pupils: int = 0
    suspended: int = 0
    users: int = 0
    seconds: float = 0.0
    created: bool = True
    audit: str = ""
    #: The open business left for each queue (``devtools.demo_queues``).
    queues: list[str] = field(default_factory=list)


def ensure_reference_data() -> None:
    """Load the divisions and code tables from fixtures/ when they are missing."""
    reference_data_load()


def _pick_cities(province: Division, county_count: int) -> tuple[list[Division], list[Division]]:
    """1–2 cities (capital first) and ``county_count`` of their counties."""
    cities = list(Division.objects.filter(parent=province, level=Division.Level.CITY))
    with_counties = {c.code: list(Division.objects.filter(parent=c, level=Division.Level.COUNTY)) for c in cities}
    preferred = [code for code in PREFERRED_CITIES.get(province.code, ()) if with_counties.get(code)]
    ranked = preferred + [c.code for c in cities if c.code not in preferred and len(with_counties[c.code]) >= 3]
    ranked += [c.code for c in cities if c.code not in ranked and with_counties[c.code]]
    if not ranked:
        raise ValueError(f"province {province.code} has no counties in provinces.Division")
    chosen = ranked[:2]
    first = with_counties[chosen[0]]
    if len(chosen) == 1 or county_count <= 2:
        counties = first[: max(1, county_count)]
        if len(counties) < county_count and len(chosen) > 1:
            counties += with_counties[chosen[1]][: county_count - len(counties)]
    else:
        take_first = min(len(first), math.ceil(county_count * 2 / 3))
        counties = first[:take_first] + with_counties[chosen[1]][: county_count - take_first]
    city_codes = {c.code[:4] for c in counties}
    return [c for c in cities if c.code in city_codes], counties


STAGE_MIX = (  # share of schools per stage
    (School.Stage.PRIMARY, 0.52),
    (School.Stage.JUNIOR, 0.22),
    (School.Stage.NINE_YEAR, 0.14),
    (School.Stage.COMPLETE_MIDDLE, 0.06),
    (School.Stage.SENIOR, 0.06),
)


def _school_name(city: Division, county: Division, stage: str, n_of_stage: int, rng: random.Random,
                 used: set[str]) -> str:
    prefix = f"{city.name}{county.name}" if city.name not in ("市辖区", "县") else county.name
    for attempt in range(200):
        place = SCHOOL_PLACES[int(rng.random() * len(SCHOOL_PLACES))]
        numbered = attempt == 0 and rng.random() < 0.45 or attempt >= 100
        order = _ordinal(n_of_stage + (attempt // 100) * 20)
        if stage == School.Stage.PRIMARY:
            name = f"第{order}实验小学" if numbered else f"{place}{'实验' if rng.random() < 0.3 else ''}小学"
        elif stage == School.Stage.JUNIOR:
            name = f"第{order}中学" if numbered else f"{place}中学"
        elif stage == School.Stage.NINE_YEAR:
            name = f"{place}学校" if rng.random() < 0.5 else f"{place}九年一贯制学校"
        elif stage == School.Stage.COMPLETE_MIDDLE:
            name = f"第{order}中学" if numbered else f"{place}中学"
        else:
            name = f"第{order}高级中学" if numbered else f"{place}高级中学"
        full = prefix + name
        if full not in used:
            used.add(full)
            return full
    raise RuntimeError("ran out of school names")


def _plan_schools(cities: list[Division], counties: list[Division], school_count: int,
                  rng: random.Random) -> list[SchoolPlan]:
    city_of = {c.code: c for c in cities}
    stages: list[str] = []
    for stage, share in STAGE_MIX:
        stages += [stage] * max(1, round(school_count * share))
    stages = (stages + [School.Stage.PRIMARY] * school_count)[:school_count]
    rng.shuffle(stages)
    plans, used, per_county = [], set(), {c.code: {} for c in counties}
    for i, stage in enumerate(stages):
        county = counties[i % len(counties)]
        seen = per_county[county.code]
        seen[stage] = seen.get(stage, 0) + 1
        number = sum(seen.values())
        code = f"{county.code}{DEMO_SCHOOL_MARK}{number:03d}"
        name = _school_name(city_of[county.code[:4]], county, stage, seen[stage], rng, used)
        plans.append(SchoolPlan(code=code, name=name, county=county.code, stage=stage))
    return plans


def _spread(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` proportionally to ``weights`` (largest remainder)."""
    whole = sum(weights)
    raw = [total * w / whole for w in weights]
    counts = [int(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)[: total - sum(counts)]:
        counts[i] += 1
    return counts


# --- rows ------------------------------------------------------------------------------------


def _copy_value(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class CopyTable:
    """COPY rows into a model's table, filling columns we do not generate with their defaults.

    Other apps may add fields to Pupil/Guardian; their model defaults are applied here so the
    loader keeps working.
    """

    def __init__(self, model, columns: list[str]) -> None:
        self.model = model
        self.columns = columns
        now = timezone.now()
        extra, values = [], []
        for f in model._meta.concrete_fields:
            if f.column in columns or (f.primary_key and "id" not in columns):
                continue
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value = now
            else:  # the model default, "" for text fields without one, else NULL
                value = f.get_db_prep_save(f.get_default(), connection)
            extra.append(f.column)
            values.append(_copy_value(value))
        self.all_columns = columns + extra
        self.suffix = ("\t" + "\t".join(values)) if values else ""
        quoted = ", ".join(connection.ops.quote_name(c) for c in self.all_columns)
        self.sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({quoted}) FROM STDIN"

    def payload(self, lines: list[str]) -> io.BytesIO:
        suffix = self.suffix
        return io.BytesIO("".join(line + suffix + "\n" for line in lines).encode())


class CopyWriter(threading.Thread):
    """Runs the COPYs on the current transaction's connection while the main thread
    generates the next chunk: PostgreSQL and Python each keep one core busy."""

    def __init__(self) -> None:
        super().__init__(name="demo-copy", daemon=True)
        connection.ensure_connection()
        self.raw = connection.connection
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None

    def run(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is not None:
                continue
            sql, payload = item
            try:
                with self.raw.cursor() as cursor:
                    cursor.copy_expert(sql, payload)
            except BaseException as exc:  # re-raised in the main thread by close()
                self.error = exc

    def put(self, table: CopyTable, lines: list[str]) -> None:
        if self.error is not None:
            self.close()
        if lines:
            self.queue.put((table.sql, table.payload(lines)))

    def close(self) -> None:
        self.queue.put(None)
        self.join()
        if self.error is not None:
            raise self.error


class BulkIndexes:
    """Drop the secondary indexes and foreign keys of some tables for a large COPY and build
    them again afterwards, inside the same transaction (a failed load rolls all of it back).

    Building an index once over sorted data is far cheaper than a million random inserts into
    a dozen indexes; a foreign key added afterwards is checked with one join instead of a
    deferred trigger per row. Primary keys and unique constraints stay. Concurrent readers of
    these tables wait until the load commits.
    """

    def __init__(self, tables: list[str]) -> None:
        self.tables = tables
        self.indexes: list[str] = []
        self.foreign_keys: list[tuple[str, str, str]] = []

    def __enter__(self):
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            # Run the foreign-key checks queued so far (schools, classes): ALTER TABLE refuses
            # tables with pending deferred trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in self.tables:
                cursor.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype = 'f'",
                    [table],
                )
                for name, definition in cursor.fetchall():
                    self.foreign_keys.append((table, name, definition))
                    cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
                cursor.execute(
                    "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
                    "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass "
                    "AND NOT x.indisprimary "
                    "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
                    [table],
                )
                for name, definition in cursor.fetchall():
                    self.indexes.append(definition)
                    cursor.execute(f"DROP INDEX {quote(name)}")
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            return False  # the transaction rolls back, dropped indexes included
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            for definition in self.indexes:
                cursor.execute(definition)
            for table, name, definition in self.foreign_keys:
                cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
        return False


PUPIL_COLUMNS = [
    "id", "national_number", "name", "former_name", "sex", "birth_date", "ethnicity", "nationality",
    "id_type", "id_number", "hmt", "hukou_division_id", "hukou_nature", "health", "boarding",
    "left_behind", "migrant", "enrolled_on", "school_id", "school_class_id", "grade", "status",
    "status_until", "county_code", "identity_status",
]
GUARDIAN_COLUMNS = [
    "pupil_id", "name", "relation", "id_type", "id_number", "phone", "is_guardian", "is_first_guardian",
    "vital", "hukou_division_id", "order",
]

MINORITIES = ("08", "13", "15", "06", "03", "22")
PHONE_PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                  "158", "159", "176", "177", "180", "181", "186", "187", "188", "189", "199")
NO_ID_SHARE = 0.003
SUSPENDED_SHARE = 0.01
MIGRANT_SHARE = 0.12
OTHER_COUNTY_SHARE = 0.08
LATE_SHARE = 0.03


def school_year_start(today: dt.date) -> int:
    """The calendar year in which the current school year began (1 September)."""
    return today.year if today >= dt.date(today.year, 9, 1) else today.year - 1


def _stage_first_grade(stage: str, grade: int) -> int:
    if stage in (School.Stage.NINE_YEAR, School.Stage.TWELVE_YEAR) and grade <= 9:
        return 1
    return 1 if grade <= 6 else (7 if grade <= 9 else 10)


class PupilMaker:
    """Generates the COPY lines of pupils and their guardians."""

    def __init__(self, *, rng, province: str, counties: list[str], origin_counties: list[str],
                 ids: IdAllocator, numbers: NumberAllocator, year: int, today: dt.date) -> None:
        self.rng = rng
        self.names = NameMaker(rng)
        self.province = province
        self.counties = counties
        self.province_counties = [c for c in ids.regions if c.startswith(province)]
        self.origin_counties = origin_counties
        self.ids = ids
        self.numbers = numbers
        self.year = year
        self.today = today
        self.dates: dict[int, dt.date] = {}
        self.no_id = self.suspended = self.guardians = 0
        self.no_id_pks: set[int] = set()
        self.suspended_pks: set[int] = set()

    def choose_special(self, first_pk: int, count: int) -> None:
        """Which pupils have no ID (无户籍) and which are suspended (休学): a share, at least a few."""
        if not count:
            return
        pks = range(first_pk, first_pk + count)
        self.no_id_pks = set(self.rng.sample(pks, min(count, max(3, round(count * NO_ID_SHARE)))))
        self.suspended_pks = set(self.rng.sample(pks, min(count, max(2, round(count * SUSPENDED_SHARE)))))

    def _date(self, ordinal: int) -> dt.date:
        found = self.dates.get(ordinal)
        if found is None:
            found = self.dates[ordinal] = dt.date.fromordinal(ordinal)
        return found

    def _birth_date(self, grade: int) -> dt.date:
        # Grade g in the school year starting in Y: born 1 Sept (Y-g-6) .. 31 Aug (Y-g-5).
        start_year = self.year - grade - 6 - (1 if self.rng.random() < LATE_SHARE else 0)
        first = dt.date(start_year, 9, 1).toordinal()
        days = dt.date(start_year + 1, 9, 1).toordinal() - first
        return self._date(first + int(self.rng.random() * days))

    def _phone(self) -> str:
        rng = self.rng
        return PHONE_PREFIXES[int(rng.random() * len(PHONE_PREFIXES))] + f"{int(rng.random() * 1e8):08d}"

    def pupil(self, pk: int, school: SchoolPlan, grade: int, class_id: int) -> tuple[str, list[str]]:
        rng = self.rng
        county = school.county
        sex = "1" if rng.random() < 0.52 else "2"
        born = self._birth_date(grade)
        roll = rng.random()
        migrant = roll < MIGRANT_SHARE
        if migrant:
            region = self.origin_counties[int(rng.random() * len(self.origin_counties))]
        elif roll < MIGRANT_SHARE + OTHER_COUNTY_SHARE:
            region = self.province_counties[int(rng.random() * len(self.province_counties))]
        else:
            region = county
        no_id = pk in self.no_id_pks
        surname = self.names.surname()
        name = self.names.child(sex, surname)
        if no_id:
            self.no_id += 1
            id_type, id_number = "Z", ""
            number = self.numbers.j_number(county, born)
        else:
            id_type = "1"
            id_number = self.ids.allocate(region, born, sex, self.province_counties, rng)
            number = self.numbers.l_number(county, born)
        status, until = PupilStatus.ENROLLED.value, None
        if pk in self.suspended_pks:
            status = PupilStatus.SUSPENDED.value
            until = self._date(self.today.toordinal() + 30 + int(rng.random() * 300))
            self.suspended += 1
        first_grade = _stage_first_grade(school.stage, grade)
        enrolled_on = dt.date(self.year - (grade - first_grade), 9, 1)
        ethnicity = "01" if rng.random() < 0.97 else MINORITIES[int(rng.random() * len(MINORITIES))]
        health = "10" if rng.random() < 0.96 else ("20" if rng.random() < 0.7 else "30")
        boards = rng.random() < (0.25 if grade >= 7 else 0.03)
        former = self.names.child(sex, surname) if rng.random() < 0.01 else ""
        guardians, first_hukou = self._guardians(pk, surname, born, region, no_id)
        hukou = first_hukou if no_id else region
        line = "\t".join((
            str(pk), number, name, former, sex, born.isoformat(), ethnicity, "CHN", id_type, id_number,
            "00", hukou, "1" if migrant or rng.random() < 0.3 else "2", health, "2" if boards else "1",
            "1" if rng.random() < 0.02 else "0", "1" if migrant else "0", enrolled_on.isoformat(),
            str(school.pk), str(class_id), str(grade), status, until.isoformat() if until else r"\N",
            county, "unchecked",
        ))
        return line, guardians

    def _guardians(self, pupil_pk: int, surname: str, born: dt.date, region: str, no_id: bool):
        """Father and/or mother; pupils without an ID always get both (无户籍 rule)."""
        rng = self.rng
        roll = rng.random()
        members = ("51", "52") if no_id or roll < 0.88 else (("52",) if roll < 0.95 else ("51",))
        first = members[0] if len(members) == 1 or rng.random() < 0.6 else members[1]
        lines, first_hukou = [], region
        for order, relation in enumerate(members, start=1):
            is_father = relation == "51"
            sex = "1" if is_father else "2"
            years = (26 + int(rng.random() * 15)) if is_father else (24 + int(rng.random() * 15))
            parent_born = self._date(born.toordinal() - years * 365 - int(rng.random() * 365))
            home = region if rng.random() < 0.7 else self.province_counties[
                int(rng.random() * len(self.province_counties))]
            id_number = self.ids.allocate(home, parent_born, sex, self.province_counties, rng)
            name = self.names.adult(sex, surname if is_father and rng.random() < 0.97 else None)
            if relation == first:
                first_hukou = id_number[:6]
            lines.append("\t".join((
                str(pupil_pk), name, relation, "1", id_number, self._phone(), "t", "t" if relation == first else "f",
                "alive", id_number[:6], str(order),
            )))
        self.guardians += len(lines)
        return lines, first_hukou


# --- existence, reset -----------------------------------------------------------------------


def demo_schools(province_code: str):
    return School.objects.filter(
        county__code__startswith=province_code, code__regex=rf"^{province_code}[0-9]{{4}}{DEMO_SCHOOL_MARK}[0-9]{{3}}$"
    )


def demo_users(province_code: str):
    """Demo logins of one province: ``<unit code>.<role>`` with a ``@demo.invalid`` e-mail."""
    return get_user_model().objects.filter(
        email__endswith=f"@{DEMO_EMAIL_DOMAIN}", username__regex=rf"^{province_code}[0-9]*\.[a-z]+$"
    )


def demo_exists(province_code: str = DEFAULT_PROVINCE) -> bool:
    return demo_schools(province_code).exists() or demo_users(province_code).exists()


def demo_reset(province_code: str = DEFAULT_PROVINCE, progress: Progress | None = None) -> int:
    """Delete the demo pupils (with their guardians and history), schools and users.

    pghistory's per-row delete triggers of Pupil and Guardian are skipped (one summary audit
    record instead, as for the load); deletes cascading into other tracked models keep theirs.
    """
    progress = progress or (lambda message: None)
    deleted = pupils = 0
    triggers = (f"{Pupil._meta.label}:delete_delete", f"{Guardian._meta.label}:delete_delete")
    with transaction.atomic(), acting_as(None, command="load_demo --reset"), pgtrigger.ignore(*triggers):
        j_prefixes = {number[:15] for number in Pupil.objects.filter(
            school__in=demo_schools(province_code), national_number__startswith="J").values_list("national_number", flat=True)}
        demo_queues.demo_queues_reset(demo_schools(province_code))
        for school in demo_schools(province_code):
            count, by_model = Pupil.objects.filter(school=school).delete()
            deleted += count
            pupils += by_model.get(Pupil._meta.label, 0)
        Membership.objects.filter(user__in=demo_users(province_code)).delete()
        users = demo_users(province_code).count()
        demo_users(province_code).delete()
        SchoolClass.objects.filter(school__in=demo_schools(province_code)).delete()
        schools, _ = demo_schools(province_code).delete()
        registry_numbers.rewind(j_prefixes)  # generated numbers, never real records: given again
        _record_summary({"bulk_delete": {Pupil._meta.label: pupils, "rows": deleted}})
    logger.info("demo data of province %s deleted: %s pupils, %s rows, %s users", province_code, pupils, deleted, users)
    progress(f"已删除演示数据：{pupils} 名学生（连同家庭成员等共 {deleted} 行），{users} 个账号。")
    return pupils


# --- the load -----------------------------------------------------------------------------------


def _existing_numbers(counties: list[str]) -> tuple[set[int], dict[str, int], set[str]]:
    """L numbers, last J sequences and resident IDs already in the database."""
    taken_l, taken_ids = set(), set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT national_number FROM registry_pupil WHERE county_code = ANY(%s) AND national_number LIKE 'L%%'",
            [counties],
        )
        taken_l = {int(row[0][1:]) for row in cursor.fetchall()}
        cursor.execute(
            "SELECT id_number FROM registry_pupil WHERE id_number <> '' "
            "UNION SELECT id_number FROM registry_guardian WHERE id_number <> ''"
        )
        taken_ids = {row[0] for row in cursor.fetchall()}
    return taken_l, registry_numbers.last_j_sequences(counties=counties), taken_ids


def _reserve_ids(model, count: int) -> int:
    """Reserve ``count`` primary keys from the table's sequence; returns the first."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
        (sequence,) = cursor.fetchone()
        cursor.execute("SELECT nextval(%s)", [sequence])
        (first,) = cursor.fetchone()
        if count > 1:
            cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
    return first


def _create_users(province: Division, cities, counties, schools: list[School]) -> int:
    User = get_user_model()
    password = make_password(settings.DEMO_PASSWORD)  # one hash: hashing per user would take minutes
    Role = Membership.Role
    units: list[tuple[str, str, dict]] = []
    for role in (Role.OPERATOR, Role.APPROVER, Role.ADMIN, Role.VIEWER, Role.AUDITOR):
        units.append((province.code, role, {"division": province}))
    for division in [*cities, *counties]:
        for role in (Role.OPERATOR, Role.APPROVER, Role.VIEWER, Role.AUDITOR):
            units.append((division.code, role, {"division": division}))
    for school in schools:
        for role in (Role.OPERATOR, Role.APPROVER):
            units.append((school.code, role, {"school": school}))
    wanted = [f"{code}.{role}" for code, role, _unit in units]
    existing = set(User.objects.filter(username__in=wanted).values_list("username", flat=True))
    users = User.objects.bulk_create(
        [
            User(username=name, password=password, email=f"{name}@{DEMO_EMAIL_DOMAIN}", first_name=str(role.label))
            for name, (code, role, _unit) in zip(wanted, units)
            if name not in existing
        ],
        batch_size=1000,
    )
    by_name = {u.username: u for u in users}
    Membership.objects.bulk_create(
        [Membership(user=by_name[f"{code}.{role}"], role=role, **unit)
         for code, role, unit in units if f"{code}.{role}" in by_name],
        batch_size=1000,
    )
    return len(users)


def demo_load(*, pupils: int = DEFAULT_PUPILS, seed: int = DEFAULT_SEED, province: str = DEFAULT_PROVINCE,
              schools: int | None = None, reset: bool = False, audit_rows: bool = False,
              progress: Progress | None = None, today: dt.date | None = None) -> DemoSummary:
    """Create the demo province; does nothing when demo data exists (unless ``reset``).

    ``audit_rows`` keeps pghistory's per-row insert triggers on (one event per pupil and per
    guardian); by default they are skipped for the bulk COPY and one summary context row is
    recorded instead (docs/demo-data.md says why).
    """
    progress = progress or (lambda message: None)
    started = timezone.now()
    ensure_reference_data()
    province_div = Division.objects.get(code=province, level=Division.Level.PROVINCE)
    if reset:
        demo_reset(province, progress)
    elif demo_exists(province):
        return _summary_of_existing(province_div)

    rng = random.Random(seed)
    today = today or timezone.localdate()
    school_count = schools or max(30, round(pupils / PUPILS_PER_SCHOOL))
    county_count = max(4, min(24, math.ceil(school_count / 5) if school_count <= 30 else school_count // 40))
    cities, counties = _pick_cities(province_div, county_count)
    plans = _plan_schools(cities, counties, school_count, rng)

    origin_counties = list(
        Division.objects.filter(level=Division.Level.COUNTY, code__regex=rf"^({'|'.join(MIGRANT_ORIGINS)})")
        .exclude(code__startswith=province).values_list("code", flat=True)
    )
    origin_counties = sorted(rng.sample(origin_counties, min(ORIGIN_COUNTIES, len(origin_counties))))
    province_counties = list(
        Division.objects.filter(level=Division.Level.COUNTY, code__startswith=province).values_list("code", flat=True)
    )
    county_codes = [c.code for c in counties]

    with transaction.atomic(), acting_as(None, command="load_demo", seed=seed, pupils=pupils, province=province):
        school_rows = School.objects.bulk_create(
            [School(code=p.code, name=p.name, county_id=p.county, stage=p.stage) for p in plans]
        )
        for plan, school in zip(plans, school_rows):
            plan.pk = school.pk
        _plan_classes(plans, pupils, rng)
        progress(f"已建立 {len(plans)} 所学校（{len(counties)} 个区县）及其班级。")

        taken_l, last_j, taken_ids = _existing_numbers(county_codes)
        ids = IdAllocator(province_counties + origin_counties, taken_ids)
        numbers = NumberAllocator(rng, taken_l, last_j)
        maker = PupilMaker(rng=rng, province=province, counties=county_codes, origin_counties=origin_counties,
                           ids=ids, numbers=numbers, year=school_year_start(today), today=today)
        pupil_table = CopyTable(Pupil, PUPIL_COLUMNS)
        guardian_table = CopyTable(Guardian, GUARDIAN_COLUMNS)
        first_pk = _reserve_ids(Pupil, pupils) if pupils else 0
        maker.choose_special(first_pk, pupils)

        slots = _pupil_slots(plans, rng)
        triggers = () if audit_rows else (
            f"{Pupil._meta.label}:insert_insert", f"{Guardian._meta.label}:insert_insert")
        bulk = BulkIndexes([Pupil._meta.db_table, Guardian._meta.db_table]) if pupils >= BULK_THRESHOLD else _nothing()
        with pgtrigger.ignore(*triggers) if triggers else _nothing(), bulk:
            _touch_context()
            writer = CopyWriter()
            writer.start()
            try:
                for start in range(0, len(slots), CHUNK):
                    pupil_lines, guardian_lines = [], []
                    for offset, (plan, grade, class_id) in enumerate(slots[start:start + CHUNK]):
                        line, guardians = maker.pupil(first_pk + start + offset, plan, grade, class_id)
                        pupil_lines.append(line)
                        guardian_lines.extend(guardians)
                    writer.put(pupil_table, pupil_lines)
                    writer.put(guardian_table, guardian_lines)
                    elapsed = (timezone.now() - started).total_seconds()
                    progress(f"已生成 {min(start + CHUNK, len(slots))}/{len(slots)} 名学生（{elapsed:.0f} 秒）。")
            finally:
                writer.close()
            if pupils >= BULK_THRESHOLD:
                elapsed = (timezone.now() - started).total_seconds()
                progress(f"学生已全部写入（{elapsed:.0f} 秒），正在重建索引和外键……")
        registry_numbers.note_sequences(numbers.last_j)  # the J numbers it gave count as issued
        progress("正在建立账号并提交……")
        user_count = _create_users(province_div, cities, counties,
                                   list(School.objects.filter(code__in=[p.code for p in plans])))
        audit = "rows" if audit_rows else "summary"
        if not audit_rows:
            _record_summary({"bulk_insert": {Pupil._meta.label: len(slots), Guardian._meta.label: maker.guardians,
                                             School._meta.label: len(plans)}})

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE registry_pupil; ANALYZE registry_guardian; ANALYZE schools_school; ANALYZE schools_schoolclass;")
    demo_schools_list = list(School.objects.filter(code__in=[p.code for p in plans]).select_related("county"))
    queues = demo_queues.DemoQueues()
    if pupils:
        queue_started = timezone.now()
        queues = demo_queues.demo_queues_load(schools=demo_schools_list, school_year=school_year_start(today),
                                              today=today)
        progress(f"已建立演示待办（{(timezone.now() - queue_started).total_seconds():.1f} 秒）。")
    summary = DemoSummary(
        province=province_div, cities=cities, counties=counties,
        schools=demo_schools_list,
        pupils=len(slots), guardians=maker.guardians, no_id_pupils=maker.no_id, suspended=maker.suspended,
        users=user_count, seconds=(timezone.now() - started).total_seconds(), audit=audit, queues=queues.lines(),
    )
    logger.info("demo data loaded: province %s, %s schools, %s pupils, %s guardians, %s users, seed %s, %.1fs",
                province, len(plans), summary.pupils, summary.guardians, user_count, seed, summary.seconds)
    return summary


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _touch_context() -> None:
    """Run one statement through Django's cursor so the transaction-local settings of
    ``pghistory.context`` and ``pgtrigger.ignore`` are set before the raw COPYs."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE schools_school SET id = id WHERE false")


def _record_summary(metadata: dict) -> None:
    """The one audit record of a bulk write whose per-row triggers were skipped: the
    metadata of the current pghistory context (who, which command, how many rows)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('pghistory.context_id', true)")
        (context_id,) = cursor.fetchone()
        cursor.execute("SELECT current_setting('pghistory.context_metadata', true)")
        (current,) = cursor.fetchone()
    if not context_id:
        return
    base = json.loads(current) if current else {}
    context, _created = Context.objects.get_or_create(id=context_id, defaults={"metadata": base})
    context.metadata = {**base, **context.metadata, **metadata}
    context.save(update_fields=["metadata"])


def _plan_classes(plans: list[SchoolPlan], pupils: int, rng: random.Random) -> None:
    """Pupils per school and grade, classes of ~45 (at least one class per grade)."""
    weights = [(0.6 + rng.random() * 0.8) * len(School.GRADES[p.stage]) for p in plans]
    for plan, count in zip(plans, _spread(pupils, weights)):
        plan.pupils = count
    classes = []
    for plan in plans:
        grades = list(School.GRADES[plan.stage])
        per_grade = _spread(plan.pupils, [0.9 + rng.random() * 0.2 for _g in grades])
        plan.classes = {}
        for grade, count in zip(grades, per_grade):
            n_classes = max(1, round(count / CLASS_SIZE))
            sizes = _spread(count, [1.0] * n_classes)
            plan.classes[grade] = [(number, size) for number, size in enumerate(sizes, start=1)]
            classes += [SchoolClass(school_id=plan.pk, grade=grade, number=n) for n in range(1, n_classes + 1)]
    created = SchoolClass.objects.bulk_create(classes, batch_size=2000)
    ids = {(c.school_id, c.grade, c.number): c.pk for c in created}
    for plan in plans:
        plan.classes = {g: [(ids[(plan.pk, g, n)], size) for n, size in cls] for g, cls in plan.classes.items()}


def _pupil_slots(plans: list[SchoolPlan], rng: random.Random) -> list[tuple[SchoolPlan, int, int]]:
    """One (school, grade, class) per pupil, shuffled so ids interleave schools like real life."""
    slots = [(plan, grade, class_id) for plan in plans for grade, cls in plan.classes.items()
             for class_id, size in cls for _i in range(size)]
    rng.shuffle(slots)
    return slots


def _summary_of_existing(province: Division) -> DemoSummary:
    schools = list(demo_schools(province.code).select_related("county"))
    county_codes = sorted({s.county_id for s in schools})
    return DemoSummary(
        province=province,
        cities=list(Division.objects.filter(code__in={c[:4] for c in county_codes})),
        counties=list(Division.objects.filter(code__in=county_codes)),
        schools=schools,
        pupils=Pupil.objects.filter(school__in=schools).count(),
        users=demo_users(province.code).count(),
        created=False,
    )


def logins_summary(summary: DemoSummary, *, max_schools: int = 40) -> list[str]:
    """The lines printed after a load: who can log in where, and the password."""
    def unit(code: str, name: str, roles=("operator", "approver")) -> str:
        return "  " + "  ".join(f"{code}.{role}" for role in roles) + f"  → {name}"

    lines = ["", "演示账号（用户名 → 单位）："]
    lines.append(unit(summary.province.code, summary.province.name, ("operator", "approver", "admin")))
    lines += [unit(city.code, city.full_name()) for city in summary.cities]
    lines += [unit(county.code, county.full_name()) for county in summary.counties]
    lines += [unit(s.code, f"{s.name}（{s.get_stage_display()}）") for s in summary.schools[:max_schools]]
    if len(summary.schools) > max_schools:
        lines.append(f"  …… 另有 {len(summary.schools) - max_schools} 所学校，用户名同样是“学校标识码.operator / .approver”")
    if summary.queues:
        lines += ["", "演示待办："] + [f"  {line}" for line in summary.queues]
    lines.append(f"所有演示账号的密码：{settings.DEMO_PASSWORD}")
    return lines
