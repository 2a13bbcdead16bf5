"""Photo rules (照片采集要求): one test per rule and code, bombs, EXIF, normalisation."""

from __future__ import annotations

import io
import os
import re
import resource
import time

import pytest
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from PIL import Image

if not settings.configured and "DJANGO_SETTINGS_MODULE" not in os.environ:
    settings.configure(USE_I18N=False)  # lazy Chinese messages render as written

from photos.rules import (  # noqa: E402
    DEFAULT,
    PhotoNotNormalizable,
    PhotoPolicy,
    PhotoVerdict,
    can_normalize,
    check_photo,
    normalize_photo,
)
from tests.photos.factory import (  # noqa: E402
    jpeg_with_claimed_size,
    make_image,
    make_photo,
    png_with_claimed_size,
)

CJK = re.compile(r"[\u4e00-\u9fff]")


def _resave(img: Image.Image, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", **kwargs)
    return buf.getvalue()


def _messages(verdict: PhotoVerdict) -> list[str]:
    return [str(p.message) for p in verdict.problems + verdict.warnings]


# ---------------------------------------------------------------- policy and a good photo


def test_default_policy_minimum_pixels_are_26x32_mm_at_150_dpi():
    assert (DEFAULT.min_width, DEFAULT.min_height) == (154, 189)
    assert DEFAULT.max_bytes == 61440
    assert DEFAULT.background_refuses is False


def test_realistic_light_blue_portrait_passes_without_warning():
    data = make_photo()
    assert 20 * 1024 <= len(data) <= 40 * 1024
    verdict = check_photo(data)
    assert verdict.ok, _messages(verdict)
    assert verdict.warnings == []
    assert (verdict.format, verdict.width, verdict.height, verdict.mode) == ("JPEG", 260, 320, "RGB")
    assert verdict.size_bytes == len(data)


def test_photo_at_exact_minimum_pixels_passes():
    assert check_photo(make_photo(154, 189)).ok


# ---------------------------------------------------------------- format, judged by bytes


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "BMP", "WEBP", "TIFF"])
def test_other_formats_are_refused_by_content(fmt):
    verdict = check_photo(make_image(fmt))
    assert verdict.codes == ["photo_not_jpeg"]
    assert verdict.format == fmt
    assert fmt in str(verdict.problems[0].message)


def test_unknown_bytes_are_not_jpeg():
    verdict = check_photo(b"GIF is what I am not, just text" * 10)
    assert verdict.codes == ["photo_not_jpeg"]
    assert verdict.format is None


def test_policy_may_allow_png():
    verdict = check_photo(make_image("PNG"), PhotoPolicy(formats=("JPEG", "PNG")))
    assert "photo_not_jpeg" not in verdict.codes
    assert (verdict.width, verdict.height) == (260, 320)


# ---------------------------------------------------------------- bytes


def test_60_kb_is_refused_and_one_byte_less_passes():
    data = make_photo()
    # Bytes after the JPEG end marker are ignored by decoders but count towards the size.
    assert check_photo(data + bytes(61440 - 1 - len(data))).ok
    verdict = check_photo(data + bytes(61440 - len(data)))
    assert verdict.codes == ["photo_too_large"]
    assert "60KB" in str(verdict.problems[0].message)


def test_heavy_photo_is_too_large():
    assert check_photo(make_photo(520, 640)).codes == ["photo_too_large"]


def test_file_above_upload_cap_is_refused_before_parsing():
    data = make_photo() + bytes(DEFAULT.max_upload_bytes)
    verdict = check_photo(data)
    assert verdict.codes == ["photo_upload_too_large"]
    assert verdict.format is None  # not even sniffed


def test_empty_file_is_corrupt():
    assert check_photo(b"").codes == ["photo_corrupt"]


# ---------------------------------------------------------------- pixels and shape


@pytest.mark.parametrize("size", [(153, 189), (154, 188), (100, 123)])
def test_too_few_pixels(size):
    assert "photo_too_small" in check_photo(make_photo(*size)).codes


def test_landscape_is_not_portrait():
    verdict = check_photo(make_photo(320, 260))
    assert verdict.codes == ["photo_not_portrait"]


def test_square_is_not_portrait():
    assert check_photo(make_photo(300, 300)).codes == ["photo_not_portrait"]


