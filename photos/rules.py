"""Photo rules of the national system (照片采集要求), as pure functions on bytes.

Nothing here touches the database: ``check_photo`` judges one file against a province's
``PhotoPolicy`` and says, in the registrar's words, what to fix; ``normalize_photo`` fixes
the one thing a machine may fix without guessing (a photo that is only too heavy).

Order of work, cheapest first, so that hostile files cost next to nothing:

1. byte count (upload cap, before anything is parsed);
2. magic bytes (the format is judged by content, never by the file name);
3. the header only (``Image.open`` reads markers up to the first scan): pixel size and
   EXIF orientation; absurd sizes are refused here, before a single pixel is decoded;
4. one decode at reduced scale (JPEG draft mode, 1/4 or 1/8 DCT scaling) that proves the
   file is complete and feeds the colour and background checks.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageChops

from kernel.errors import ValidationFailed

# EXIF tag 0x0112 values 5..8 turn the picture by a quarter: width and height swap.
EXIF_ORIENTATION_TAG = 0x0112
_QUARTER_TURNS = {5, 6, 7, 8}
_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# Problems ``normalize_photo`` may repair: re-encoding changes bytes, never the content.
NORMALIZABLE_CODES = frozenset({"photo_too_large"})


@dataclass(frozen=True)
class PhotoPolicy:
    """One province's photo rules; the defaults are the national ones (照片采集要求)."""

    formats: tuple[str, ...] = ("JPEG",)
    require_colour: bool = True
    width_mm: float = 26.0
    height_mm: float = 32.0
    min_dpi: int = 150
    require_portrait: bool = True
    aspect_tolerance: float = 0.05  # relative deviation from width_mm / height_mm
    max_bytes: int = 60 * 1024  # the file must be strictly smaller
    check_background: bool = True
    background_refuses: bool = False  # False: a wrong background is only a warning
    max_pixels: int = 40_000_000  # larger headers are refused undecoded (decompression bomb)
    max_upload_bytes: int = 5 * 1024 * 1024  # a single file larger than this is not parsed
    normalize_size: tuple[int, int] = (260, 320)  # target box of normalize_photo
    # A province may set the minimum pixels directly (ProvincePolicy.photo_min_width/height);
    # otherwise they follow from the millimetres and the dpi.
    min_width_px: int | None = None
    min_height_px: int | None = None

    @property
    def min_width(self) -> int:
        if self.min_width_px:
            return self.min_width_px
        return math.ceil(self.width_mm / 25.4 * self.min_dpi)

    @property
    def min_height(self) -> int:
        if self.min_height_px:
            return self.min_height_px
        return math.ceil(self.height_mm / 25.4 * self.min_dpi)

    @property
    def aspect(self) -> float:
        return self.width_mm / self.height_mm


DEFAULT = PhotoPolicy()


@dataclass(frozen=True)
class PhotoProblem:
    code: str
    message: Any  # lazy translatable string


@dataclass
class PhotoVerdict:
    problems: list[PhotoProblem] = field(default_factory=list)  # refusals
    warnings: list[PhotoProblem] = field(default_factory=list)
    format: str | None = None
    width: int | None = None  # as displayed, i.e. after EXIF orientation
    height: int | None = None
    orientation: int = 1
    mode: str | None = None
    size_bytes: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.problems]

    @property
    def warning_codes(self) -> list[str]:
        return [p.code for p in self.warnings]

    def refuse(self, code: str, message: Any) -> None:
        self.problems.append(PhotoProblem(code, message))

    def warn(self, code: str, message: Any) -> None:
        self.warnings.append(PhotoProblem(code, message))


class PhotoNotNormalizable(ValidationFailed):
    default_code = "photo_not_normalizable"


# ---------------------------------------------------------------------------- check


