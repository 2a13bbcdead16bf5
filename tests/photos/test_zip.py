"""Bulk photo ZIPs: name decoding, ignored and refused entries, zip bombs, file names."""

from __future__ import annotations

import io
import os
import re
import struct
import time
import zipfile
import zlib

import pytest
from django.conf import settings

if not settings.configured and "DJANGO_SETTINGS_MODULE" not in os.environ:
    settings.configure(USE_I18N=False)  # lazy Chinese messages render as written

from kernel.identity import id_check_char  # noqa: E402
from photos.archive import (  # noqa: E402
    PhotoNameRefused,
    ZipEntryRefused,
    ZipLimits,
    ZipRefused,
    iter_zip_entries,
    parse_photo_name,
)
from tests.photos.factory import make_photo, make_zeros_zip, make_zip, patch_headers  # noqa: E402

CJK = re.compile(r"[\u4e00-\u9fff]")
PHOTO = make_photo()


def _id(first17: str) -> str:
    return first17 + id_check_char(first17)


ID_A = _id("11010520100307123")
ID_B = _id("44010620110915002")


def _id_ending_in_x() -> str:
    for seq in range(1000):
        number = _id(f"44010620120101{seq:03d}")
        if number.endswith("X"):
            return number
    raise AssertionError


def _entries(data: bytes, limits: ZipLimits | None = None) -> dict[str, object]:
    found = iter_zip_entries(io.BytesIO(data), limits) if limits else iter_zip_entries(io.BytesIO(data))
    return {entry.name: entry for entry in found}


# ---------------------------------------------------------------- names inside the ZIP


def test_gbk_names_without_utf8_flag_are_decoded():
    names = [f"三年级/1班/{ID_A}.jpg", "三年级/2班/4401060001_2_欧阳娜娜.JPG"]
    data = make_zip(dict.fromkeys(names, PHOTO), gbk_names=True)
    # really written the way Chinese Windows tools write it
    infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    assert all(info.flag_bits & 0x800 == 0 for info in infos)
    assert "三年级".encode("gbk") in data and "三年级".encode() not in data

    entries = _entries(data)
    assert sorted(entries) == sorted(names)
    assert all(entry.status == "ok" for entry in entries.values())
    assert entries[names[0]].base_name == f"{ID_A}.jpg"


def test_utf8_flagged_names_are_kept():
    name = f"初一/（3）班/{ID_B}.jpg"
    data = make_zip({name: PHOTO})
    assert zipfile.ZipFile(io.BytesIO(data)).infolist()[0].flag_bits & 0x800
    assert list(_entries(data)) == [name]


def test_utf8_names_without_flag_are_decoded_as_utf8():
    class RawUtf8(zipfile.ZipInfo):
        def _encodeFilenameFlags(self):  # noqa: N802
            return self.filename.encode("utf-8"), self.flag_bits & ~0x800

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(RawUtf8("二年级/张三.jpg"), PHOTO)
    assert list(_entries(buf.getvalue())) == ["二年级/张三.jpg"]


def test_unicode_path_extra_field_wins_over_the_raw_name():
    raw = b"photo_?.jpg"
    wanted = "照片_张三.jpg".encode()
    body = bytes([1]) + struct.pack("<I", zlib.crc32(raw)) + wanted
    info = zipfile.ZipInfo(raw.decode("ascii"))
    info.extra = struct.pack("<HH", 0x7075, len(body)) + body
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(info, PHOTO)
    assert list(_entries(buf.getvalue())) == ["照片_张三.jpg"]


def test_backslash_separators_become_slashes():
    entries = _entries(make_zip({f"三年级\\1班\\{ID_A}.jpg": PHOTO}, gbk_names=True))
    assert list(entries) == [f"三年级/1班/{ID_A}.jpg"]


# ---------------------------------------------------------------- ignored and refused entries


def test_os_junk_and_folders_are_ignored_and_listed():
    data = make_zip(
        {
            "三年级/": b"",
            "三年级/1班/": b"",
            f"三年级/1班/{ID_A}.jpg": PHOTO,
            f"__MACOSX/三年级/1班/._{ID_A}.jpg": b"\0\5\x16\7",
            f"三年级/1班/._{ID_A}.jpg": b"\0\5\x16\7",
            "三年级/1班/Thumbs.db": b"thumbs",
            "三年级/.DS_Store": b"ds",
        },
        gbk_names=True,
    )
    entries = _entries(data)
    assert len(entries) == 7
    statuses = {name: (e.status, e.code) for name, e in entries.items()}
    assert statuses[f"三年级/1班/{ID_A}.jpg"] == ("ok", "")
    assert statuses["三年级/"] == ("ignored", "zip_directory")
    assert statuses["三年级/1班/Thumbs.db"] == ("ignored", "zip_system_file")
    assert statuses["三年级/.DS_Store"] == ("ignored", "zip_system_file")
    assert statuses[f"__MACOSX/三年级/1班/._{ID_A}.jpg"] == ("ignored", "zip_system_file")
    assert statuses[f"三年级/1班/._{ID_A}.jpg"] == ("ignored", "zip_system_file")