@pytest.mark.parametrize("size", [(260, 300), (240, 320), (230, 320)])
def test_aspect_more_than_5_percent_off_26_32_is_refused(size):
    assert check_photo(make_photo(*size)).codes == ["photo_aspect"]


@pytest.mark.parametrize("size", [(260, 330), (270, 320), (208, 256)])
def test_aspect_within_5_percent_passes(size):
    assert check_photo(make_photo(*size)).ok


def test_aspect_tolerance_is_policy():
    assert check_photo(make_photo(260, 300), PhotoPolicy(aspect_tolerance=0.08)).ok


# ---------------------------------------------------------------- EXIF orientation


def test_exif_rotation_swaps_width_and_height_before_judging():
    stored_landscape = make_photo(320, 260, exif_orientation=6)
    verdict = check_photo(stored_landscape)
    assert verdict.ok, _messages(verdict)
    assert (verdict.width, verdict.height, verdict.orientation) == (260, 320, 6)
    assert verdict.warnings == []  # the background is judged upright too


def test_exif_rotation_can_turn_a_portrait_into_a_landscape():
    verdict = check_photo(make_photo(260, 320, exif_orientation=8))
    assert (verdict.width, verdict.height) == (320, 260)
    assert verdict.codes == ["photo_not_portrait"]


def test_exif_half_turn_keeps_the_shape():
    verdict = check_photo(make_photo(260, 320, exif_orientation=3))
    assert verdict.ok and (verdict.width, verdict.height) == (260, 320)


# ---------------------------------------------------------------- colour


def test_grayscale_jpeg_is_refused():
    assert check_photo(make_photo(mode="L")).codes == ["photo_grayscale"]


def test_grey_picture_stored_as_rgb_is_refused():
    grey = Image.open(io.BytesIO(make_photo(mode="L"))).convert("RGB")
    verdict = check_photo(_resave(grey, quality=85))
    assert verdict.mode == "RGB"
    assert verdict.codes == ["photo_grayscale"]


def test_grayscale_allowed_when_policy_does_not_require_colour():
    policy = PhotoPolicy(require_colour=False, check_background=False)
    assert check_photo(make_photo(mode="L"), policy).ok


def test_cmyk_jpeg_is_refused():
    verdict = check_photo(make_photo(mode="CMYK", quality=60))
    assert "photo_cmyk" in verdict.codes
    assert "photo_grayscale" not in verdict.codes


# ---------------------------------------------------------------- background


def test_white_background_is_a_warning_by_default():
    verdict = check_photo(make_photo(color=(250, 250, 250)))
    assert verdict.ok
    assert verdict.warning_codes == ["photo_background"]
    assert "淡蓝色" in str(verdict.warnings[0].message)


def test_red_background_is_refused_when_policy_says_so():
    verdict = check_photo(make_photo(color=(200, 30, 40)), PhotoPolicy(background_refuses=True))
    assert verdict.codes == ["photo_background"]
    assert verdict.warnings == []


@pytest.mark.parametrize("color", [(170, 210, 240), (200, 225, 245), (67, 142, 219), (120, 180, 230)])
def test_light_blue_shades_pass(color):
    verdict = check_photo(make_photo(color=color), PhotoPolicy(background_refuses=True))
    assert verdict.ok, _messages(verdict)


def test_background_check_can_be_switched_off():
    assert check_photo(make_photo(color=(250, 250, 250)), PhotoPolicy(check_background=False)).warnings == []


# ---------------------------------------------------------------- broken files and bombs


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_jpeg_is_corrupt(keep):
    data = make_photo()
    assert "photo_corrupt" in check_photo(data[: int(len(data) * keep)]).codes


def test_jpeg_magic_followed_by_garbage_is_corrupt():
    assert check_photo(b"\xff\xd8\xff" + b"\x00garbage" * 100).codes == ["photo_corrupt"]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_decompression_bomb_header_is_refused_fast_without_decoding():
    bomb = jpeg_with_claimed_size(30000, 30000)  # 900 Mpx, 2.7 GB if decoded
    assert len(bomb) < 5000
    before = _peak_rss_mb()
    started = time.perf_counter()
    verdict = check_photo(bomb)
    elapsed = time.perf_counter() - started
    assert verdict.codes == ["photo_bomb"]
    assert elapsed < 0.5
    assert _peak_rss_mb() - before < 50


