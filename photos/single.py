"""One pupil photo (学生照片): judged by ``photos.rules`` and stored only when it passes.

The stored name is derived from the pupil, never from user input:
``photos/<county>/<national number>/<sha256[:12]>.jpg``. A new photo replaces
``Pupil.photo``; the old file stays in storage and the change is in the pupil's audit
(pghistory) and history in words.
"""


from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.audit import acting_as
from accounts.models import Membership
from accounts.permissions import require_role
from accounts.scope import get_in_scope
from kernel.errors import BusinessRefused, NotFound, ValidationFailed
from photos.rules import (
    PhotoPolicy,
    PhotoVerdict,
    can_normalize,
    check_photo,
    normalize_photo,
)
from provinces.models import ProvincePolicy
from registry.history import record_event
from registry.models import ACTIVE_STATUSES, Pupil
from registry.selectors import pupil_get
from schools.models import School

log = logging.getLogger(__name__)

WRITE_ROLES = (Membership.Role.OPERATOR, Membership.Role.ADMIN)

# Rules shown one by one on the single-upload page, with the codes that break each.
RULES: tuple[tuple[str, Any, frozenset[str]], ...] = (
    ("format", _("JPG格式（按文件内容判断）"), frozenset({"photo_not_jpeg", "photo_upload_too_large"})),
    ("readable", _("文件完整、可读取"), frozenset({"photo_corrupt", "photo_bomb"})),
    ("colour", _("彩色照片（非黑白、非CMYK）"), frozenset({"photo_grayscale", "photo_cmyk"})),
    ("pixels", _("像素不小于最低要求"), frozenset({"photo_too_small"})),
    ("shape", _("竖版，宽高比26:32"), frozenset({"photo_not_portrait", "photo_aspect"})),
    ("bytes", _("文件大小低于上限"), frozenset({"photo_too_large"})),
    ("background", _("淡蓝色背景"), frozenset({"photo_background"})),
)


class PhotoRefused(ValidationFailed):
    """A photo breaks one or more rules; ``verdict`` says which (all of them at once)."""

    default_code = "photo_refused"

    def __init__(self, verdict: PhotoVerdict) -> None:
        first = verdict.problems[0]
        super().__init__(
            join_messages(p.message for p in verdict.problems),
            code=first.code,
            field="photo",
            details={
                "problems": [{"code": p.code, "message": str(p.message)} for p in verdict.problems],
                "warnings": [{"code": p.code, "message": str(p.message)} for p in verdict.warnings],
                "normalizable": can_normalize(verdict),
            },
        )
        self.verdict = verdict


@dataclass
class PhotoResult:
    pupil: Pupil
    verdict: PhotoVerdict
    name: str
    unchanged: bool = False
    rules: list[dict] = field(default_factory=list)


# ---------------------------------------------------------------------------- policy and names


def photo_policy_for(school: School) -> PhotoPolicy:
    """The photo rules of the school's province (``ProvincePolicy`` photo fields)."""
    policy = ProvincePolicy.for_province(school.county_id)
    return PhotoPolicy(
        max_bytes=policy.photo_max_bytes,
        min_width_px=policy.photo_min_width,
        min_height_px=policy.photo_min_height,
        aspect_tolerance=policy.photo_aspect_tolerance,
        background_refuses=policy.photo_background_refuses,
    )


def photo_storage_name(pupil: Pupil, digest: str) -> str:
    """Where a pupil's photo lives: derived from the record and the content, never from input."""
    return f"photos/{pupil.county_code}/{pupil.national_number}/{digest[:12]}.jpg"


def _same_photo(pupil: Pupil, digest: str) -> bool:
    return bool(pupil.photo) and os.path.basename(pupil.photo.name).startswith(digest[:12])


def _save_file(name: str, data: bytes) -> str:
    """Content-addressed: an existing file under the name has the same bytes."""
    if default_storage.exists(name):
        return name
    return default_storage.save(name, ContentFile(data))


def rules_report(verdict: PhotoVerdict) -> list[dict]:
    """The verdict per rule for the upload page: ok / refused / warning, with the messages."""
    rows = []
    for key, label, codes in RULES:
        refused = [str(p.message) for p in verdict.problems if p.code in codes]
        warned = [str(p.message) for p in verdict.warnings if p.code in codes]
        state = "refused" if refused else "warning" if warned else "ok"
        rows.append({"key": key, "label": label, "state": state, "messages": refused or warned})
    return rows