@pytest.mark.parametrize(
    "name",
    ["../x.jpg", "三年级/../../x.jpg", "/etc/x.jpg", "C:/Users/x.jpg", "c:x.jpg", "..\\..\\x.jpg", "\\\\server\\x.jpg"],
)
def test_traversal_and_absolute_paths_are_refused_others_kept(name):
    entries = _entries(make_zip({name: PHOTO, f"{ID_A}.jpg": PHOTO}, gbk_names=True))
    unsafe = [e for e in entries.values() if e.base_name != f"{ID_A}.jpg"]
    assert [(e.status, e.code) for e in unsafe] == [("refused", "zip_unsafe_path")]
    assert CJK.search(str(unsafe[0].message))
    assert entries[f"{ID_A}.jpg"].read() == PHOTO
    with pytest.raises(ZipEntryRefused) as caught:
        unsafe[0].read()
    assert caught.value.code == "zip_unsafe_path"


def test_symlink_entries_are_refused():
    info = zipfile.ZipInfo("link.jpg")
    info.external_attr = (0o120777 << 16)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    assert _entries(buf.getvalue())["link.jpg"].code == "zip_unsafe_path"


def test_encrypted_entries_are_refused():
    data = patch_headers(make_zip({f"{ID_A}.jpg": PHOTO}), flag_or=0x1)
    entry = _entries(data)[f"{ID_A}.jpg"]
    assert (entry.status, entry.code) == ("refused", "zip_encrypted")


def test_bzip2_entries_are_refused_as_unsupported():
    entry = _entries(make_zip({f"{ID_A}.jpg": PHOTO}, compression=zipfile.ZIP_BZIP2))[f"{ID_A}.jpg"]
    assert (entry.status, entry.code) == ("refused", "zip_unsupported_method")


def test_ok_entries_read_their_bytes_lazily():
    other = make_photo(seed=7)
    entries = _entries(make_zip({"a.jpg": PHOTO, "b.jpg": other}, compression=zipfile.ZIP_STORED))
    assert entries["b.jpg"].read() == other
    assert entries["a.jpg"].read() == PHOTO
    assert entries["a.jpg"].size == len(PHOTO)


# ---------------------------------------------------------------- bombs and limits


def test_zip_bomb_is_refused_by_ratio_without_inflating():
    data = make_zeros_zip("bomb.jpg", 50 * 1024 * 1024)
    assert len(data) < 200 * 1024
    started = time.perf_counter()
    entry = _entries(data + b"")["bomb.jpg"]
    assert (entry.status, entry.code) == ("refused", "zip_ratio")
    with pytest.raises(ZipEntryRefused):
        entry.read()
    assert time.perf_counter() - started < 0.2


def test_header_claiming_a_gigabyte_is_refused_by_ratio():
    data = patch_headers(make_zeros_zip("big.jpg", 2 * 1024 * 1024), file_size=1024**3)
    entry = _entries(data)["big.jpg"]
    assert (entry.status, entry.code) == ("refused", "zip_ratio")


def test_header_lying_small_cannot_make_read_inflate_the_bomb():
    data = patch_headers(make_zeros_zip("bomb.jpg", 50 * 1024 * 1024), file_size=30_000)
    entry = _entries(data)["bomb.jpg"]
    assert entry.status == "ok"  # the header looks like a photo ...
    started = time.perf_counter()
    with pytest.raises(ZipEntryRefused) as caught:
        entry.read()  # ... but the bytes do not match it
    assert time.perf_counter() - started < 0.2
    assert caught.value.code == "zip_entry_corrupt"
    assert (entry.status, entry.code) == ("refused", "zip_entry_corrupt")


def test_entry_above_the_per_entry_cap_is_refused():
    limits = ZipLimits(max_entry_bytes=10_000)
    entries = _entries(make_zip({"big.jpg": PHOTO, "small.txt": b"x" * 100}), limits)
    assert (entries["big.jpg"].status, entries["big.jpg"].code) == ("refused", "zip_entry_too_large")
    assert entries["small.txt"].status == "ok"


def test_too_many_entries_refuse_the_whole_zip_at_call_time():
    data = make_zip({f"{i}.jpg": b"" for i in range(20_001)}, compression=zipfile.ZIP_STORED)
    with pytest.raises(ZipRefused) as caught:
        iter_zip_entries(io.BytesIO(data))  # no iteration needed
    assert caught.value.code == "zip_too_many_entries"
    assert "20000" in str(caught.value.message)


def test_entry_count_is_checked_even_when_the_end_record_lies():
    data = bytearray(make_zip({f"{i}.jpg": b"" for i in range(5)}))
    eocd = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, eocd + 8, 1, 1)  # claim a single entry
    with pytest.raises(ZipRefused) as caught:
        iter_zip_entries(io.BytesIO(bytes(data)), ZipLimits(max_entries=3))
    assert caught.value.code == "zip_too_many_entries"