def test_policy_pixel_cap_applies_below_pillows_own_limit():
    verdict = check_photo(jpeg_with_claimed_size(8000, 6000))  # 48 Mpx > 40 Mpx policy
    assert verdict.codes == ["photo_bomb"]
    assert (verdict.width, verdict.height) == (8000, 6000)
    assert "8000×6000" in str(verdict.problems[0].message)


def test_png_bomb_is_refused_unparsed():
    started = time.perf_counter()
    assert check_photo(png_with_claimed_size(30000, 30000)).codes == ["photo_not_jpeg"]
    assert time.perf_counter() - started < 0.5


def test_png_bomb_is_refused_when_policy_allows_png():
    policy = PhotoPolicy(formats=("JPEG", "PNG"))
    assert check_photo(png_with_claimed_size(30000, 30000), policy).codes == ["photo_bomb"]


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_check_photo_never_raises_on_damaged_jpegs(data):
    photo = bytearray(make_photo(154, 189, noise=False))
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(photo) - 1))
        photo[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(3, len(photo)))
    verdict = check_photo(bytes(photo[:cut]))
    assert isinstance(verdict.ok, bool)


# ---------------------------------------------------------------- messages


def test_every_message_is_chinese_and_codes_are_stable_strings():
    samples = [
        make_image("PNG"),
        make_photo(520, 640),
        make_photo(100, 123),
        make_photo(320, 260),
        make_photo(260, 300),
        make_photo(mode="L"),
        make_photo(mode="CMYK"),
        make_photo(color=(250, 250, 250)),
        make_photo()[:5000],
        jpeg_with_claimed_size(30000, 30000),
        jpeg_with_claimed_size(8000, 6000),
    ]
    seen = set()
    for data in samples:
        verdict = check_photo(data)
        for problem in verdict.problems + verdict.warnings:
            seen.add(problem.code)
            assert CJK.search(str(problem.message)), problem
    assert seen >= {
        "photo_not_jpeg", "photo_too_large", "photo_too_small", "photo_not_portrait", "photo_aspect",
        "photo_grayscale", "photo_cmyk", "photo_corrupt", "photo_background", "photo_bomb",
    }


# ---------------------------------------------------------------- normalisation


def test_normalize_makes_a_too_large_photo_pass():
    data = make_photo(520, 640, quality=95)
    verdict = check_photo(data)
    assert verdict.codes == ["photo_too_large"] and can_normalize(verdict)
    fixed = normalize_photo(data)
    after = check_photo(fixed)
    assert after.ok, _messages(after)
    assert len(fixed) < 61440
    assert (after.width, after.height) == (260, 320)


def test_normalize_keeps_pixels_of_a_small_but_heavy_photo():
    data = make_photo(200, 246, quality=100) + bytes(61440)  # heavy through trailing junk
    fixed = normalize_photo(data)
    after = check_photo(fixed)
    assert after.ok and (after.width, after.height) == (200, 246)


def test_normalize_applies_exif_orientation():
    data = make_photo(640, 520, quality=95, exif_orientation=6)
    assert check_photo(data).codes == ["photo_too_large"]
    fixed = normalize_photo(data)
    after = check_photo(fixed)
    assert after.ok and after.orientation == 1
    assert (after.width, after.height) == (260, 320)
    assert after.warnings == []  # still upright: the blue background is on top


def test_normalize_refuses_photos_with_other_problems():
    data = make_photo(520, 640, mode="L", quality=95)
    assert not can_normalize(check_photo(data))
    with pytest.raises(PhotoNotNormalizable) as caught:
        normalize_photo(data)
    assert caught.value.code == "photo_not_normalizable"
    assert "photo_grayscale" in caught.value.details["codes"]


def test_normalize_returns_a_passing_photo_unchanged():
    data = make_photo()
    assert not can_normalize(check_photo(data))
    assert normalize_photo(data) is data


def test_can_normalize_only_for_byte_size_problems():
    assert can_normalize(check_photo(make_photo(520, 640)))
    assert not can_normalize(check_photo(make_photo(100, 123)))
    assert not can_normalize(check_photo(make_image("PNG")))
    assert not can_normalize(check_photo(jpeg_with_claimed_size(30000, 30000)))
