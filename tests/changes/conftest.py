"""Helpers of the change-request tests: open a request and walk it through its steps."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from changes import requests

#: The graduation year of the tests, whatever today is: ``graduation_season`` travels into it.
GRADUATION_YEAR = dt.date.today().year + 1
#: A day a graduation list of GRADUATION_YEAR may be proposed and approved (06-01 to 07-30).
GRADUATION_DAY = dt.datetime(GRADUATION_YEAR, 6, 15, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def graduation_season():
    """The clock in the graduation season of GRADUATION_YEAR (the county approves lists only
    from 06-01), for tests that go through pages and the API with no ``today`` to pass."""
    with time_machine.travel(GRADUATION_DAY, tick=True):
        yield GRADUATION_DAY.date()

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def pdf(name: str = "证明.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/octet-stream")


def open_request(world, kind: str, payload: dict, *, pupil=None, user=None, **kwargs):
    return requests.change_request_open(
        user=user or world["a1"].operator, pupil=pupil or world.pupils["a1"], kind=kind, payload=payload, **kwargs
    )


def approve_both(world, request, *, school: str = "a1", county: str = "county_a", **kwargs):
    requests.change_request_approve(user=world[school].approver, request_id=request.pk)
    return requests.change_request_approve(user=world[county].approver, request_id=request.pk, **kwargs)


@pytest.fixture
def senior(world):
    """A 高中 of county A with its operator and approver (``world["senior"]``)."""
    from schools.models import School
    from tests.conftest import Unit
    from tests.factories import make_user

    school = School.objects.create(code="4401060009", name="天河高中", county=world.county_a, stage="senior")
    world.units["senior"] = Unit(
        operator=make_user("senior.operator", role="operator", school=school),
        approver=make_user("senior.approver", role="approver", school=school),
        school=school,
    )
    return school
