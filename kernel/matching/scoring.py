"""Scoring a candidate pair (打分): the weights of the table in the package docstring are
added up and clipped to ``[0, MAX_FUZZY_SCORE]``; the same ID number scores 1.0. Every
weight comes with a reason in words (Chinese), shown to the county official who resolves
the case."""

from __future__ import annotations

from datetime import date

from kernel.matching.blocking import Prepared
from kernel.matching.ids import id_is_valid, mask, one_edit
from kernel.matching.names import (
    HOMOPHONE,
    HOMOPHONE_RARE,
    LOOKALIKE,
    ONE_OFF,
    SAME,
    SIMPLIFIED,
    SOUND_SHAPE,
    compare_names,
)
from kernel.matching.records import Match, PupilKey

CASE_THRESHOLD = 0.60
MAX_FUZZY_SCORE = 0.99
SAME_ID_SCORE = 1.0

W_ID_NEAR = 0.30
W_IDS_BOTH_VALID_DIFFERENT = -0.15
W_IDS_DIFFERENT_ONE_INVALID = -0.10
W_NAME_SAME = 0.40
W_NAME_SIMPLIFIED = 0.38
W_NAME_LOOKALIKE = 0.34
W_NAME_HOMOPHONE = 0.32
W_NAME_HOMOPHONE_RARE = 0.26
W_NAME_SOUND_SHAPE = 0.28
W_NAME_ONE_OFF = 0.10
W_BIRTH_SAME = 0.20
W_BIRTH_NEAR = 0.08
W_BIRTH_DIFFERENT = -0.10
W_SEX_SAME = 0.10
W_SEX_DIFFERENT = -0.10
W_GUARDIAN_SHARED = 0.25
W_GUARDIAN_NEAR = 0.15
W_GUARDIANS_DISJOINT = -0.30
W_GUARDIAN_PHONE = 0.20
W_NAME_FORMER = 0.38
W_ID_BIRTH_VARIANT = 0.30

#: A name level of its own: one record's name is the other's 曾用名 (after the names' levels).
FORMER_NAME = ONE_OFF + 1

NAME_WEIGHTS = {
    FORMER_NAME: W_NAME_FORMER,
    SAME: W_NAME_SAME,
    SIMPLIFIED: W_NAME_SIMPLIFIED,
    LOOKALIKE: W_NAME_LOOKALIKE,
    HOMOPHONE: W_NAME_HOMOPHONE,
    HOMOPHONE_RARE: W_NAME_HOMOPHONE_RARE,
    SOUND_SHAPE: W_NAME_SOUND_SHAPE,
    ONE_OFF: W_NAME_ONE_OFF,
}


def _birth_near(a: date, b: date) -> bool:
    """One digit off in YYYYMMDD, or month and day swapped."""
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return True
    x, y = f"{a.year:04d}{a.month:02d}{a.day:02d}", f"{b.year:04d}{b.month:02d}{b.day:02d}"
    return sum(map(str.__ne__, x, y)) == 1


def _id_birth_variant(a: Prepared, b: Prepared) -> bool:
    """Two valid IDs equal but for the birth date, each agreeing with its own record's birth
    date, the dates one typo apart: an ID made up to fit a mistyped birth date."""
    x, y = a.id, b.id
    return (
        len(x) == 18 and len(y) == 18 and x[:6] == y[:6] and x[14:17] == y[14:17] and x[6:14] != y[6:14]
        and x[6:14] == f"{a.birth:%Y%m%d}" and y[6:14] == f"{b.birth:%Y%m%d}"
        and _birth_near(a.birth, b.birth) and id_is_valid(x) and id_is_valid(y)
    )


