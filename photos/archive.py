"""Bulk photo ZIPs: list every entry with a verdict, read accepted ones lazily, parse names.

Pure module (no database). A ZIP is hostile until proven otherwise:

- the whole archive is refused (``ZipRefused``) when it is not a ZIP, declares too many
  entries or too many bytes in total; the entry count and central-directory size are read
  from the end record *before* ``zipfile`` builds one object per entry;
- each entry gets ``status`` "ok" / "ignored" / "refused" with a stable ``code`` and a
  Chinese message, so that one bad entry never sinks the others;
- ``ZipEntry.read()`` never trusts the header: it reads at most ``max_entry_bytes + 1``
  bytes from the decompressing stream; only stored and deflated entries are read at all
  (deflate output is bounded per read call, bzip2/LZMA output is not).

Names: without the UTF-8 flag (0x800) ``zipfile`` decodes names as cp437. Chinese Windows
tools write GBK there, so the raw bytes are recovered (cp437 round-trips every byte) and
tried as UTF-8, then as GBK (GB18030, its superset). An Info-ZIP Unicode Path extra field
(0x7075) wins when its CRC matches the raw name.
"""

from __future__ import annotations

import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any, NoReturn

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from kernel.errors import ValidationFailed
from kernel.identity import normalize_id_number, validate_resident_id

_UTF8_FLAG = 0x800
_ENCRYPTED_FLAG = 0x1
_READABLE_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_IGNORED_BASENAMES = frozenset({"thumbs.db", ".ds_store", "desktop.ini"})
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int = 20_000
    max_total_bytes: int = 2 * 1024**3  # declared uncompressed total
    max_entry_bytes: int = 5 * 1024 * 1024  # per entry, declared and actually read
    max_ratio: int = 100  # uncompressed : compressed, per entry
    ratio_applies_above: int = 1024 * 1024  # small entries may compress well innocently
    max_central_directory_bytes_per_entry: int = 1024  # bounds parsing before counting


DEFAULT_LIMITS = ZipLimits()

_ZIP_MESSAGES = {
    "zip_invalid": _("文件不是有效的ZIP压缩包，请重新压缩后上传"),
    "zip_too_many_entries": _("压缩包内文件数量超过上限{limit}个，请按班级或年级分包后上传"),
    "zip_too_large": _("压缩包解压后总大小超过上限{limit}，请按班级或年级分包后上传"),
}


class ZipRefused(ValidationFailed):
    """The whole archive is refused; nothing in it was looked at."""

    default_code = "zip_invalid"

    def __init__(self, message: Any = None, *, code: str = "zip_invalid", limit: Any = "", **kwargs: Any) -> None:
        if message is None:
            message = format_lazy(_ZIP_MESSAGES.get(code, _ZIP_MESSAGES["zip_invalid"]), limit=limit)
        super().__init__(message, code=code, **kwargs)


class ZipEntryRefused(ValidationFailed):
    """One entry is refused (raised by ``ZipEntry.read``); the others are unaffected."""

    default_code = "zip_entry_refused"


@dataclass
class ZipEntry:
    name: str  # decoded display path inside the ZIP, "/" separated
    status: str  # "ok" | "ignored" | "refused"
    code: str = ""
    message: Any = ""
    size: int = 0  # as declared by the header: a claim, not a fact
    compressed_size: int = 0
    _zf: zipfile.ZipFile | None = field(default=None, repr=False, compare=False)
    _info: zipfile.ZipInfo | None = field(default=None, repr=False, compare=False)
    _limits: ZipLimits = field(default=DEFAULT_LIMITS, repr=False, compare=False)

    @property
    def base_name(self) -> str:
        return self.name.rstrip("/").rsplit("/", 1)[-1]

    def read(self) -> bytes:
        """The entry's bytes, at most ``max_entry_bytes``; refuses (and marks) otherwise."""
        if self.status != "ok" or self._zf is None or self._info is None:
            raise ZipEntryRefused(self.message or _("该文件未被接受，无法读取"), code=self.code or "zip_entry_refused")
        limit = self._limits.max_entry_bytes
        try:
            with self._zf.open(self._info) as stream:
                data = stream.read(limit + 1)
                if len(data) <= limit:
                    stream.read(1)  # reach the end so that the CRC is verified
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError, NotImplementedError):
            self._refuse("zip_entry_corrupt", _("压缩包中的该文件已损坏（校验失败），请重新压缩后上传"))
        if len(data) > limit:
            self._refuse("zip_entry_too_large", _entry_too_large_message(limit))
        return data

    def _refuse(self, code: str, message: Any) -> NoReturn:
        self.status, self.code, self.message = "refused", code, message
        raise ZipEntryRefused(message, code=code)


