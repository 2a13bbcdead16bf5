"""``import_roster`` and ``export_roster``: summary, row report, modes."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from registry.models import Pupil
from tests.rosters.test_support import (  # noqa: F401
    csv_bytes,
    fast_passwords,
    roster_media,
    roster_row,
    xlsx_bytes,
)

pytestmark = pytest.mark.usefixtures("fast_passwords", "roster_media")


def _rows(world):
    return [roster_row(world.school_a1, seq=111), roster_row(world.school_a1, name="孙坏", seq=112, sex="X")]


def test_dry_run_prints_summary_and_writes_report(world, tmp_path):
    source = tmp_path / "r.csv"
    source.write_bytes(csv_bytes(_rows(world), encoding="gbk"))
    report = tmp_path / "report.csv"
    out = io.StringIO()
    call_command("import_roster", str(source), "--user", world["a1"].operator.username, "--dry-run",
                 "--report", str(report), stdout=out)
    assert "new=1" in out.getvalue() and "refused=1" in out.getvalue()
    text = report.read_text(encoding="utf-8-sig")
    assert "unknown_code" in text and "性别" in text
    assert not Pupil.objects.filter(name="赵小明").exists()


def test_all_or_nothing_imports_nothing_with_a_bad_row(world, tmp_path):
    source = tmp_path / "r.xlsx"
    source.write_bytes(xlsx_bytes(_rows(world)))
    out = io.StringIO()
    call_command("import_roster", str(source), "--user", world["a1"].operator.username, "--all-or-nothing", stdout=out)
    assert "nothing imported" in out.getvalue()
    assert not Pupil.objects.filter(name="赵小明").exists()


def test_good_rows_import_then_export_round_trip(world, tmp_path):
    source = tmp_path / "r.xlsx"
    source.write_bytes(xlsx_bytes(_rows(world)))
    call_command("import_roster", str(source), "--user", world["a1"].operator.username, stdout=io.StringIO())
    assert Pupil.objects.filter(name="赵小明").exists()
    target = tmp_path / "out.xlsx"
    call_command("export_roster", "--user", world["a1"].operator.username, "--school", world.school_a1.code,
                 "--output", str(target), stdout=io.StringIO())
    out = io.StringIO()
    call_command("import_roster", str(target), "--user", world["a1"].operator.username, "--dry-run", stdout=out)
    assert "unchanged=2" in out.getvalue() and "new=0" in out.getvalue()


def test_unknown_user_is_an_error(world, tmp_path):
    source = tmp_path / "r.csv"
    source.write_bytes(csv_bytes(_rows(world)))
    with pytest.raises(CommandError):
        call_command("import_roster", str(source), "--user", "nobody")