def check_photo(data: bytes, policy: PhotoPolicy = DEFAULT) -> PhotoVerdict:
    """Judge one photo file by its bytes; never raises on bad input."""
    verdict = PhotoVerdict(size_bytes=len(data))
    if not data:
        verdict.refuse("photo_corrupt", _("照片文件为空，请重新上传"))
        return verdict
    if len(data) > policy.max_upload_bytes:
        verdict.refuse(
            "photo_upload_too_large",
            format_lazy(
                _("文件大小为{size}，超过单张照片上传上限{limit}，请压缩后重新上传"),
                size=_human_bytes(len(data)),
                limit=_human_bytes(policy.max_upload_bytes),
            ),
        )
        return verdict

    verdict.format = sniff_format(data)
    if verdict.format not in policy.formats:
        verdict.refuse(
            "photo_not_jpeg",
            format_lazy(
                _("照片须为JPG格式（该文件实际为{actual}），请转换为JPG格式后重新上传"),
                actual=verdict.format or _("无法识别的格式"),
            ),
        )
        return verdict

    img = _open_header(data, verdict, policy)
    if img is None:
        return verdict
    try:
        _judge_header(img, data, verdict, policy)
        _judge_pixels(img, verdict, policy)
    finally:
        img.close()
    return verdict


def can_normalize(verdict: PhotoVerdict) -> bool:
    """True when the only refusals left are ones ``normalize_photo`` repairs."""
    codes = set(verdict.codes)
    return bool(codes) and codes <= NORMALIZABLE_CODES