def iter_zip_entries(fileobj: IO[bytes], limits: ZipLimits = DEFAULT_LIMITS) -> Iterator[ZipEntry]:
    """Open a ZIP (seekable binary file) and yield one ``ZipEntry`` per entry, in order.

    Whole-archive refusals are raised here, at call time, before any entry is yielded.
    The caller keeps ``fileobj`` open while it still reads entries.
    """
    _precheck_end_record(fileobj, limits)
    try:
        zf = zipfile.ZipFile(fileobj)
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error, NotImplementedError):
        raise ZipRefused(code="zip_invalid") from None
    if len(infos) > limits.max_entries:
        raise ZipRefused(code="zip_too_many_entries", limit=limits.max_entries)
    if sum(info.file_size for info in infos) > limits.max_total_bytes:
        raise ZipRefused(code="zip_too_large", limit=_human_bytes(limits.max_total_bytes))
    return (_classify(zf, info, limits) for info in infos)


def zip_entries_at(fileobj: IO[bytes], indexes, limits: ZipLimits = DEFAULT_LIMITS) -> Iterator[tuple[int, ZipEntry]]:
    """Like ``iter_zip_entries`` (same whole-archive refusals), but classifies only the
    entries at ``indexes`` (positions in the central directory), in that order."""
    _precheck_end_record(fileobj, limits)
    try:
        zf = zipfile.ZipFile(fileobj)
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error, NotImplementedError):
        raise ZipRefused(code="zip_invalid") from None
    if len(infos) > limits.max_entries:
        raise ZipRefused(code="zip_too_many_entries", limit=limits.max_entries)
    return ((i, _classify(zf, infos[i], limits)) for i in sorted(indexes) if 0 <= i < len(infos))


def decode_entry_name(info: zipfile.ZipInfo) -> str:
    """The name as the person who zipped it saw it, with "/" separators."""
    if info.flag_bits & _UTF8_FLAG:
        name = info.orig_filename
    else:
        try:
            raw = info.orig_filename.encode("cp437")
        except UnicodeEncodeError:  # zipfile was told another metadata encoding
            name = info.orig_filename
        else:
            name = _unicode_path_extra(info.extra, raw) or _decode_legacy(raw)
    return name.replace("\\", "/")


def _decode_legacy(raw: bytes) -> str:
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("cp437")


