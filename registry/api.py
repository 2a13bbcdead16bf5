"""Pupils API (``/api/v1/pupils``): a contract for integrators, keep the paths."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Query, Router, Schema
from pydantic import create_model

from accounts.scope import get_in_scope
from registry import codes, nohukou, selectors
from registry.fields import DISTANCE, GUARDIAN_FIELDS, PUPIL_FIELDS, RecordField
from registry.models import Guardian, Pupil

router = Router(tags=["pupils"])


def _out_fields(specs: tuple[RecordField, ...]) -> dict[str, tuple]:
    """The further fields (``registry.fields``) of an output schema: codes and text as
    stored, a distance as a number of km."""
    return {f.name: ((float | None) if f.kind == DISTANCE else str, Field(None if f.kind == DISTANCE else "",
                                                                          description=f.label))
            for f in specs}


def _further_values(obj, specs: tuple[RecordField, ...]) -> dict:
    return {f.name: (float(v) if (v := getattr(obj, f.name)) is not None and f.kind == DISTANCE else v)
            for f in specs}


class _GuardianOutCore(Schema):
    id: int
    name: str
    relation: str
    id_type: str
    id_number: str
    is_guardian: bool
    is_first_guardian: bool
    vital: str
    police_reference: str
    police_date: dt.date | None
    hukou_division_code: str | None


GuardianOut = create_model("GuardianOut", __base__=_GuardianOutCore, **_out_fields(GUARDIAN_FIELDS))


class PupilOut(Schema):
    national_number: str
    name: str
    sex: str
    birth_date: dt.date
    id_type: str
    id_number: str
    school_code: str
    school_name: str
    county_code: str
    grade: int
    class_number: int | None
    status: str
    status_code: str = Field(description="学籍状态的国家代码（代码表 pupil_status）")

    @staticmethod
    def build(pupil: Pupil) -> PupilOut:
        return PupilOut(
            national_number=pupil.national_number,
            name=pupil.name,
            sex=pupil.sex,
            birth_date=pupil.birth_date,
            id_type=pupil.id_type,
            id_number=pupil.id_number,
            school_code=pupil.school.code,
            school_name=pupil.school.name,
            county_code=pupil.county_code,
            grade=pupil.grade,
            class_number=pupil.school_class.number if pupil.school_class_id else None,
            status=pupil.status,
            status_code=codes.status_code(pupil.status),
        )


class _PupilDetailCore(PupilOut):
    former_name: str
    ethnicity: str
    nationality: str
    hmt: str
    hukou_division_code: str | None
    hukou_nature: str
    health: str
    boarding: str
    left_behind: str
    migrant: str
    enrolled_on: dt.date
    hukou_authority_code: str | None = Field(None, description="户籍地教育主管部门所在区县（无户籍学生随第一监护人）")
    guardians: list[GuardianOut]


PupilDetailOut = create_model("PupilDetailOut", __base__=_PupilDetailCore, **_out_fields(PUPIL_FIELDS))


class PupilPage(Schema):
    items: list[PupilOut]
    page: int
    page_size: int
    has_next: bool


class PupilFilterIn(Schema):
    q: str = ""
    name: str = ""
    national_number: str = ""
    id_number: str = ""
    school: str = ""
    grade: int | None = None
    class_number: int | None = None
    status: str = ""
    page: int = 1
    page_size: int = 20


@router.get("/pupils", response=PupilPage)
def pupil_list(request, filters: Query[PupilFilterIn]):
    data = filters.dict()
    page, page_size = data.pop("page"), data.pop("page_size")
    result = selectors.paginate(
        selectors.pupil_search(request.user, selectors.PupilFilter(**data)), page=page, page_size=page_size
    )
    return PupilPage(
        items=[PupilOut.build(p) for p in result.items],
        page=result.page,
        page_size=result.page_size,
        has_next=result.has_next,
    )


@router.get("/pupils/{national_number}", response=PupilDetailOut)
def pupil_detail(request, national_number: str):
    pupil = selectors.pupil_get(request.user, national_number)
    return PupilDetailOut(
        **PupilOut.build(pupil).dict(),
        former_name=pupil.former_name,
        ethnicity=pupil.ethnicity,
        nationality=pupil.nationality,
        hmt=pupil.hmt,
        hukou_division_code=pupil.hukou_division_id,
        hukou_nature=pupil.hukou_nature,
        health=pupil.health,
        boarding=pupil.boarding,
        left_behind=pupil.left_behind,
        migrant=pupil.migrant,
        enrolled_on=pupil.enrolled_on,
        **_further_values(pupil, PUPIL_FIELDS),
        hukou_authority_code=getattr(nohukou.hukou_authority(pupil), "code", None),
        guardians=[_guardian_out(g) for g in pupil.guardians.all()],
    )


def _guardian_out(guardian) -> GuardianOut:
    core = {f: getattr(guardian, f) for f in _GuardianOutCore.model_fields if f != "hukou_division_code"}
    return GuardianOut(**core, **_further_values(guardian, GUARDIAN_FIELDS),
                       hukou_division_code=guardian.hukou_division_id)


@router.post("/pupils/{national_number}/guardians/{guardian_id}/first", response=PupilDetailOut)
def guardian_first(request, national_number: str, guardian_id: int):
    """Make a family member the first guardian (第一监护人); a no-ID pupil's hukou follows."""
    pupil = selectors.pupil_get(request.user, national_number)
    nohukou.guardian_set_first(user=request.user, pupil=pupil, guardian=get_in_scope(
        Guardian.objects.filter(pupil=pupil), request.user, pk=guardian_id
    ))
    return pupil_detail(request, national_number)