def _former_name(a: Prepared, b: Prepared) -> str | None:
    """The reason when one record's name (or 曾用名) is the other's 曾用名 (the same or its
    traditional form): a renamed child."""
    for x, others, y_name in ((a.name, b.formers, b.name), (b.name, a.formers, a.name)):
        for former in others:
            if x.simp == former.simp:
                return f"曾用名相同: {y_name.raw}曾用名{former.raw} / {x.raw}"
    for x in a.formers:
        for y in b.formers:
            if x.simp == y.simp:
                return f"曾用名相同: {x.raw}"
    return None


def _shares_id_key(common: set[str]) -> bool:
    for key in common:
        if key[0] == "x":
            return True
    return False


def score_prepared(
    a: Prepared, b: Prepared, common: set[str] | None = None, threshold: float = CASE_THRESHOLD
) -> Match | None:
    """Score a pair (None below ``threshold``). ``common``, the blocking keys the two share,
    spares the ID comparison: IDs one edit apart always share an ``x:`` key."""
    if b.pk < a.pk:  # reasons read in the pair's order: a_pk's spelling first
        a, b = b, a
    if common is None:
        common = set(a.keys).intersection(b.keys)
    named = compare_names(a.name, b.name)
    if (a.formers or b.formers) and (named is None or named[0] > SIMPLIFIED):
        former = _former_name(a, b)
        if former is not None:
            named = (FORMER_NAME, former)
    if a.id and a.id == b.id:
        return _explain(a, b, named, SAME_ID_SCORE, "same_id", id_edit=None, guardians="", ids="same")
    id_edit = one_edit(a.id, b.id) if a.id and b.id and _shares_id_key(common) else None
    if named is None and id_edit is None:
        if threshold > 0:
            return None
        return Match(a.pk, b.pk, 0.0, ["姓名不相近"], "none")

    score = NAME_WEIGHTS[named[0]] if named is not None else 0.0
    if a.birth == b.birth:
        score += W_BIRTH_SAME
    else:
        score += W_BIRTH_DIFFERENT  # corrected below if the dates are one typo apart
    score += W_SEX_SAME if a.sex == b.sex else W_SEX_DIFFERENT
    if id_edit is not None:
        ids = "near"
        score += W_ID_NEAR
    elif a.id and b.id and named is not None and named[0] != ONE_OFF and a.birth != b.birth \
            and _id_birth_variant(a, b):
        # Not with a name one character off: siblings born a year apart may share region and
        # sequence by chance (张子涵/张子轩, 2012-03-15/2013-03-15).
        ids = "birth_variant"
        score += W_ID_BIRTH_VARIANT
    elif a.id and b.id:
        ids = "different"  # told apart below (both valid or not), only when it can matter
        score += W_IDS_DIFFERENT_ONE_INVALID
    else:
        ids = "one_missing" if a.id or b.id else ""
    guardians = ""
    if a.guardians and b.guardians:
        if not a.guardians.isdisjoint(b.guardians):
            guardians = "shared"
            score += W_GUARDIAN_SHARED
        else:
            guardians = "disjoint"  # or one edit apart: checked below
            score += W_GUARDIANS_DISJOINT
    elif a.phones and b.phones and not a.phones.isdisjoint(b.phones):
        # No guardian ID on one side (a no-hukou family, legacy data): the phone on file.
        guardians = "phone"
        score += W_GUARDIAN_PHONE

    # The most the pair could still get; most pairs stop here, before the costlier checks.
    best = score
    if a.birth != b.birth:
        best += W_BIRTH_NEAR - W_BIRTH_DIFFERENT
    if guardians == "disjoint":
        best += W_GUARDIAN_NEAR - W_GUARDIANS_DISJOINT
    if best < threshold:
        return None
    if a.birth != b.birth and _birth_near(a.birth, b.birth):
        score += W_BIRTH_NEAR - W_BIRTH_DIFFERENT
    if guardians == "disjoint" and any(one_edit(g, h) for g in a.guardians for h in b.guardians):
        guardians = "near"
        score += W_GUARDIAN_NEAR - W_GUARDIANS_DISJOINT
    if ids == "different":
        if id_is_valid(a.id) and id_is_valid(b.id):
            ids = "valid_different"
            score += W_IDS_BOTH_VALID_DIFFERENT - W_IDS_DIFFERENT_ONE_INVALID
        else:
            ids = "invalid_different"
    score = round(min(max(score, 0.0), MAX_FUZZY_SCORE), 4)
    if score < threshold:
        return None
    if id_edit is not None:
        kind = "id_typo"
    elif ids == "birth_variant":
        kind = "id_birth_variant"
    else:
        kind = _NAME_KINDS.get(named[0], "name")
    if kind == "name":
        if ids == "valid_different":
            kind = "invented_id"
        elif ids == "one_missing":
            kind = "no_id"
    return _explain(a, b, named, score, kind, id_edit=id_edit, guardians=guardians, ids=ids)


