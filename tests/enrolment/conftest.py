"""Graduates for the 升学 tests: sixth-graders of 天河第一小学 (a1) who graduated this year."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from registry.models import HistoryEntry, Pupil, PupilStatus
from schools.models import School
from tests.factories import make_pupil, make_user


def graduate(*pupils, status: str = PupilStatus.GRADUATED, at=None) -> None:
    """What an approved graduation list leaves: finished, locked, a 'graduated' history entry."""
    Pupil.objects.filter(pk__in=[p.pk for p in pupils]).update(status=status, basic_data_locked=True)
    HistoryEntry.objects.bulk_create(
        HistoryEntry(pupil_id=p.pk, kind="graduated", summary="毕业", school_id=p.school_id, at=at or timezone.now())
        for p in pupils
    )
    for pupil in pupils:
        pupil.refresh_from_db()


@pytest.fixture
def graduates(world):
    pupils = [
        make_pupil(world.school_a1, name="毕业甲", sex="1", birth_date=dt.date(2014, 3, 1), grade=6),
        make_pupil(world.school_a1, name="毕业乙", sex="2", birth_date=dt.date(2014, 4, 2), grade=6),
        make_pupil(world.school_a1, name="毕业丙", sex="1", birth_date=dt.date(2014, 5, 3), grade=6, id_number=""),
    ]
    graduate(*pupils)
    return pupils


@pytest.fixture
def complete_middle(world):
    """A 完全中学 (grades 7–12) of county b with its users."""
    school = School.objects.create(code="4401050101", name="海珠完全中学", county=world.county_b,
                                   stage="complete_middle")
    operator = make_user("4401050101.operator", role="operator", school=school)
    approver = make_user("4401050101.approver", role="approver", school=school)
    return school, operator, approver
