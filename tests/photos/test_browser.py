"""Browser: the ZIP upload page, its progress bar and the per-file report; 自动规范化."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from photos.models import PhotoImport
from tests.conftest import ensure_reference_data
from tests.factories import make_pupil
from tests.photos.factory import make_photo, make_zip

# Playwright's sync API runs an event loop in the test thread; the ORM calls of the test and
# of the database teardown are synchronous (the conftest's ``browser`` fixture could set this).

pytestmark = [pytest.mark.browser, pytest.mark.celery, pytest.mark.slow]



def test_upload_page_shows_progress_then_report_and_normalises_a_heavy_photo(
    transactional_db, celery_worker_process, world, page, browser_login
):
    ensure_reference_data()
    pupils = [make_pupil(world.school_a1, name=f"学生{i}") for i in range(12)]
    entries = {f"三年级/1班/{p.id_number}.jpg": make_photo(seed=i) for i, p in enumerate(pupils[:10])}
    entries[f"三年级/1班/{pupils[10].id_number}.jpg"] = make_photo(700, 862, quality=97)  # too heavy
    entries["三年级/1班/说明.jpg"] = make_photo()
    entries["Thumbs.db"] = b"x"
    browser_login(world["a1"].operator)
    try:
        page.goto("/schools/photos/")
        page.set_input_files('[data-testid="zip-input"]', files=[{
            "name": "三年级.zip", "mimeType": "application/zip", "buffer": make_zip(entries, gbk_names=True)}])
        page.click('[data-testid="upload-submit"]')
        page.wait_for_url("**/schools/photos/imports/*/")
        assert page.locator('[data-testid="progress"]').is_visible()
        page.wait_for_selector('[data-testid="report"]', timeout=60_000)  # the page polls, then reloads
        assert page.locator('[data-testid="job-accepted"]').inner_text() == "10"
        assert page.locator('[data-testid="job-refused"]').inner_text() == "2"
        assert page.locator('[data-testid="job-ignored"]').inner_text() == "1"
        assert page.locator('[data-testid="progress"]').get_attribute("aria-valuenow") == "100"
        bad = page.locator('tr[data-entry="三年级/1班/说明.jpg"]')
        assert bad.get_attribute("data-code") == "photo_name_invalid"
        assert "文件名" in bad.inner_text()
        with page.expect_download() as download:
            page.click('[data-testid="report-xlsx"]')
        assert download.value.suggested_filename.endswith(".xlsx")

        page.click('[data-testid="normalize"]')
        preview = page.locator('[data-testid="normalized-preview"]')
        assert preview.is_visible() and preview.get_attribute("src").startswith("data:image/jpeg;base64,")
        pupils[10].refresh_from_db()
        assert not pupils[10].photo  # shown first, stored only on confirmation
        page.click('[data-testid="normalize-confirm"]')
        page.wait_for_url("**/schools/photos/imports/*/")
        assert page.locator('[data-testid="job-accepted"]').inner_text() == "11"
        pupils[10].refresh_from_db()
        assert pupils[10].photo
    finally:
        for job in PhotoImport.objects.all():
            default_storage.delete(job.archive.name)
        for pupil in pupils:
            pupil.refresh_from_db()
            if pupil.photo:
                default_storage.delete(pupil.photo.name)