def _explain(
    a: Prepared,
    b: Prepared,
    named: tuple[int, str] | None,
    score: float,
    kind: str,
    *,
    id_edit: str | None,
    guardians: str,
    ids: str,
) -> Match:
    """The match with its reasons in words, strongest evidence first."""
    reasons: list[str] = []
    if kind == "same_id":
        reasons.append(f"身份证号相同: {mask(a.id)}")
        if named is not None:
            reasons.append(named[1])
        return Match(a.pk, b.pk, score, reasons, kind)
    if named is not None:
        reasons.append(named[1])
    if a.birth == b.birth:
        reasons.append("出生日期相同")
    elif _birth_near(a.birth, b.birth):
        reasons.append(f"出生日期相近: {a.birth.isoformat()}/{b.birth.isoformat()}")
    else:
        reasons.append(f"出生日期不同: {a.birth.isoformat()}/{b.birth.isoformat()}")
    reasons.append("性别相同" if a.sex == b.sex else "性别不同")
    if guardians == "shared":
        shared = sorted(a.guardians & b.guardians)
        reasons.append("监护人身份证号相同: " + "、".join(mask(g) for g in shared))
    elif guardians == "near":
        reasons.append("监护人身份证号仅一位之差")
    elif guardians == "phone":
        reasons.append("监护人联系电话相同: " + "、".join(mask_phone(p) for p in sorted(a.phones & b.phones)))
    elif guardians == "disjoint":
        reasons.append("双方监护人身份证号均不相同")
    if id_edit is not None:
        what = "仅一位之差" if id_edit == "sub" else "相邻两位颠倒"
        reasons.append(f"身份证号{what}: {a.id}/{b.id}")
    elif ids in _ID_REASONS:
        reasons.append(_ID_REASONS[ids])
    return Match(a.pk, b.pk, score, reasons, kind)


def mask_phone(number: str) -> str:
    return number[:3] + "****" + number[-4:] if len(number) >= 11 else number[:2] + "***" + number[-2:]


_ID_REASONS = {
    "birth_variant": "身份证号除出生日期外相同，且各与本记录出生日期一致",
    "valid_different": "两条记录的身份证号均有效且不同",
    "invalid_different": "两条记录的身份证号不同（至少一方无效）",
    "one_missing": "一方无身份证号",
}

_NAME_KINDS = {
    FORMER_NAME: "renamed",
    SIMPLIFIED: "traditional",
    LOOKALIKE: "lookalike",
    HOMOPHONE: "pinyin_slip",
    HOMOPHONE_RARE: "pinyin_slip",
    SOUND_SHAPE: "pinyin_slip",
}


def score_pair(a: PupilKey, b: PupilKey) -> Match | None:
    """The match between two records when it reaches ``CASE_THRESHOLD``, else None."""
    if a.pk == b.pk:
        return None
    return score_prepared(Prepared(a), Prepared(b))


def explain_pair(a: PupilKey, b: PupilKey) -> Match:
    """The score and reasons of any two records, below the threshold too (for tuning and
    for telling an operator why a pair was not flagged); kind "none" without name evidence."""
    return score_prepared(Prepared(a), Prepared(b), threshold=-1.0)
