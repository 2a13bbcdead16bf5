"""Browser: upload a roster → preview with the refused row → confirm → imported."""

from __future__ import annotations

import pytest

from registry.models import Pupil
from tests.rosters.test_support import fast_passwords, roster_row, xlsx_bytes  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fast_passwords")]


def test_upload_preview_confirm(world, browser_login, tmp_path):
    page = browser_login(world["a1"].operator)
    path = tmp_path / "花名册.xlsx"
    path.write_bytes(xlsx_bytes([roster_row(world.school_a1, seq=101),
                                 roster_row(world.school_a1, name="孙坏", seq=102, ethnicity="火星族")]))
    page.goto("/schools/roster/")
    page.set_input_files("[data-testid=roster-file]", str(path))
    page.click("[data-testid=upload]")
    page.wait_for_selector("[data-testid=confirm]")
    assert page.inner_text("[data-testid=new-rows]") == "1"
    assert page.inner_text("[data-testid=refused-rows]") == "1"
    refused = page.locator("[data-testid=refused] tr[data-code=unknown_code]")
    assert "民族" in refused.inner_text()
    assert page.locator("[data-testid=mode-all_or_nothing]").is_disabled()
    page.click("[data-testid=confirm-button]")
    page.wait_for_selector("[data-testid=imported-rows]")
    assert page.inner_text("[data-testid=imported-rows]") == "1"
    assert "已导入" in page.inner_text("[data-testid=job-status]")
    assert Pupil.objects.filter(name="赵小明", school=world.school_a1).exists()


def test_a_county_export_is_built_in_the_background_and_downloaded(world, browser_login, settings, monkeypatch,
                                                                    tmp_path):
    import io

    import openpyxl

    from registry.models import ACTIVE_STATUSES
    from rosters import columns

    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.MEDIA_ROOT = str(tmp_path / "media")
    monkeypatch.setattr(columns, "EXPORT_INLINE_MAX_ROWS", 0)  # the county counts as large
    page = browser_login(world["county_a"].approver)
    page.goto("/schools/roster/")
    page.fill("input[name=county]", "440106")
    page.click("[data-testid=export]")
    page.wait_for_selector("[data-testid=export-download]")
    assert "已完成" in page.inner_text("[data-testid=export-status]")
    with page.expect_download() as info:
        page.click("[data-testid=export-download]")
    assert info.value.suggested_filename.startswith("花名册_440106")
    workbook = openpyxl.load_workbook(io.BytesIO(info.value.path().read_bytes()))
    expected = Pupil.objects.filter(county_code="440106", status__in=ACTIVE_STATUSES).count()
    assert workbook.worksheets[0].max_row - 1 == expected >= 1
    page.goto("/schools/roster/")
    assert "花名册_440106" in page.inner_text("[data-testid=my-exports]")
