"""The school directory in the user's scope (``/api/v1/schools``)."""

from __future__ import annotations

from ninja import Router, Schema

from accounts.scope import get_in_scope, restrict
from schools.models import School

router = Router(tags=["schools"])


class SchoolOut(Schema):
    code: str
    name: str
    county: str
    stage: str


def _out(school: School) -> SchoolOut:
    return SchoolOut(code=school.code, name=school.name, county=school.county_id, stage=school.stage)


@router.get("/schools", response=list[SchoolOut])
def school_list(request, q: str = "", county: str = ""):
    schools = restrict(School.objects.all(), request.user)
    if q:
        schools = schools.filter(name__contains=q.strip())
    if county:
        schools = schools.filter(county_id=county)
    return [_out(s) for s in schools[:200]]


@router.get("/schools/{code}", response=SchoolOut)
def school_get(request, code: str):
    return _out(get_in_scope(School.objects.all(), request.user, code=code))
