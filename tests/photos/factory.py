"""Photos and ZIPs made on the fly for the photo tests (no binary fixtures in the tree).

``make_photo`` draws an ID-style portrait: light-blue background, a head, shoulders, and
sensor-like noise so that a 260x320 JPEG weighs what a real one does (20-40 KB).
``make_zip`` writes a ZIP the way Chinese Windows tools do when asked (GBK names, no
UTF-8 flag), and ``patch_*`` helpers forge the header lies that hostile ZIPs tell.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile

from PIL import Image, ImageChops, ImageDraw

# Stored-pixels -> upright: the inverse of the transpose each EXIF orientation asks for.
_TO_STORED = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def make_portrait(width: int, height: int, color=(170, 210, 240), noise: bool = True, seed: int = 0) -> Image.Image:
    """An upright RGB portrait scene of the given size."""
    img = Image.new("RGB", (width, height), color)
    draw = ImageDraw.Draw(img)
    cx = width / 2
    # shoulders and clothes
    draw.ellipse((cx - width * 0.55, height * 0.72, cx + width * 0.55, height * 1.4), fill=(40, 45, 60))
    # neck, hair, face
    draw.rectangle((cx - width * 0.09, height * 0.55, cx + width * 0.09, height * 0.78), fill=(205, 160, 130))
    draw.ellipse((cx - width * 0.25, height * 0.14, cx + width * 0.25, height * 0.50), fill=(30, 25, 25))
    draw.ellipse((cx - width * 0.21, height * 0.20, cx + width * 0.21, height * 0.66), fill=(225, 182, 152))
    # eyes and mouth
    for dx in (-0.09, 0.09):
        ex = cx + width * dx
        draw.ellipse((ex - width * 0.03, height * 0.38, ex + width * 0.03, height * 0.41), fill=(40, 30, 30))
    draw.arc((cx - width * 0.07, height * 0.50, cx + width * 0.07, height * 0.57), 20, 160, fill=(150, 60, 60), width=2)
    if noise:
        rng = random.Random(seed)
        grain = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
        grain = grain.point(lambda v: v * 36 // 255)  # 0..36, centred on 18 below
        img = ImageChops.add(img, grain, scale=1.0, offset=-18)
    return img


def make_photo(
    width: int = 260,
    height: int = 320,
    color=(170, 210, 240),
    mode: str = "RGB",
    quality: int = 85,
    exif_orientation: int | None = None,
    noise: bool = True,
    seed: int = 0,
) -> bytes:
    """A JPEG whose *stored* pixels are width x height.

    With ``exif_orientation`` the scene is drawn upright at the displayed size and stored
    turned, so that a reader honouring the tag sees an upright portrait.
    """
    swap = exif_orientation in (5, 6, 7, 8)
    shown = (height, width) if swap else (width, height)
    upright = make_portrait(*shown, color=color, noise=noise, seed=seed)
    stored = upright.transpose(_TO_STORED[exif_orientation]) if exif_orientation in _TO_STORED else upright
    if mode != "RGB":
        stored = stored.convert(mode)
    buf = io.BytesIO()
    kwargs = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif.tobytes()
    stored.save(buf, "JPEG", quality=quality, **kwargs)
    return buf.getvalue()


def make_image(fmt: str, width: int = 260, height: int = 320) -> bytes:
    """The same portrait in another format (PNG, GIF, BMP, WEBP...)."""
    buf = io.BytesIO()
    make_portrait(width, height).save(buf, fmt)
    return buf.getvalue()


def jpeg_with_claimed_size(width: int, height: int) -> bytes:
    """A small, otherwise valid JPEG whose SOF header claims ``width`` x ``height``."""
    data = bytearray(make_photo(64, 80, noise=False))
    i = 2
    while i < len(data):
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):  # SOF0/1/2: length, precision, height, width
            struct.pack_into(">HH", data, i + 5, height, width)
            return bytes(data)
        i += 2 + length
    raise AssertionError("no SOF marker")


def png_with_claimed_size(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims ``width`` x ``height`` (CRC fixed up)."""
    import zlib

    data = bytearray(make_image("PNG", 8, 8))
    # signature (8) + IHDR length (4) + "IHDR" (4) -> width, height
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    return bytes(data)


class _GbkZipInfo(zipfile.ZipInfo):
    """Writes its name as GBK bytes without the UTF-8 flag, like Chinese Windows tools."""

    def _encodeFilenameFlags(self):  # noqa: N802 - zipfile's own hook name
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


def make_zip(
    entries: dict[str, bytes],
    gbk_names: bool = False,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries.items():
            info = (_GbkZipInfo if gbk_names else zipfile.ZipInfo)(name, date_time=(2024, 9, 1, 8, 0, 0))
            info.compress_type = compression
            if name.endswith("/"):
                info.external_attr = 0o40755 << 16 | 0x10
            zf.writestr(info, data)
    return buf.getvalue()


def make_zeros_zip(name: str, size: int, chunk: int = 1 << 20) -> bytes:
    """One deflated entry of ``size`` zero bytes, written streaming (never ``size`` in RAM)."""
    buf = io.BytesIO()
    zero = bytes(chunk)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo(name, date_time=(2024, 9, 1, 8, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as out:
            left = size
            while left > 0:
                out.write(zero[: min(chunk, left)])
                left -= chunk
    return buf.getvalue()


def patch_headers(data: bytes, *, flag_or: int = 0, file_size: int | None = None) -> bytes:
    """Forge every local and central header: OR bits into the flags, lie about the size."""
    out = bytearray(data)
    pos = 0
    while (pos := out.find(b"PK\x03\x04", pos)) != -1:
        struct.pack_into("<H", out, pos + 6, struct.unpack_from("<H", out, pos + 6)[0] | flag_or)
        if file_size is not None and struct.unpack_from("<I", out, pos + 22)[0] != 0xFFFFFFFF:
            struct.pack_into("<I", out, pos + 22, file_size)
        pos += 4
    pos = 0
    while (pos := out.find(b"PK\x01\x02", pos)) != -1:
        struct.pack_into("<H", out, pos + 8, struct.unpack_from("<H", out, pos + 8)[0] | flag_or)
        if file_size is not None:
            struct.pack_into("<I", out, pos + 24, file_size)
        pos += 4
    return bytes(out)
