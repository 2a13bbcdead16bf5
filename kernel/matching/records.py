"""The engine's records: what it reads of a pupil (``PupilKey``) and what it reports
(``Match``). Plain data, no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

ID_TYPE_RESIDENT = "1"


@dataclass(frozen=True, slots=True)
class PupilKey:
    """The fields of a pupil record the engine looks at."""

    pk: int
    name: str
    sex: str  # "1" male, "2" female
    birth_date: date
    id_number: str = ""  # "" when the pupil has none
    guardian_ids: tuple[str, ...] = ()
    county: str = ""  # 6-digit county code of the school
    id_type: str = ID_TYPE_RESIDENT  # "1" resident ID, "Z" none, ...
    former_names: tuple[str, ...] = ()  # 曾用名: the names the child was known by before
    guardian_phones: tuple[str, ...] = ()  # the family members' phone numbers


@dataclass(frozen=True, slots=True)
class Match:
    """Two records that are probably one child: ``a_pk < b_pk``."""

    a_pk: int
    b_pk: int
    score: float
    reasons: list[str] = field(default_factory=list)
    # The main evidence: same_id, id_typo, id_birth_variant (the ID agrees with a mistyped
    # birth date), renamed (one record's name is the other's 曾用名), traditional, lookalike,
    # pinyin_slip, invented_id (same name, both IDs valid), no_id (same name, one side
    # without ID), name (other).
    kind: str = "name"

    @property
    def pair(self) -> frozenset[int]:
        return frozenset((self.a_pk, self.b_pk))