def _unicode_path_extra(extra: bytes, raw: bytes) -> str | None:
    """Info-ZIP Unicode Path field 0x7075: version 1, CRC-32 of the raw name, UTF-8 name."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + size]
        pos += 4 + size
        if tag == 0x7075 and len(body) >= 5 and body[0] == 1:
            if struct.unpack_from("<I", body, 1)[0] == zlib.crc32(raw):
                try:
                    return body[5:].decode("utf-8")
                except UnicodeDecodeError:
                    return None
    return None


def _classify(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ZipLimits) -> ZipEntry:
    name = decode_entry_name(info)
    entry = ZipEntry(name=name, status="ok", size=info.file_size, compressed_size=info.compress_size)
    parts = [p for p in name.split("/") if p]

    def mark(status: str, code: str, message: Any) -> ZipEntry:
        entry.status, entry.code, entry.message = status, code, message
        return entry

    is_symlink = stat.S_ISLNK(info.external_attr >> 16)
    if name.startswith("/") or _DRIVE.match(name) or ".." in parts or is_symlink:
        return mark("refused", "zip_unsafe_path", _("文件路径不安全（含“..”、绝对路径或链接），已拒绝"))
    if info.is_dir() or name.endswith("/"):
        return mark("ignored", "zip_directory", _("文件夹，已忽略"))
    base = parts[-1] if parts else ""
    if "__MACOSX" in parts or base.startswith("._") or base.lower() in _IGNORED_BASENAMES:
        return mark("ignored", "zip_system_file", _("系统生成的附属文件（如__MACOSX、Thumbs.db），已忽略"))
    if info.flag_bits & _ENCRYPTED_FLAG:
        return mark("refused", "zip_encrypted", _("文件已加密，请去掉压缩包密码后重新上传"))
    if info.compress_type not in _READABLE_METHODS:
        return mark("refused", "zip_unsupported_method", _("文件的压缩方式不受支持，请使用标准ZIP（Deflate）格式重新压缩"))
    if info.file_size > limits.ratio_applies_above and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        return mark(
            "refused",
            "zip_ratio",
            format_lazy(_("文件压缩比异常（超过{ratio}:1），疑似压缩炸弹，已拒绝"), ratio=limits.max_ratio),
        )
    if info.file_size > limits.max_entry_bytes:
        return mark("refused", "zip_entry_too_large", _entry_too_large_message(limits.max_entry_bytes))
    entry._zf, entry._info, entry._limits = zf, info, limits
    return entry


def _precheck_end_record(fileobj: IO[bytes], limits: ZipLimits) -> None:
    """Refuse from the end-of-central-directory record, before ``zipfile`` parses entries."""
    try:
        fileobj.seek(0, 2)
        size = fileobj.tell()
        tail_len = min(size, 22 + 0xFFFF)
        fileobj.seek(size - tail_len)
        tail = fileobj.read(tail_len)
    except (OSError, ValueError):
        raise ZipRefused(code="zip_invalid") from None
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or len(tail) - pos < 22:
        raise ZipRefused(code="zip_invalid")
    count, cd_size = struct.unpack_from("<HI", tail, pos + 10)
    if count == 0xFFFF or cd_size == 0xFFFFFFFF:
        zip64 = _zip64_counts(fileobj, tail, pos)
        if zip64 is None:
            return  # unusual ZIP64 layout: zipfile parses it, the count is checked after
        count, cd_size = zip64
    if count > limits.max_entries:
        raise ZipRefused(code="zip_too_many_entries", limit=limits.max_entries)
    if cd_size > limits.max_entries * limits.max_central_directory_bytes_per_entry:
        raise ZipRefused(code="zip_too_many_entries", limit=limits.max_entries)


def _zip64_counts(fileobj: IO[bytes], tail: bytes, pos: int) -> tuple[int, int] | None:
    """Entry count and central-directory size from the ZIP64 end record its locator names."""
    loc = pos - 20
    if loc < 0 or tail[loc : loc + 4] != b"PK\x06\x07":
        return None
    (offset,) = struct.unpack_from("<Q", tail, loc + 8)
    try:
        fileobj.seek(offset)
        record = fileobj.read(56)
    except (OSError, ValueError, OverflowError):
        return None
    if len(record) < 56 or record[:4] != b"PK\x06\x06":
        return None
    count, cd_size = struct.unpack_from("<QQ", record, 32)
    return count, cd_size


def _entry_too_large_message(limit: int) -> Any:
    return format_lazy(_("文件解压后超过{limit}，已拒绝"), limit=_human_bytes(limit))


def _human_bytes(n: int) -> str:
    if n >= 1024**3:
        return f"{n / 1024**3:g}GB"
    if n >= 1024**2:
        return f"{n / 1024**2:g}MB"
    return f"{n / 1024:g}KB"


# ---------------------------------------------------------------------------- names


@dataclass(frozen=True)
class PhotoKey:
    kind: str  # "id" | "no_id"
    id_number: str | None = None
    school_code: str | None = None
    class_no: str | None = None
    name: str | None = None


class PhotoNameRefused(ValidationFailed):
    default_code = "photo_name_invalid"


_PHOTO_EXTENSIONS = (".jpg", ".jpeg")
_ID_LIKE = re.compile(r"[0-9]{14,18}X?", re.ASCII)
_NO_ID = re.compile(r"([0-9]{10})_([^_]+)_([^_]+)", re.ASCII)


def parse_photo_name(name: str) -> PhotoKey:
    """Who a photo belongs to, from its file name (folders are ignored).

    ``<ID number>.jpg`` (x -> X, GB 11643 check) or ``<学校标识码>_<班号>_<姓名>.jpg``;
    the extension may be .jpg or .jpeg in any case. Raises ``PhotoNameRefused``.
    """
    base = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].strip()
    stem, dot, ext = base.rpartition(".")
    if not dot or f".{ext.lower()}" not in _PHOTO_EXTENSIONS:
        raise PhotoNameRefused(
            format_lazy(_("文件“{name}”不是JPG照片（扩展名须为.jpg或.jpeg）"), name=base), code="photo_name_extension"
        )
    stem = stem.strip()
    if _ID_LIKE.fullmatch(normalize_id_number(stem)):
        return PhotoKey(kind="id", id_number=_checked_id_number(stem, base))
    match = _NO_ID.fullmatch(stem)
    if match and match.group(2).strip() and match.group(3).strip():
        return PhotoKey(
            kind="no_id", school_code=match.group(1), class_no=match.group(2).strip(), name=match.group(3).strip()
        )
    raise PhotoNameRefused(
        format_lazy(
            _("文件名“{name}”不符合命名规则：须为“身份证号.jpg”，无身份证号的学生为“学校标识码_班号_姓名.jpg”"), name=base
        ),
        code="photo_name_invalid",
    )


def _checked_id_number(stem: str, base: str) -> str:
    try:
        number = validate_resident_id(stem).number
    except ValidationFailed as exc:
        raise PhotoNameRefused(
            format_lazy(_("文件名“{name}”中的身份证号无效：{reason}"), name=base, reason=exc.message),
            code="photo_name_id_invalid",
            details={"id_code": exc.code},
        ) from None
    return number