# ---------------------------------------------------------------------------- single upload


def photo_upload(*, user, pupil: Pupil, data: bytes, normalized: bool = False) -> PhotoResult:
    """Judge one photo and, when it passes, make it the pupil's photo (单张上传).

    Refuses with ``PhotoRefused`` (every broken rule at once); a photo identical to the
    current one is accepted as unchanged without a new version.
    """
    require_role(user, *WRITE_ROLES)
    pupil = get_in_scope(Pupil.objects.select_related("school"), user, pk=pupil.pk)
    _require_active(pupil)
    verdict = check_photo(data, photo_policy_for(pupil.school))
    if not verdict.ok:
        log.info("photo refused for %s by %s: %s", pupil.national_number, user, verdict.codes)
        raise PhotoRefused(verdict)
    digest = hashlib.sha256(data).hexdigest()
    name = photo_storage_name(pupil, digest)
    if _same_photo(pupil, digest):
        return PhotoResult(pupil=pupil, verdict=verdict, name=pupil.photo.name, unchanged=True,
                           rules=rules_report(verdict))
    stored = _save_file(name, data)
    with transaction.atomic(), acting_as(user, action="photo_upload"):
        locked = Pupil.objects.select_for_update().get(pk=pupil.pk)
        unchanged = _same_photo(locked, digest)
        if not unchanged:
            _attach(locked, stored, digest, user=user, via="normalized" if normalized else "upload")
    log.info("photo stored for %s by %s: %s", pupil.national_number, user, stored)
    pupil.refresh_from_db()
    return PhotoResult(pupil=pupil, verdict=verdict, name=pupil.photo.name, unchanged=unchanged,
                       rules=rules_report(verdict))


def photo_preview_normalized(*, user, pupil: Pupil, data: bytes) -> bytes:
    """自动规范化 of an uploaded photo, for the user to look at before storing it."""
    require_role(user, *WRITE_ROLES)
    pupil = get_in_scope(Pupil.objects.select_related("school"), user, pk=pupil.pk)
    return normalize_photo(data, photo_policy_for(pupil.school))


def _require_active(pupil: Pupil) -> None:
    if pupil.status not in ACTIVE_STATUSES:
        raise BusinessRefused(
            format_lazy(_("学生{name}当前学籍状态为“{status}”，不能更换照片"),
                        name=pupil.name, status=pupil.get_status_display()),
            code="photo_pupil_inactive",
        )


def _attach(pupil: Pupil, name: str, digest: str, *, user, via: str, entry: str = "") -> None:
    """Point the (locked) pupil at a stored photo; the old file stays, history says so."""
    old = pupil.photo.name if pupil.photo else ""
    Pupil.objects.filter(pk=pupil.pk).update(photo=name, updated_at=timezone.now())
    summary = _("更换学生照片") if old else _("上传学生照片")
    record_event(
        pupil,
        kind="photo_changed",
        summary=summary,
        user=user,
        data={"old": old, "new": name, "sha256": digest, "via": via, "entry": entry},
    )


def pupil_photo_get(*, user, national_number: str) -> Pupil:
    """The pupil whose photo the user asks for; ``NotFound`` out of scope or without photo."""
    pupil = pupil_get(user, national_number)
    if not pupil.photo:
        raise NotFound(_("该学生尚无照片"), code="photo_missing")
    return pupil


def photo_open(pupil: Pupil) -> IO[bytes]:
    """The stored photo file of a pupil the caller already fetched through the scope."""
    return default_storage.open(pupil.photo.name, "rb")


def message_text(message: Any) -> str:
    return str(message)


def join_messages(messages) -> str:
    return "；".join(str(m) for m in messages)




def read_capped(upload, limit: int | None = None) -> bytes:
    """At most ``limit + 1`` bytes of an uploaded file: enough for ``check_photo`` to refuse."""
    limit = limit or PhotoPolicy().max_upload_bytes
    upload.seek(0)
    return upload.read(limit + 1)
