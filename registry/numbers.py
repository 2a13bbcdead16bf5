"""Giving national student numbers (全国学籍号): the one place that allocates them.

- ``L`` + county + birth date + 4 random digits (temporary, given at first registration):
  random, so two registrations rarely meet; the unique column refuses a clash and the
  caller draws again (``l_numbers`` checks a batch against the table first).
- ``J`` + county + birth date + 3-digit sequence + check char (no usable resident ID): the
  next sequence of that county and birth date (``j_numbers``), taken under a transaction
  lock on the prefix, so two registrations of the same day never get the same number.
- ``G`` + resident ID (permanent): ``kernel.identity.make_g_number`` at L→G or J→G
  promotion; nothing to allocate.

Registration, the roster import and the demo loader all take their numbers here.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Max
from django.db.models.functions import Substr
from django.utils.translation import gettext_lazy as _

from kernel import identity
from kernel.errors import Conflict
from registry.models import Pupil

#: Rounds of redrawing clashing L numbers before giving up (4 random digits per day and county).
L_ROUNDS = 20


def j_prefix(county_code: str, birth_date: dt.date) -> str:
    return f"J{county_code}{birth_date:%Y%m%d}"


def l_numbers(wanted: Iterable[tuple[str, dt.date]], *, rng: random.Random | None = None) -> list[str]:
    """One L number per (county code, birth date), none already in the registry or twice."""
    wanted = list(wanted)
    rng = rng or random.SystemRandom()
    numbers: list[str | None] = [None] * len(wanted)
    taken: set[str] = set()
    pending = list(range(len(wanted)))
    for _round in range(L_ROUNDS):
        if not pending:
            return numbers  # type: ignore[return-value]
        drawn = {i: identity.make_l_number(*wanted[i], rng=rng) for i in pending}
        clashes = set(Pupil.objects.filter(national_number__in=drawn.values()).values_list("national_number", flat=True))
        pending = []
        for i, number in drawn.items():
            if number in clashes or number in taken:
                pending.append(i)
            else:
                taken.add(number)
                numbers[i] = number
    if pending:  # pragma: no cover - 20 rounds of 4-digit collisions
        raise Conflict(_("学籍号分配失败，请重试"), code="number_allocation_failed")
    return numbers  # type: ignore[return-value]


def j_numbers(wanted: Iterable[tuple[str, dt.date]]) -> list[str]:
    """The next J numbers for (county code, birth date) pairs, in order; call inside the
    transaction that stores them (the prefix lock lasts until it ends)."""
    wanted = list(wanted)
    if not wanted:
        return []
    counts = Counter(j_prefix(county, born) for county, born in wanted)
    prefixes = sorted(counts)
    with transaction.atomic(), connection.cursor() as cursor:
        for prefix in prefixes:  # sorted: two batches lock their prefixes in the same order
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [prefix])
        last = last_j_sequences(prefixes=prefixes)
    sequence = {prefix: last.get(prefix, 0) for prefix in prefixes}
    numbers = []
    for county, born in wanted:
        prefix = j_prefix(county, born)
        sequence[prefix] += 1
        numbers.append(identity.make_j_number(county, born, sequence[prefix]))
    return numbers


def last_j_sequences(*, prefixes: list[str] | None = None, counties: list[str] | None = None) -> dict[str, int]:
    """The last J sequence issued per prefix (``J`` + county + birth date), for the given
    prefixes or for every prefix of the given counties (the demo loader numbers in bulk)."""
    rows = Pupil.objects.filter(national_number__startswith="J").annotate(prefix=Substr("national_number", 1, 15))
    if prefixes is not None:
        rows = rows.filter(prefix__in=prefixes)
    if counties is not None:
        rows = rows.filter(county_code__in=counties)
    last = rows.values("prefix").annotate(last=Max("national_number")).values_list("prefix", "last")
    return {prefix: int(number[15:18]) for prefix, number in last}


def new_national_number(*, county_code: str, birth_date: dt.date, resident_id: bool,
                        rng: random.Random | None = None) -> str:
    """The number of one new record: L with a resident ID, J without."""
    if resident_id:
        return l_numbers([(county_code, birth_date)], rng=rng)[0]
    return j_numbers([(county_code, birth_date)])[0]
