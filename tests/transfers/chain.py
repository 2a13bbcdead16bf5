"""Helpers of the transfer tests: drive a chain a1 (county 440106) → b1 (county 440105)."""

from __future__ import annotations

import datetime as dt

import pytest

from provinces.models import ProvincePolicy
from transfers import services

#: A day outside the yearly freeze window, for service calls that take ``today``.
OPEN_DAY = dt.date(2026, 3, 10)


@pytest.fixture
def open_season(world):
    """Switch the freeze window off so chains started "today" work whatever the date."""
    for code in ("44", "42"):
        ProvincePolicy.objects.update_or_create(province_id=code, defaults={"freeze_enabled": False})


def ref_for(user, pupil) -> str:
    """A transfer starts from a lookup: the reference of ``pupil``'s card in ``user``'s lookup
    at its school (a dummy when the lookup itself refuses, so the apply rule speaks)."""
    from kernel.errors import RegistryError
    from transfers import lookup

    try:
        result = lookup.transfer_lookup(user=user, origin_school_code=pupil.school.code, name=pupil.name,
                                        id_number=pupil.id_number)
    except RegistryError:
        return "no-lookup"
    return result.found[0].ref if result.found else "no-lookup"


def apply(world, pupil_key: str = "a1", *, dest: str = "b1", **overrides):
    pupil = world.pupils[pupil_key]
    user = overrides.get("user", world[dest].operator)
    data = {
        "user": user,
        "origin_school_code": pupil.school.code,
        "pupil_ref": ref_for(user, pupil),
        "dest_grade": pupil.grade,
        "dest_class_number": 2,
        "reason": "随父母工作调动",
        "today": OPEN_DAY,
    }
    data.update(overrides)
    return services.transfer_apply(**data)


def submit(world, transfer, *, dest: str = "b1"):
    return services.transfer_submit(user=world[dest].approver, transfer_id=transfer.pk)


def run_chain(world, transfer, *, dest="b1", dest_county="county_b", origin="a1", origin_county="county_a"):
    """Submit and approve every step; returns the completed transfer."""
    submit(world, transfer, dest=dest)
    for unit in (dest_county, origin, origin_county):
        transfer = services.transfer_approve(user=world[unit].approver, transfer_id=transfer.pk)
    return transfer
