"""Browser: upload a roster → preview with the refused row → confirm → imported."""

from __future__ import annotations

import pytest

from registry.models import Pupil
from tests.schools.test_roster_support import fast_passwords, roster_row, xlsx_bytes  # noqa: F401

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
