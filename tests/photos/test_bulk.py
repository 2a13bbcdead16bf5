"""Bulk photo import (照片批量导入) run in-process: every entry kind through the real job."""

from __future__ import annotations

import datetime as dt
import io
import json
import resource
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from kernel.errors import Forbidden, ValidationFailed
from photos import imports
from photos.archive import ZipRefused
from photos.models import PhotoImport, PhotoImportEntry
from registry.models import Pupil
from tests.factories import make_pupil, resident_id
from tests.photos.factory import (
    jpeg_with_claimed_size,
    make_image,
    make_photo,
    make_zeros_zip,
    make_zip,
)

GOOD = make_photo()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Uploads in a fresh directory."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def run_zip(user, school, data: bytes, name: str = "photos.zip") -> PhotoImport:
    job = imports.photo_bulk_start(user=user, school=school, upload=ContentFile(data, name=name), enqueue=False)
    return imports.photo_import_run_inline(job=job)


def results(job: PhotoImport) -> dict[str, PhotoImportEntry]:
    return {e.entry: e for e in job.entries.order_by("index")}


def id_ending_in_x(birth: dt.date) -> str:
    for seq in range(500):
        number = resident_id(birth, "2", seq=seq)
        if number.endswith("X"):
            return number
    raise AssertionError("no X check char found")


# ---------------------------------------------------------------- names and matching


def test_id_named_photos_in_grade_class_folders_are_attached(world):
    a1 = world["a1"]
    x_pupil = make_pupil(world.school_a1, name="王芳", sex="2", id_number=id_ending_in_x(dt.date(2016, 3, 3)))
    other = make_pupil(world.school_a1, name="赵强")
    data = make_zip({
        f"三年级/1班/{world.pupils['a1'].id_number}.jpg": make_photo(seed=1),
        f"三年级/1班/{x_pupil.id_number[:-1]}x.JPG": make_photo(seed=2),
        f"三年级/2班/{other.id_number}.jpeg": make_photo(seed=3),
    }, gbk_names=True)
    job = run_zip(a1.operator, world.school_a1, data)
    assert job.state == "done"
    assert (job.total, job.accepted, job.refused, job.ignored, job.processed) == (3, 3, 0, 0, 3)
    assert all(e.status == "accepted" and e.code == "photo_accepted" for e in results(job).values())
    assert "三年级/1班/" + world.pupils["a1"].id_number + ".jpg" in results(job)  # GBK name decoded
    for pupil in (world.pupils["a1"], x_pupil, other):
        pupil.refresh_from_db()
        assert pupil.photo.name.startswith(f"photos/440106/{pupil.national_number}/")
        assert default_storage.exists(pupil.photo.name)
        assert pupil.history.filter(kind="photo_changed").count() == 1


def test_no_id_pupil_is_matched_by_school_class_and_name(world):
    a1 = world["a1"]
    pupil = make_pupil(world.school_a1, name="欧阳娜娜", id_number="", class_number=2)
    data = make_zip({"4401060001_2_欧阳娜娜.jpg": GOOD, "4401060001_3_欧阳娜娜.jpg": make_photo(seed=5),
                     "4401050001_2_欧阳娜娜.jpg": make_photo(seed=6)}, gbk_names=True)
    job = run_zip(a1.operator, world.school_a1, data)
    r = results(job)
    assert r["4401060001_2_欧阳娜娜.jpg"].status == "accepted"
    assert r["4401060001_2_欧阳娜娜.jpg"].national_number == pupil.national_number
    assert r["4401060001_3_欧阳娜娜.jpg"].code == "photo_pupil_not_found"
    assert r["4401050001_2_欧阳娜娜.jpg"].code == "photo_other_school"
    assert "4401060001" in r["4401050001_2_欧阳娜娜.jpg"].message


def test_id_of_a_pupil_in_another_school_is_no_such_pupil_in_this_school(world):
    data = make_zip({f"{world.pupils['b1'].id_number}.jpg": GOOD, f"{world.pupils['x'].id_number}.jpg": GOOD})
    job = run_zip(world["a1"].operator, world.school_a1, data)
    for entry in results(job).values():
        assert (entry.status, entry.code) == ("refused", "photo_pupil_not_found")
        assert "天河第一小学" in entry.message and entry.pupil_id is None
    for key in ("b1", "x"):
        world.pupils[key].refresh_from_db()
        assert not world.pupils[key].photo


def test_a_school_cannot_import_into_another_school(world):
    with pytest.raises(ValidationFailed) as exc:
        run_zip(world["a1"].operator, world.school_b1, make_zip({f"{world.pupils['b1'].id_number}.jpg": GOOD}))
    assert exc.value.code == "school_out_of_scope"
    assert not PhotoImport.objects.exists()


