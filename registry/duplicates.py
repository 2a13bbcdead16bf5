"""Duplicate check at entry (查重): is the record being entered probably a child already registered?

``likely_duplicates`` asks the database for the candidates of a new record in the whole
province of its school (``matching.candidate_query_keys``: same birth date and sex, the same
or a one-edit-apart ID number, a shared guardian ID number, the same name sound within the
birth year) and scores them with ``matching.matches_for``. This is a system check across the
province, on purpose outside the user's scope: the operator is told only who holds the
likely match (national number, name, school) so that a transfer can be started instead.

``record_entry_override`` turns the pairs the operator kept anyway into open cases
(疑似重复学籍) for the counties (``provinces.services.case_open_at_entry``).
"""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _

from registry import matching
from registry.models import ACTIVE_STATUSES, Guardian, Pupil
from registry.records import PupilData


def pupil_key(pupil: Pupil, guardian_ids=None) -> matching.PupilKey:
    """The engine's view of a stored pupil (guardian IDs from the prefetched guardians)."""
    if guardian_ids is None:
        guardian_ids = [g.id_number for g in pupil.guardians.all()]
    return matching.PupilKey(
        pk=pupil.pk,
        name=pupil.name,
        sex=pupil.sex,
        birth_date=pupil.birth_date,
        id_number=pupil.id_number or "",
        guardian_ids=tuple(sorted({g for g in guardian_ids if g})),
        county=pupil.county_code,
        id_type=pupil.id_type,
    )


def data_key(data: PupilData, *, pk: int = 0, county: str = "") -> matching.PupilKey:
    return matching.PupilKey(
        pk=pk,
        name=data.name or "",
        sex=data.sex or "",
        birth_date=data.birth_date,
        id_number=data.id_number or "",
        guardian_ids=tuple(sorted({g.id_number for g in data.guardians if g.id_number})),
        county=county,
        id_type=data.id_type or "1",
    )


def case_threshold(province_code: str) -> float:
    from provinces.models import ProvincePolicy

    configured = ProvincePolicy.for_province(province_code).duplicate_case_threshold
    return max(configured, matching.CASE_THRESHOLD) if configured else matching.CASE_THRESHOLD


def candidates_of(new: matching.PupilKey, province_code: str, *, exclude_pk: int | None = None):
    """Active pupils of the province sharing any indexed key with ``new`` (not yet scored)."""
    keys = matching.candidate_query_keys(new)
    id_numbers = [k[2:] for k in keys["id_neighbour_keys"] if k.startswith("x:")]
    condition = Q(birth_date=keys["birth_date"], sex=keys["sex"])
    if keys["id_number"]:
        condition |= Q(id_number__in=[keys["id_number"], *id_numbers])
    if keys["id_neighbour_keys"]:
        condition |= Q(match_key__id_keys__overlap=keys["id_neighbour_keys"])
    if keys["guardian_ids"]:
        condition |= Q(pk__in=Guardian.objects.filter(id_number__in=keys["guardian_ids"]).values("pupil_id"))
    if keys["name_sound_keys"]:
        condition |= Q(match_key__birth_year=keys["birth_year"], match_key__sound_keys__overlap=keys["name_sound_keys"])
    found = (
        Pupil.objects.filter(county_code__startswith=province_code, status__in=ACTIVE_STATUSES)
        .filter(condition)
        .select_related("school__county")
        .prefetch_related("guardians")
    )
    if exclude_pk is not None:
        found = found.exclude(pk=exclude_pk)
    return list(found.distinct()[:2000])


def likely_duplicates(data: PupilData, *, exclude_pk: int | None = None) -> list[dict]:
    """Existing pupils that are probably the same child as ``data``, best first.

    ``exclude_pk`` is the pupil being changed (a key change re-runs the check); pairs a
    county ruled 佐证 (both real) are never reported again.
    """
    from provinces.models import CleanPair
    from schools.models import School

    if not data.name or not data.birth_date or data.sex not in ("1", "2"):
        return []
    school = School.objects.filter(code=data.school_code).only("county_id").first()
    if school is None:
        return []
    province = school.county_id[:2]
    new = data_key(data, pk=exclude_pk or 0, county=school.county_id)
    candidates = candidates_of(new, province, exclude_pk=exclude_pk)
    by_pk = {p.pk: p for p in candidates}
    clean: set[int] = set()
    if exclude_pk:
        clean = set(CleanPair.objects.filter(pupil_low=exclude_pk).values_list("pupil_high", flat=True))
        clean |= set(CleanPair.objects.filter(pupil_high=exclude_pk).values_list("pupil_low", flat=True))
    threshold = case_threshold(province)
    result = []
    for match in matching.matches_for(new, [pupil_key(p) for p in candidates]):
        other = match.b_pk if match.a_pk == new.pk else match.a_pk
        if match.score < threshold or other in clean:
            continue
        result.append(_describe(by_pk[other], match))
    return result


def _describe(pupil: Pupil, match: matching.Match) -> dict:
    county = pupil.school.county
    return {
        "national_number": pupil.national_number,
        "name": pupil.name,
        "school_code": pupil.school.code,
        "school_name": pupil.school.name,
        "county_code": pupil.county_code,
        "county": county.full_name(),
        "score": match.score,
        "reasons": list(match.reasons),
        "kind": match.kind,
        "summary": _("%(county)s%(school)s的%(name)s（全国学籍号 %(number)s）可能是同一学生，相似度 %(score).2f：%(reasons)s")
        % {
            "county": county.full_name(),
            "school": pupil.school.name,
            "name": pupil.name,
            "number": pupil.national_number,
            "score": match.score,
            "reasons": "；".join(match.reasons),
        },
    }


def record_entry_override(*, pupil, likely: list[dict], reason: str, user) -> None:
    """The operator saved despite likely matches: each pair becomes an open case for the counties."""
    from provinces.services import case_open_at_entry

    case_open_at_entry(user=user, pupil=pupil, likely=likely, reason=reason)
