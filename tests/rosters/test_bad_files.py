"""Bad files fail fast and small: a CSV cell or line over its limit is refused while reading,
naming the line; an xlsx is refused by the size its sheet declares before the sheet is read."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from kernel import spreadsheets
from kernel.errors import ValidationFailed
from rosters import jobs
from rosters.models import RosterImport
from tests.rosters.test_support import csv_bytes, fast_passwords, roster_media, roster_row, xlsx_bytes  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords", "roster_media")


def _check(world, content: bytes, name: str) -> RosterImport:
    job = jobs.roster_upload(user=world["a1"].operator, content=content, file_name=name)
    return jobs.roster_check(job_id=job.pk)


@pytest.mark.parametrize("size", [spreadsheets.MAX_CELL_CHARS + 1, 200_000])
def test_a_csv_cell_over_the_limit_fails_the_file_naming_the_line(world, size):
    rows = [roster_row(world.school_a1, seq=1), roster_row(world.school_a1, seq=2)]
    rows[1]["former_name"] = "长" * size
    job = _check(world, csv_bytes(rows), "r.csv")
    assert job.status == RosterImport.Status.FAILED
    assert job.error["code"] == "cell_too_long" and "第 3 行" in job.error["message"]


def test_a_line_with_too_many_columns_fails_the_file():
    text = ("a," * (spreadsheets.MAX_COLUMNS + 5) + "\n").encode()
    with pytest.raises(ValidationFailed) as exc:
        spreadsheets.read_table(text, max_bytes=10**6, max_unpacked_bytes=10**6)
    assert exc.value.code == "too_many_columns"


def _declaring(content: bytes, ref: str) -> bytes:
    """The xlsx with its sheet's <dimension> changed to ``ref`` (the data stays small)."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]+"', f'<dimension ref="{ref}"'.encode(), data)
                if b"<dimension" not in data:
                    data = data.replace(b"<sheetData", f'<dimension ref="{ref}"/><sheetData'.encode(), 1)
            target.writestr(info, data)
    return out.getvalue()


def test_an_xlsx_declaring_too_many_rows_is_refused_before_its_sheet_is_read(world, monkeypatch):
    content = _declaring(xlsx_bytes([roster_row(world.school_a1, seq=1)]), "A1:BH5000000")
    assert spreadsheets.xlsx_declared_size(content) == (5_000_000, 60)

    def never(*args, **kwargs):
        raise AssertionError("the sheet was read")

    monkeypatch.setattr(spreadsheets.CalamineWorkbook, "from_filelike", never)
    job = _check(world, content, "r.xlsx")
    assert job.status == RosterImport.Status.FAILED and job.error["code"] == "too_many_rows"


def test_an_xlsx_declaring_too_many_columns_is_refused(world):
    content = _declaring(xlsx_bytes([roster_row(world.school_a1, seq=1)]), "A1:XFD2")
    job = _check(world, content, "r.xlsx")
    assert job.error["code"] == "too_many_columns"


def test_a_normal_file_still_reads(world):
    job = _check(world, xlsx_bytes([roster_row(world.school_a1, seq=1)]), "r.xlsx")
    assert job.status == RosterImport.Status.CHECKED, job.error
