"""The django-import-export resource shares the roster rules (admin path)."""

from __future__ import annotations

import pytest
import tablib

from registry.models import Pupil
from rosters import columns, exporting
from rosters.resources import RosterResource
from tests.rosters.test_support import fast_passwords, roster_media, roster_row  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords", "roster_media")


def _dataset(rows) -> tablib.Dataset:
    file_columns = [*columns.COLUMNS, *columns.REGISTRATION_COLUMNS]  # with 学生来源 and 注册原因
    data = tablib.Dataset(headers=[c.header for c in file_columns])
    for row in rows:
        data.append([row.get(c.key, "") for c in file_columns])
    return data


def test_resource_dry_run_reports_refusals_and_writes_nothing(world):
    user = world["a1"].operator
    rows = [roster_row(world.school_a1, seq=91), roster_row(world.school_b1, name="越界", seq=92)]
    result = RosterResource().import_data(_dataset(rows), dry_run=True, user=user)
    assert result.totals["new"] == 1 and result.totals["invalid"] == 1
    [invalid] = result.invalid_rows
    assert "school_out_of_scope" in str(invalid.error)
    assert not Pupil.objects.filter(name="赵小明").exists()


def test_resource_import_writes_new_rows_and_skips_unchanged(world):
    user = world["a1"].operator
    existing = dict(zip([c.key for c in columns.COLUMNS], exporting.pupil_cells(world.pupils["a1"])))
    result = RosterResource().import_data(_dataset([roster_row(world.school_a1, seq=93), existing]), user=user)
    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["new"] == 1 and result.totals["skip"] == 1
    pupil = Pupil.objects.get(name="赵小明")
    assert pupil.national_number.startswith("L440106") and pupil.history.filter(kind="registered").exists()


def test_resource_export_uses_the_template_columns(world):
    data = RosterResource().export(Pupil.objects.filter(school=world.school_a1))
    assert list(data.headers) == [*columns.HEADERS, *exporting.EXPORT_HEADERS]
    assert data[0][1] == "李娜"
