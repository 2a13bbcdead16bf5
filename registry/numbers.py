"""Giving national student numbers (全国学籍号): the one place that allocates them.

- ``L`` + county + birth date + 4 random digits (temporary, given at first registration):
  random, so two registrations rarely meet; the unique column refuses a clash and the
  caller draws again (``l_numbers`` checks a batch against the table first).
- ``J`` + county + birth date + 3-digit sequence + check char (no usable resident ID): the
  next sequence of that county and birth date (``j_numbers``), counted in
  ``NumberSequence`` under a row lock, so two registrations of the same day never get the
  same number and a number that became G is never given again.
- ``G`` + resident ID (permanent): ``kernel.identity.make_g_number`` at L→G or J→G
  promotion; nothing to allocate.

A number a pupil stops carrying (L→G, J→G) is kept in ``RetiredNumber`` (``retire``), and
``l_numbers`` never draws one. Registration, the roster import and the demo loader all take
their numbers here.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Max
from django.db.models.functions import Substr
from django.utils.translation import gettext_lazy as _

from kernel import identity
from kernel.errors import Conflict
from registry.models import NumberSequence, Pupil, RetiredNumber

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
        clashes |= set(RetiredNumber.objects.filter(number__in=drawn.values()).values_list("number", flat=True))
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
    transaction that stores them (the sequence rows stay locked until it ends)."""
    wanted = list(wanted)
    if not wanted:
        return []
    counts = Counter(j_prefix(county, born) for county, born in wanted)
    prefixes = sorted(counts)  # two batches lock their prefixes in the same order
    with transaction.atomic():
        NumberSequence.objects.bulk_create([NumberSequence(prefix=p) for p in prefixes], ignore_conflicts=True)
        rows = {row.prefix: row for row in NumberSequence.objects.select_for_update().filter(prefix__in=prefixes)
                .order_by("prefix")}
        # Numbers written by other paths (an older version, a bulk load) count too.
        held = last_j_sequences(prefixes=prefixes)
        sequence = {p: max(rows[p].last, held.get(p, 0)) for p in prefixes}
        for prefix in prefixes:
            rows[prefix].last = sequence[prefix] + counts[prefix]
            if rows[prefix].last > 999:
                raise Conflict(_("该区县同一出生日期的 J 字头学籍号已用完"), code="number_allocation_failed")
        NumberSequence.objects.bulk_update(rows.values(), ["last"])
    numbers = []
    for county, born in wanted:
        prefix = j_prefix(county, born)
        sequence[prefix] += 1
        numbers.append(identity.make_j_number(county, born, sequence[prefix]))
    return numbers


def note_issued(numbers_issued: Iterable[str]) -> None:
    """Raise the J sequences to numbers written without ``j_numbers``."""
    last: dict[str, int] = {}
    for number in numbers_issued:
        if number.startswith("J"):
            last[number[:15]] = max(last.get(number[:15], 0), int(number[15:18]))
    note_sequences(last)


def note_sequences(last: dict[str, int]) -> None:
    """Raise the J sequences to ``{prefix: last sequence}`` (a bulk loader numbering itself)."""
    if not last:
        return
    with transaction.atomic():
        NumberSequence.objects.bulk_create([NumberSequence(prefix=p) for p in last], ignore_conflicts=True)
        for row in NumberSequence.objects.select_for_update().filter(prefix__in=list(last)).order_by("prefix"):
            if last[row.prefix] > row.last:
                NumberSequence.objects.filter(pk=row.pk).update(last=last[row.prefix])


def rewind(prefixes: Iterable[str]) -> None:
    """Lower the sequences of ``prefixes`` to the numbers still held or retired. Only for
    wiping generated data (the demo reset); real records are never deleted this way."""
    prefixes = sorted(set(prefixes))
    with transaction.atomic():
        rows = NumberSequence.objects.select_for_update().filter(prefix__in=prefixes)
        held = last_j_sequences(prefixes=prefixes, counted=False)
        for row in rows:
            NumberSequence.objects.filter(pk=row.pk).update(last=held.get(row.prefix, 0))


def retire(*, pupil: Pupil, number: str) -> None:
    """``pupil`` stops carrying ``number`` (it became G): the number stays issued."""
    RetiredNumber.objects.get_or_create(number=number, defaults={"pupil": pupil})


def last_j_sequences(*, prefixes: list[str] | None = None, counties: list[str] | None = None,
                     counted: bool = True) -> dict[str, int]:
    """The last J sequence issued per prefix (``J`` + county + birth date) — held by a pupil,
    retired, or (unless ``counted`` is false) counted — for the given prefixes or every
    prefix of the given counties."""
    rows = Pupil.objects.filter(national_number__startswith="J").annotate(prefix=Substr("national_number", 1, 15))
    retired = RetiredNumber.objects.filter(number__startswith="J").annotate(prefix=Substr("number", 1, 15))
    counted = NumberSequence.objects.all() if counted else NumberSequence.objects.none()
    if prefixes is not None:
        rows, retired, counted = rows.filter(prefix__in=prefixes), retired.filter(prefix__in=prefixes), \
            counted.filter(prefix__in=prefixes)
    if counties is not None:
        rows = rows.filter(county_code__in=counties)
        counted = counted.filter(prefix__regex=rf"^J({'|'.join(counties)})") if counties else counted.none()
        retired = retired.filter(prefix__regex=rf"^J({'|'.join(counties)})") if counties else retired.none()
    last: dict[str, int] = {}
    for prefix, number in rows.values("prefix").annotate(top=Max("national_number")).values_list("prefix", "top"):
        last[prefix] = int(number[15:18])
    for prefix, number in retired.values("prefix").annotate(top=Max("number")).values_list("prefix", "top"):
        last[prefix] = max(last.get(prefix, 0), int(number[15:18]))
    for prefix, value in counted.values_list("prefix", "last"):
        last[prefix] = max(last.get(prefix, 0), value)
    return last


def new_national_number(*, county_code: str, birth_date: dt.date, resident_id: bool,
                        rng: random.Random | None = None) -> str:
    """The number of one new record: L with a resident ID, J without."""
    if resident_id:
        return l_numbers([(county_code, birth_date)], rng=rng)[0]
    return j_numbers([(county_code, birth_date)])[0]