def test_approver_may_not_upload(world):
    with pytest.raises(Forbidden):
        run_zip(world["a1"].approver, world.school_a1, make_zip({"a.jpg": GOOD}))


def test_same_pupil_twice_takes_neither_and_names_both_entries(world):
    number = world.pupils["a1"].id_number
    data = make_zip({f"1班/{number}.jpg": make_photo(seed=1), f"2班/{number}.JPG": make_photo(seed=2)})
    job = run_zip(world["a1"].operator, world.school_a1, data)
    for entry in results(job).values():
        assert (entry.status, entry.code) == ("refused", "photo_duplicate_pupil")
        assert f"1班/{number}.jpg" in entry.message and f"2班/{number}.JPG" in entry.message
    world.pupils["a1"].refresh_from_db()
    assert not world.pupils["a1"].photo


# ---------------------------------------------------------------- every refusal kind


def _pupils(world, n):
    return [make_pupil(world.school_a1, name=f"学生{i}") for i in range(n)]


REFUSALS = {
    "photo_not_jpeg": lambda: make_image("PNG"),
    "photo_too_large": lambda: make_photo(700, 862, quality=97),
    "photo_too_small": lambda: make_photo(100, 123),
    "photo_aspect": lambda: make_photo(200, 320),
    "photo_not_portrait": lambda: make_photo(320, 260),
    "photo_grayscale": lambda: make_photo(mode="L"),
    "photo_cmyk": lambda: make_photo(200, 246, mode="CMYK", quality=60),
    "photo_corrupt": lambda: GOOD[: len(GOOD) // 2],
    "photo_bomb": lambda: jpeg_with_claimed_size(30000, 30000),
}


def test_each_photo_refusal_kind_has_its_code_and_a_chinese_message(world):
    pupils = _pupils(world, len(REFUSALS))
    entries = {f"{p.id_number}.jpg": make() for p, make in zip(pupils, REFUSALS.values())}
    job = run_zip(world["a1"].operator, world.school_a1, make_zip(entries))
    got = {e.entry: e for e in job.entries.all()}
    for (name, _data), code in zip(entries.items(), REFUSALS):
        assert (got[name].status, got[name].code) == ("refused", code), (name, got[name].message)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in got[name].message)
    assert got[f"{pupils[1].id_number}.jpg"].normalizable is True  # only too large
    assert not any(e.normalizable for n, e in got.items() if n != f"{pupils[1].id_number}.jpg")
    assert job.refused == len(REFUSALS) and job.accepted == 0
    assert not Pupil.objects.exclude(photo="").exists()


def test_name_refusals_and_ignored_and_unsafe_entries_are_listed(world):
    bad_check = world.pupils["a1"].id_number[:-1] + ("0" if world.pupils["a1"].id_number[-1] != "0" else "1")
    data = make_zip({
        "hello.jpg": GOOD,
        f"{bad_check}.jpg": GOOD,
        "notes.txt": b"hi",
        "../escape.jpg": GOOD,
        "__MACOSX/._a.jpg": b"x",
        "1班/Thumbs.db": b"x",
        "1班/": b"",
    })
    job = run_zip(world["a1"].operator, world.school_a1, data)
    got = {e.entry: (e.status, e.code) for e in job.entries.all()}
    assert got["hello.jpg"] == ("refused", "photo_name_invalid")
    assert got[f"{bad_check}.jpg"] == ("refused", "photo_name_id_invalid")
    assert got["notes.txt"] == ("refused", "photo_name_extension")
    assert got["../escape.jpg"] == ("refused", "zip_unsafe_path")
    assert got["__MACOSX/._a.jpg"] == ("ignored", "zip_system_file")
    assert got["1班/Thumbs.db"] == ("ignored", "zip_system_file")
    assert got["1班/"] == ("ignored", "zip_directory")
    assert (job.total, job.refused, job.ignored, job.processed, job.state) == (7, 4, 3, 7, "done")


def test_good_entries_are_kept_when_others_fail(world):
    good, bad = _pupils(world, 2)
    data = make_zip({f"{good.id_number}.jpg": GOOD, f"{bad.id_number}.jpg": make_photo(mode="L"), "x.jpg": GOOD})
    job = run_zip(world["a1"].operator, world.school_a1, data)
    assert (job.accepted, job.refused) == (1, 2)
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.photo and not bad.photo


# ---------------------------------------------------------------- bombs