def sniff_format(data: bytes) -> str | None:
    """The file's real format from its magic bytes (the file name is never consulted)."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if data[:2] == b"BM":
        return "BMP"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand in (b"heic", b"heix", b"heim", b"heis", b"hevc", b"mif1", b"msf1"):
            return "HEIC"
    if data[:4] == b"%PDF":
        return "PDF"
    return None


def _open_header(data: bytes, verdict: PhotoVerdict, policy: PhotoPolicy) -> Image.Image | None:
    """Parse the header only; refuse bombs and unreadable headers without decoding."""
    try:
        # Pillow itself raises DecompressionBombError past 2 x MAX_IMAGE_PIXELS (and warns
        # past 1 x; under ``-W error`` the warning arrives as an exception too).
        img = Image.open(io.BytesIO(data), formats=[verdict.format])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        verdict.refuse("photo_bomb", _bomb_message(None, None))
        return None
    except Exception:  # noqa: BLE001 - any parser failure on untrusted bytes is "corrupt"
        verdict.refuse("photo_corrupt", _corrupt_message())
        return None
    width, height = img.size
    verdict.mode = img.mode
    if width <= 0 or height <= 0:
        img.close()
        verdict.refuse("photo_corrupt", _corrupt_message())
        return None
    if width * height > policy.max_pixels:
        img.close()
        verdict.width, verdict.height = width, height
        verdict.refuse("photo_bomb", _bomb_message(width, height))
        return None
    verdict.orientation = _exif_orientation(img)
    if verdict.orientation in _QUARTER_TURNS:
        width, height = height, width
    verdict.width, verdict.height = width, height
    return img


def _judge_header(img: Image.Image, data: bytes, verdict: PhotoVerdict, policy: PhotoPolicy) -> None:
    """Every rule that needs only the header: bytes, colour model, pixel size, shape."""
    if len(data) >= policy.max_bytes:
        verdict.refuse(
            "photo_too_large",
            format_lazy(
                _("照片大小为{size}KB，须小于{limit}KB，请压缩后重新上传"),
                size=f"{len(data) / 1024:.1f}",
                limit=f"{policy.max_bytes / 1024:g}",
            ),
        )
    if img.mode == "CMYK":
        verdict.refuse("photo_cmyk", _("照片为CMYK（印刷）色彩模式，请转换为RGB彩色照片后重新上传"))
    elif img.mode in ("L", "LA", "1", "I", "I;16") and policy.require_colour:
        verdict.refuse("photo_grayscale", _grayscale_message())

    width, height = verdict.width, verdict.height
    assert width is not None and height is not None
    if width < policy.min_width or height < policy.min_height:
        verdict.refuse(
            "photo_too_small",
            format_lazy(
                _("照片像素为{w}×{h}，小于{min_w}×{min_h}（{mm_w}mm×{mm_h}mm、{dpi}dpi），请重新拍摄或扫描"),
                w=width, h=height, min_w=policy.min_width, min_h=policy.min_height,
                mm_w=f"{policy.width_mm:g}", mm_h=f"{policy.height_mm:g}", dpi=policy.min_dpi,
            ),
        )
    if policy.require_portrait and width >= height:
        verdict.refuse(
            "photo_not_portrait",
            format_lazy(_("照片须为竖版（当前宽{w}×高{h}），请旋转或裁剪为竖版后重新上传"), w=width, h=height),
        )
    elif abs((width / height) / policy.aspect - 1) > policy.aspect_tolerance:
        verdict.refuse(
            "photo_aspect",
            format_lazy(
                _("照片宽高比为{w}:{h}，与{mm_w}:{mm_h}相差超过{tol}%，请按{mm_w}mm×{mm_h}mm裁剪后重新上传"),
                w=width, h=height, mm_w=f"{policy.width_mm:g}", mm_h=f"{policy.height_mm:g}",
                tol=f"{policy.aspect_tolerance * 100:g}",
            ),
        )


def _judge_pixels(img: Image.Image, verdict: PhotoVerdict, policy: PhotoPolicy) -> None:
    """Decode once at reduced scale: proves completeness, then colour and background."""
    if img.format == "JPEG":
        img.draft(img.mode, (max(1, img.width // 4), max(1, img.height // 4)))
    try:
        img.load()
    except Exception:  # noqa: BLE001 - truncated or broken entropy data
        verdict.refuse("photo_corrupt", _corrupt_message())
        return
    if img.mode not in ("RGB", "RGBA", "YCbCr"):
        return  # CMYK / grey were judged from the header already
    small = img.convert("RGB")
    transpose = _TRANSPOSE_FOR_ORIENTATION.get(verdict.orientation)
    if transpose is not None:
        small = small.transpose(transpose)
    if policy.require_colour and _looks_grey(small):
        verdict.refuse("photo_grayscale", _grayscale_message())
        return
    if policy.check_background and not _background_is_light_blue(small):
        message = _("照片背景不是淡蓝色，请使用淡蓝色背景重新拍摄")
        if policy.background_refuses:
            verdict.refuse("photo_background", message)
        else:
            verdict.warn("photo_background", message)


def _looks_grey(img: Image.Image) -> bool:
    """A colour-coded photo with (almost) no chroma anywhere is a black-and-white photo."""
    r, g, b = img.split()
    high = ImageChops.lighter(ImageChops.lighter(r, g), b)
    low = ImageChops.darker(ImageChops.darker(r, g), b)
    chroma = ImageChops.subtract(high, low).histogram()
    coloured = sum(chroma[16:])
    return coloured < 0.02 * img.width * img.height


# Pillow's HSV: every band 0..255; hue 0..255 stands for 0..360 degrees. Lookup tables
# (built once) turn each band into a 0/255 mask of "light blue" pixels.
_HUE_LUT = [255 if 170 / 360 * 255 <= v <= 250 / 360 * 255 else 0 for v in range(256)]
_SATURATION_LUT = [255 if v >= 0.06 * 255 else 0 for v in range(256)]
_VALUE_LUT = [255 if v >= 0.55 * 255 else 0 for v in range(256)]


def _background_is_light_blue(img: Image.Image) -> bool:
    """Most of the top band and the upper side strips (where no head is) are light blue."""
    w, h = img.size
    hue, sat, val = img.convert("HSV").split()
    mask = ImageChops.multiply(
        ImageChops.multiply(hue.point(_HUE_LUT), sat.point(_SATURATION_LUT)), val.point(_VALUE_LUT)
    )
    top = max(1, h // 8)
    side = max(1, w // 10)
    shoulder = max(top + 1, h * 2 // 5)
    regions = [(0, 0, w, top), (0, top, side, shoulder), (w - side, top, w, shoulder)]
    blue = total = 0
    for box in regions:
        blue += mask.crop(box).histogram()[255]
        total += (box[2] - box[0]) * (box[3] - box[1])
    return total > 0 and blue >= 0.6 * total


def _exif_orientation(img: Image.Image) -> int:
    try:
        value = int(img.getexif().get(EXIF_ORIENTATION_TAG, 1))
    except Exception:  # noqa: BLE001 - a broken EXIF block does not make a broken photo
        return 1
    return value if 1 <= value <= 8 else 1


def _human_bytes(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f}MB"
    return f"{n / 1024:.1f}KB"


def _bomb_message(width: int | None, height: int | None) -> Any:
    if width is None:
        return _("照片像素尺寸异常巨大，已拒绝处理，请检查文件后重新上传")
    return format_lazy(_("照片像素尺寸异常（{w}×{h}），已拒绝处理，请检查文件后重新上传"), w=width, h=height)


def _corrupt_message() -> Any:
    return _("照片文件已损坏或不完整，无法读取，请重新导出后上传")


def _grayscale_message() -> Any:
    return _("照片为黑白（灰度）照片，须为彩色照片，请重新上传")


# ---------------------------------------------------------------------------- normalize

_QUALITIES = (90, 85, 80, 75, 70, 65, 60, 55, 50, 45, 40, 35, 30)


def normalize_photo(data: bytes, policy: PhotoPolicy = DEFAULT) -> bytes:
    """自动规范化: shrink a photo whose only refusal is its byte size below the limit.

    Applies the EXIF orientation, scales down into ``policy.normalize_size`` (never up,
    never below the minimum pixels, never cropped) and re-encodes as baseline JPEG with
    falling quality until the file is small enough. Metadata (EXIF, GPS) is dropped.
    Raises ``PhotoNotNormalizable`` for any other problem; a photo that already passes is
    returned unchanged.
    """
    verdict = check_photo(data, policy)
    if verdict.ok:
        return data
    if not can_normalize(verdict):
        raise PhotoNotNormalizable(
            _("照片存在无法自动规范化的问题，请按要求重新拍摄或裁剪后上传"), details={"codes": verdict.codes}
        )
    assert verdict.width is not None and verdict.height is not None
    box_w, box_h = policy.normalize_size
    scale = min(1.0, box_w / verdict.width, box_h / verdict.height)
    with Image.open(io.BytesIO(data), formats=[verdict.format]) as img:
        draft_box = (box_h, box_w) if verdict.orientation in _QUARTER_TURNS else (box_w, box_h)
        if img.format == "JPEG":
            img.draft("RGB", draft_box)
        picture = img.convert("RGB")
    transpose = _TRANSPOSE_FOR_ORIENTATION.get(verdict.orientation)
    if transpose is not None:
        picture = picture.transpose(transpose)

    while True:
        size = (
            max(policy.min_width, round(verdict.width * scale)),
            max(policy.min_height, round(verdict.height * scale)),
        )
        resized = picture if picture.size == size else picture.resize(size, Image.Resampling.LANCZOS)
        for quality in _QUALITIES:
            out = _encode(resized, quality, policy)
            if len(out) < policy.max_bytes:
                return out
        if size == (policy.min_width, policy.min_height):
            raise PhotoNotNormalizable(
                _("照片压缩到最小尺寸后仍大于上限，请重新拍摄后上传"), code="photo_normalize_failed"
            )
        scale *= 0.85


def _encode(img: Image.Image, quality: int, policy: PhotoPolicy) -> bytes:
    dpi = round(img.width * 25.4 / policy.width_mm)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, optimize=True, dpi=(dpi, dpi))
    return buf.getvalue()