def test_oversized_central_directory_is_refused_before_parsing():
    data = make_zip({f"{'长' * 300}_{i}.jpg": b"" for i in range(4)})
    with pytest.raises(ZipRefused) as caught:
        iter_zip_entries(io.BytesIO(data), ZipLimits(max_entries=4, max_central_directory_bytes_per_entry=500))
    assert caught.value.code == "zip_too_many_entries"


def test_declared_total_above_limit_refuses_the_whole_zip():
    data = make_zip({"a.jpg": PHOTO, "b.jpg": PHOTO})
    with pytest.raises(ZipRefused) as caught:
        iter_zip_entries(io.BytesIO(data), ZipLimits(max_total_bytes=len(PHOTO) + 1))
    assert caught.value.code == "zip_too_large"


@pytest.mark.parametrize("data", [b"", b"not a zip at all", PHOTO, b"PK\x03\x04" + bytes(100)])
def test_not_a_zip_is_refused(data):
    with pytest.raises(ZipRefused) as caught:
        iter_zip_entries(io.BytesIO(data))
    assert caught.value.code == "zip_invalid"
    assert CJK.search(str(caught.value.message))


def test_truncated_zip_is_refused():
    data = make_zip({"a.jpg": PHOTO, "b.jpg": PHOTO})
    with pytest.raises(ZipRefused):
        iter_zip_entries(io.BytesIO(data[: len(data) - 40]))


# ---------------------------------------------------------------- photo file names


@pytest.mark.parametrize("ext", [".jpg", ".JPG", ".jpeg", ".JPEG", ".Jpg"])
def test_id_number_names_with_any_case_of_extension(ext):
    key = parse_photo_name(f"三年级/1班/{ID_A}{ext}")
    assert (key.kind, key.id_number) == ("id", ID_A)


def test_lower_case_x_is_normalised():
    number = _id_ending_in_x()
    assert parse_photo_name(number[:-1] + "x.jpg").id_number == number


def test_id_with_wrong_check_char_is_refused():
    wrong = ID_A[:-1] + ("0" if ID_A[-1] != "0" else "1")
    with pytest.raises(PhotoNameRefused) as caught:
        parse_photo_name(f"{wrong}.jpg")
    assert caught.value.code == "photo_name_id_invalid"
    assert caught.value.details == {"id_code": "id_check_char"}
    assert wrong in str(caught.value.message)


@pytest.mark.parametrize("stem", ["110105201003071", "1101052010030712", "99010520100307123X"])
def test_id_like_names_that_fail_the_id_rules(stem):
    with pytest.raises(PhotoNameRefused) as caught:
        parse_photo_name(f"{stem}.jpg")
    assert caught.value.code == "photo_name_id_invalid"


def test_no_id_pattern():
    key = parse_photo_name("三年级\\2班\\4401060001_02_阿依古丽·买买提.jpeg")
    assert (key.kind, key.school_code, key.class_no, key.name) == ("no_id", "4401060001", "02", "阿依古丽·买买提")
    assert key.id_number is None


@pytest.mark.parametrize(
    "name",
    ["张三.jpg", "440106000_2_张三.jpg", "4401060001_2_.jpg", "4401060001__张三.jpg", "4401060001_2_张_三.jpg", ".jpg"],
)
def test_other_names_are_invalid(name):
    with pytest.raises(PhotoNameRefused) as caught:
        parse_photo_name(name)
    assert caught.value.code == "photo_name_invalid"
    assert CJK.search(str(caught.value.message))


@pytest.mark.parametrize("name", [f"{ID_A}.png", f"{ID_A}", f"{ID_A}.jpg.txt", "Thumbs.db"])
def test_non_jpg_extensions_are_refused(name):
    with pytest.raises(PhotoNameRefused) as caught:
        parse_photo_name(name)
    assert caught.value.code == "photo_name_extension"


def test_a_class_zip_from_windows_maps_to_pupils():
    data = make_zip(
        {
            "三年级/": b"",
            f"三年级/1班/{ID_A.lower()}.JPG": PHOTO,
            "三年级/1班/4401060001_1_李娜.jpg": PHOTO,
            "三年级/1班/说明.txt": b"readme",
            "三年级/1班/Thumbs.db": b"",
        },
        gbk_names=True,
    )
    keys = {}
    for entry in iter_zip_entries(io.BytesIO(data)):
        if entry.status != "ok":
            continue
        try:
            keys[entry.base_name] = parse_photo_name(entry.name)
        except PhotoNameRefused as exc:
            keys[entry.base_name] = exc.code
    assert keys == {
        f"{ID_A.lower()}.JPG": parse_photo_name(f"{ID_A}.jpg"),
        "4401060001_1_李娜.jpg": parse_photo_name("4401060001_1_李娜.jpg"),
        "说明.txt": "photo_name_extension",
    }