def test_zip_bomb_entry_is_refused_quickly(world):
    data = make_zeros_zip(f"{world.pupils['a1'].id_number}.jpg", 64 * 1024 * 1024)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    job = run_zip(world["a1"].operator, world.school_a1, data)
    assert time.perf_counter() - started < 3
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # KiB
    (entry,) = job.entries.all()
    assert (entry.status, entry.code) == ("refused", "zip_ratio")


def test_decompression_bomb_photo_is_refused_from_its_header(world):
    data = make_zip({f"{world.pupils['a1'].id_number}.jpg": jpeg_with_claimed_size(60000, 60000)})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    job = run_zip(world["a1"].operator, world.school_a1, data)
    assert time.perf_counter() - started < 3
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024
    assert job.entries.get().code == "photo_bomb"


def test_not_a_zip_is_refused_before_anything_is_stored(world, media):
    with pytest.raises(ZipRefused) as exc:
        run_zip(world["a1"].operator, world.school_a1, GOOD, name="photos.zip")
    assert exc.value.code == "zip_invalid"
    assert not PhotoImport.objects.exists()
    assert not (media / "photo_imports").exists()


def test_upload_over_the_cap_is_refused(world, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    with pytest.raises(ValidationFailed) as exc:
        run_zip(world["a1"].operator, world.school_a1, make_zip({"a.jpg": GOOD}))
    assert exc.value.code == "upload_too_large"


# ---------------------------------------------------------------- reruns, history, normalise


def test_rerunning_the_same_zip_is_harmless(world):
    pupil = world.pupils["a1"]
    data = make_zip({f"{pupil.id_number}.jpg": GOOD})
    run_zip(world["a1"].operator, world.school_a1, data)
    pupil.refresh_from_db()
    first = pupil.photo.name
    events = Pupil.pgh_event_model.objects.filter(pgh_obj=pupil).count()
    again = run_zip(world["a1"].operator, world.school_a1, data)
    (entry,) = again.entries.all()
    assert (entry.status, entry.code) == ("accepted", "photo_unchanged")
    assert (again.accepted, again.unchanged) == (1, 1)
    pupil.refresh_from_db()
    assert pupil.photo.name == first
    assert Pupil.pgh_event_model.objects.filter(pgh_obj=pupil).count() == events
    assert pupil.history.filter(kind="photo_changed").count() == 1


def test_new_photo_replaces_old_which_stays_in_storage_and_history(world):
    pupil = world.pupils["a1"]
    run_zip(world["a1"].operator, world.school_a1, make_zip({f"{pupil.id_number}.jpg": make_photo(seed=1)}))
    pupil.refresh_from_db()
    old = pupil.photo.name
    run_zip(world["a1"].operator, world.school_a1, make_zip({f"{pupil.id_number}.jpg": make_photo(seed=2)}))
    pupil.refresh_from_db()
    assert pupil.photo.name != old
    assert default_storage.exists(old) and default_storage.exists(pupil.photo.name)
    last = pupil.history.filter(kind="photo_changed").first()
    assert last.data["old"] == old and last.data["new"] == pupil.photo.name
    assert last.actor == world["a1"].operator
    event = Pupil.pgh_event_model.objects.filter(pgh_obj=pupil).order_by("-pgh_id").first()
    assert event.photo == pupil.photo.name
    assert event.pgh_context.metadata["username"] == world["a1"].operator.username


def test_too_large_entry_can_be_normalised_after_preview(world):
    pupil = world.pupils["a1"]
    job = run_zip(world["a1"].operator, world.school_a1,
                  make_zip({f"{pupil.id_number}.jpg": make_photo(700, 862, quality=97)}))
    entry = job.entries.get()
    assert entry.normalizable
    preview = imports.photo_entry_preview_normalized(user=world["a1"].operator, entry=entry)
    assert len(preview) < 60 * 1024
    pupil.refresh_from_db()
    assert not pupil.photo  # nothing stored by the preview
    entry = imports.photo_entry_normalize(user=world["a1"].operator, entry=entry)
    assert (entry.status, entry.code) == ("accepted", "photo_normalized")
    pupil.refresh_from_db()
    assert pupil.photo and default_storage.open(pupil.photo.name).read() == preview
    job.refresh_from_db()
    assert (job.accepted, job.refused) == (1, 0)


def test_other_refusals_cannot_be_normalised(world):
    pupil = world.pupils["a1"]
    job = run_zip(world["a1"].operator, world.school_a1, make_zip({f"{pupil.id_number}.jpg": make_photo(mode="L")}))
    with pytest.raises(Exception) as exc:
        imports.photo_entry_normalize(user=world["a1"].operator, entry=job.entries.get())
    assert exc.value.code == "photo_not_normalizable"


# ---------------------------------------------------------------- command, reports


def test_import_photos_command_writes_a_json_report(world, tmp_path):
    pupil = world.pupils["a1"]
    path = tmp_path / "class.zip"
    path.write_bytes(make_zip({f"{pupil.id_number}.jpg": GOOD, "bad.jpg": GOOD, "Thumbs.db": b"x"}))
    report = tmp_path / "report.json"
    call_command("import_photos", str(path), "--school", "4401060001", "--user", world["a1"].operator.username,
                 "--report", str(report), stdout=io.StringIO())
    rows = json.loads(report.read_text(encoding="utf-8"))
    assert [(r["entry"], r["status"], r["code"]) for r in rows] == [
        (f"{pupil.id_number}.jpg", "accepted", "photo_accepted"),
        ("bad.jpg", "refused", "photo_name_invalid"),
        ("Thumbs.db", "ignored", "zip_system_file"),
    ]
    assert set(rows[0]) == {"entry", "status", "code", "message"}
    pupil.refresh_from_db()
    assert pupil.photo


def test_report_csv_and_xlsx_list_every_entry(world, login):
    job = run_zip(world["a1"].operator, world.school_a1,
                  make_zip({f"{world.pupils['a1'].id_number}.jpg": GOOD, "=cmd.jpg": GOOD}))
    client = login(world["a1"].operator)
    csv = client.get(f"/api/v1/photos/imports/{job.pk}/report.csv")
    assert csv.status_code == 200
    text = csv.content.decode("utf-8-sig")
    assert "photo_accepted" in text and "'=cmd.jpg" in text and "文件" in text.splitlines()[0]
    xlsx = client.get(f"/api/v1/photos/imports/{job.pk}/report.xlsx")
    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert len(rows) == 3 and rows[1][2] == "accepted"


def test_job_and_report_are_not_visible_to_another_school(world, login):
    job = run_zip(world["a1"].operator, world.school_a1, make_zip({f"{world.pupils['a1'].id_number}.jpg": GOOD}))
    client = login(world["b1"].operator)
    for url in (f"/api/v1/photos/imports/{job.pk}", f"/api/v1/photos/imports/{job.pk}/report.csv"):
        response = client.get(url)
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert client.get(f"/schools/photos/imports/{job.pk}/").status_code == 404
    assert login(world["county_a"].approver).get(f"/api/v1/photos/imports/{job.pk}").status_code == 200


def test_api_start_returns_202_and_detail_lists_entries(world, api_token, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        from django.test import Client

        client = Client(**api_token(world["a1"].operator))
        upload = ContentFile(make_zip({f"{world.pupils['a1'].id_number}.jpg": GOOD}), name="a.zip")
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("django.db.transaction.on_commit", lambda fn, using=None, robust=False: fn())
            response = client.post("/api/v1/photos/imports", {"file": upload})
        assert response.status_code == 202, response.content
        job_id = response.json()["id"]
        detail = client.get(f"/api/v1/photos/imports/{job_id}").json()
        assert detail["state"] == "done" and detail["accepted"] == 1
        assert detail["entries"][0]["code"] == "photo_accepted"
    finally:
        app.conf.task_always_eager = False


def test_api_refuses_a_non_zip_with_its_code(world, api_token):
    from django.test import Client

    client = Client(**api_token(world["a1"].operator))
    response = client.post("/api/v1/photos/imports", {"file": ContentFile(b"not a zip", name="a.zip")})
    assert response.status_code == 422
    assert response.json()["code"] == "zip_invalid"


def test_report_page_puts_refusals_first_and_pages(world, login, monkeypatch):
    from photos import views

    monkeypatch.setattr(views, "REPORT_PAGE_ROWS", 2)
    job = run_zip(world["a1"].operator, world.school_a1, make_zip({
        f"{world.pupils['a1'].id_number}.jpg": GOOD, "Thumbs.db": b"x", "bad.jpg": GOOD}))
    client = login(world["a1"].operator)
    page = client.get(f"/schools/photos/imports/{job.pk}/").content.decode()
    assert page.index('data-entry="bad.jpg"') < page.index(f'data-entry="{world.pupils["a1"].id_number}.jpg"')
    assert 'data-entry="Thumbs.db"' not in page and 'data-testid="pager"' in page
    second = client.get(f"/schools/photos/imports/{job.pk}/?page=2").content.decode()
    assert 'data-entry="Thumbs.db"' in second
    only = client.get(f"/schools/photos/imports/{job.pk}/?status=accepted&page=9").content.decode()
    assert 'data-entry="bad.jpg"' not in only and f'data-entry="{world.pupils["a1"].id_number}.jpg"' in only
