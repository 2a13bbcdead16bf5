"""Divisions (行政区划, reference data): ``/api/v1/divisions``."""

from __future__ import annotations

from ninja import Router, Schema

from provinces.models import Division

router = Router(tags=["divisions"])


class DivisionOut(Schema):
    code: str
    name: str
    level: str
    parent: str | None


@router.get("/divisions", response=list[DivisionOut])
def division_list(request, parent: str | None = None, level: str | None = None):
    divisions = Division.objects.all()
    if parent:
        divisions = divisions.filter(parent_id=parent)
    elif not level:
        divisions = divisions.filter(level=Division.Level.PROVINCE)
    if level:
        divisions = divisions.filter(level=level)
    return [DivisionOut(code=d.code, name=d.name, level=d.level, parent=d.parent_id) for d in divisions]
