"""Pupil photos (学生照片): single upload and bulk ZIP import (照片批量导入).

Services (keyword-only, acting user first) hold every rule; views, the API, the Celery
tasks and the ``import_photos`` command only call them.

- ``photo_upload`` judges one file (``schools.photo_rules``) and stores it only when it
  passes. The stored name is derived from the pupil, never from user input:
  ``photos/<county>/<national number>/<sha256[:12]>.jpg``. A new photo replaces
  ``Pupil.photo``; the old file stays in storage and the change is in the pupil's audit
  (pghistory) and history in words (``record_event``).
- A bulk import runs in three steps: ``photo_bulk_start`` (request: checks the upload and
  the archive's directory, stores the ZIP, queues the job), ``photo_import_plan`` (one
  task: a row per entry, names parsed and matched to pupils *of the uploading school
  only*, the same pupil twice refuses both entries), then ``photo_import_chunk`` for slices
  of the matched entries in parallel (judge, store, attach), and ``photo_import_finish``
  claimed by whichever chunk ends last.
- Rerunning a ZIP is harmless: a photo whose content hash equals the pupil's current
  photo is accepted as "unchanged" without a new version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.audit import acting_as
from accounts.models import Membership
from accounts.permissions import require_role
from accounts.scope import get_in_scope, restrict
from kernel.errors import BusinessRefused, NotFound, ValidationFailed
from provinces.models import ProvincePolicy
from registry.history import history_entry, record_event
from registry.models import ACTIVE_STATUSES, HistoryEntry, Pupil
from registry.services import school_for_write
from schools.models import PhotoImport, PhotoImportEntry, School
from schools.photo_rules import (  # noqa: F401 - re-exported for views
    PhotoPolicy,
    PhotoVerdict,
    can_normalize,
    check_photo,
    normalize_photo,
    sniff_format,
)
from schools.photo_zip import (
    PhotoNameRefused,
    ZipEntryRefused,
    iter_zip_entries,
    parse_photo_name,
    zip_entries_at,
)

log = logging.getLogger(__name__)

#: Matched entries per chunk task: big enough that reopening the ZIP is noise, small
#: enough that progress moves and two workers share the work.
CHUNK_SIZE = 200
WRITE_ROLES = (Membership.Role.OPERATOR, Membership.Role.ADMIN)
Status = PhotoImportEntry.Status

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
            _join(p.message for p in verdict.problems),
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


def _photo_event(job: PhotoImport, row: PhotoImportEntry, old: str, digest: str, user) -> HistoryEntry:
    """The history entry ``_attach`` writes via ``record_event``, built for a bulk insert."""
    return history_entry(
        pupil_id=row.pupil_id,
        kind="photo_changed",
        summary=_text(_("更换学生照片") if old else _("上传学生照片")),
        data={"old": old, "new": row.photo, "sha256": digest, "via": "bulk", "entry": row.entry, "job": job.pk},
        school_id=job.school_id,
        user=user,
    )


def _update_values(model, columns: tuple[str, ...], values: list[tuple], *, extra: str = "",
                   casts: dict[str, str] | None = None) -> None:
    """``UPDATE … FROM (VALUES …)`` keyed on the first column, through Django's cursor so
    that pghistory attaches the audit context to the row triggers."""
    if not values:
        return
    casts = casts or {}
    table = connection.ops.quote_name(model._meta.db_table)
    row_sql = "(" + ", ".join("%s::bigint" if i == 0 else "%s" for i in range(len(columns))) + ")"
    sets = [f"{c} = v.{c}" + (f"::{casts[c]}" if c in casts else "") for c in columns[1:]]
    if extra:
        sets.append(extra)
    sql = (
        f"UPDATE {table} AS t SET {', '.join(sets)} "
        f"FROM (VALUES {', '.join([row_sql] * len(values))}) AS v({', '.join(columns)}) WHERE t.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [item for row in values for item in row])


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
    from registry.selectors import pupil_get

    pupil = pupil_get(user, national_number)
    if not pupil.photo:
        raise NotFound(_("该学生尚无照片"), code="photo_missing")
    return pupil


def photo_open(pupil: Pupil) -> IO[bytes]:
    """The stored photo file of a pupil the caller already fetched through the scope."""
    return default_storage.open(pupil.photo.name, "rb")


# ---------------------------------------------------------------------------- bulk: start


def photo_bulk_start(*, user, school: School, upload, file_name: str = "", enqueue: bool = True) -> PhotoImport:
    """Accept a photo ZIP for one school and queue its import (照片批量导入).

    Refused at once: a role that may not write, a school out of scope, an upload over
    ``UPLOAD_MAX_BYTES``, and anything whose bytes are not a ZIP within the entry-count
    and size limits. The ZIP is stored under a generated name, never the uploaded one.
    """
    require_role(user, *WRITE_ROLES)
    school = school_for_write(user=user, school_code=school.code)
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, 2)
        size = upload.tell()
    if size > settings.UPLOAD_MAX_BYTES:
        raise ValidationFailed(
            format_lazy(_("上传文件为{size}MB，超过上限{limit}MB，请按班级或年级分包后上传"),
                        size=f"{size / 1024 / 1024:.1f}", limit=f"{settings.UPLOAD_MAX_BYTES / 1024 / 1024:g}"),
            code="upload_too_large",
            field="file",
        )
    upload.seek(0)
    total = sum(1 for _entry in iter_zip_entries(upload))  # ZipRefused says what is wrong
    upload.seek(0)
    name = default_storage.save(f"photo_imports/{school.code}/{uuid.uuid4().hex}.zip", upload)
    with transaction.atomic(), acting_as(user, action="photo_bulk_start"):
        job = PhotoImport.objects.create(
            school=school,
            created_by=user,
            file_name=(file_name or getattr(upload, "name", "") or "")[:255],
            archive=name,
            archive_bytes=size,
            total=total,
        )
        if enqueue:
            from schools.photo_tasks import photo_import_run

            transaction.on_commit(lambda: photo_import_run.delay(job.pk))
    log.info("photo import %s queued by %s for %s: %s entries", job.pk, user, school.code, total)
    return job


def photo_import_get(*, user, job_id: int) -> PhotoImport:
    return get_in_scope(PhotoImport.objects.select_related("school", "created_by"), user, pk=job_id)


def photo_imports_of(*, user, school: School | None = None) -> QuerySet[PhotoImport]:
    jobs = restrict(PhotoImport.objects.select_related("school", "created_by"), user)
    return jobs.filter(school=school) if school is not None else jobs


def photo_import_entries(*, user, job: PhotoImport, status: str = "") -> QuerySet[PhotoImportEntry]:
    entries = restrict(PhotoImportEntry.objects.filter(job=job), user)
    return entries.filter(status=status) if status else entries


# ---------------------------------------------------------------------------- bulk: plan


def photo_import_plan(*, job: PhotoImport, chunk_size: int = CHUNK_SIZE) -> list[list[int]]:
    """Claim a queued job, write one row per entry, match names to pupils of the school.

    Returns the ids of the matched entries in chunks, for the parallel chunk tasks.
    A job that is no longer queued (a redelivered task) returns no chunks.
    """
    with transaction.atomic():
        if not PhotoImport.objects.filter(pk=job.pk, state=PhotoImport.State.QUEUED).update(
            state=PhotoImport.State.RUNNING
        ):
            return []
        job.refresh_from_db()
        try:
            with default_storage.open(job.archive.name, "rb") as fileobj:
                rows = [_plan_row(job, index, entry) for index, entry in enumerate(iter_zip_entries(fileobj))]
        except ValidationFailed as exc:
            _fail(job, exc.code, exc.message)
            return []
        except OSError:
            _fail(job, "photo_import_archive_missing", _("压缩包文件已无法读取，请重新上传"))
            return []
        _match_pupils(job, rows)
        PhotoImportEntry.objects.bulk_create(rows, batch_size=2000)
        decided = [r for r in rows if r.status != Status.PENDING]
        PhotoImport.objects.filter(pk=job.pk).update(
            total=len(rows),
            processed=len(decided),
            refused=sum(1 for r in decided if r.status == Status.REFUSED),
            ignored=sum(1 for r in decided if r.status == Status.IGNORED),
        )
        pending = [r.pk for r in rows if r.status == Status.PENDING]
    chunk_size = max(1, chunk_size)
    chunks = [pending[i : i + chunk_size] for i in range(0, len(pending), chunk_size)]
    log.info("photo import %s planned: %s entries, %s chunks", job.pk, len(rows), len(chunks))
    return chunks


def _plan_row(job: PhotoImport, index: int, zentry) -> PhotoImportEntry:
    row = PhotoImportEntry(job=job, index=index, entry=zentry.name[:500])
    if zentry.status != "ok":
        row.status = Status.IGNORED if zentry.status == "ignored" else Status.REFUSED
        row.code, row.message = zentry.code, _text(zentry.message)
        return row
    try:
        row.key = parse_photo_name(zentry.name)
    except PhotoNameRefused as exc:
        row.status, row.code, row.message = Status.REFUSED, exc.code, _text(exc.message)
    return row


def _match_pupils(job: PhotoImport, rows: list[PhotoImportEntry]) -> None:
    """Each parsed name → one pupil of the uploading school, through the uploader's scope."""
    school = job.school
    pupils = restrict(Pupil.objects.filter(school=school, status__in=ACTIVE_STATUSES), job.created_by)
    keyed = [r for r in rows if r.status == Status.PENDING]
    ids = {r.key.id_number for r in keyed if r.key.kind == "id"}
    by_id = {p.id_number: p for p in pupils.filter(id_number__in=ids)} if ids else {}
    names = {r.key.name for r in keyed if r.key.kind == "no_id"}
    by_class_name: dict[tuple[int, str], list[Pupil]] = defaultdict(list)
    if names:
        for p in pupils.filter(id_number="", name__in=names).select_related("school_class"):
            if p.school_class_id:
                by_class_name[(p.school_class.number, p.name)].append(p)

    for row in keyed:
        key = row.key
        if key.kind == "id":
            pupil = by_id.get(key.id_number)
            if pupil is None:
                _refuse(row, "photo_pupil_not_found", format_lazy(
                    _("本校（{school}）没有身份证号为{id}的在籍学生，请核对文件名"), school=school.name, id=key.id_number))
                continue
        else:
            if key.school_code != school.code:
                _refuse(row, "photo_other_school", format_lazy(
                    _("文件名中的学校标识码{code}不是本校（{school}，{own}）的，只能导入本校学生的照片"),
                    code=key.school_code, school=school.name, own=school.code))
                continue
            found = by_class_name.get((int(key.class_no), key.name), []) if key.class_no.isdigit() else []
            if not found:
                _refuse(row, "photo_pupil_not_found", format_lazy(
                    _("本校{cls}班没有名为“{name}”且无身份证号的在籍学生，请核对文件名"), cls=key.class_no, name=key.name))
                continue
            if len(found) > 1:
                _refuse(row, "photo_pupil_ambiguous", format_lazy(
                    _("本校有{n}名{cls}班、名为“{name}”的无身份证号学生（不同年级），无法确定是哪一名，请在学生页面单独上传"),
                    n=len(found), cls=key.class_no, name=key.name))
                continue
            pupil = found[0]
        row.pupil, row.national_number, row.pupil_name = pupil, pupil.national_number, pupil.name

    by_pupil: dict[int, list[PhotoImportEntry]] = defaultdict(list)
    for row in keyed:
        if row.status == Status.PENDING:
            by_pupil[row.pupil.pk].append(row)
    for group in by_pupil.values():
        if len(group) > 1:
            names_list = "、".join(r.entry for r in group)
            for row in group:
                _refuse(row, "photo_duplicate_pupil", format_lazy(
                    _("同一学生（{name}）在压缩包中有{n}张照片：{entries}，均未接收，请只保留一张后重新上传"),
                    name=row.pupil_name, n=len(group), entries=names_list))


def _refuse(row: PhotoImportEntry, code: str, message: Any) -> None:
    row.status, row.code, row.message = Status.REFUSED, code, _text(message)


def _fail(job: PhotoImport, code: str, message: Any) -> None:
    PhotoImport.objects.filter(pk=job.pk).update(
        state=PhotoImport.State.FAILED, error_code=code, error_message=_text(message)[:300], finished_at=timezone.now()
    )
    log.warning("photo import %s failed: %s", job.pk, code)


# ---------------------------------------------------------------------------- bulk: chunks


def photo_import_chunk(*, job: PhotoImport, entry_ids: list[int]) -> bool:
    """Judge, store and attach one slice of matched entries; True when this chunk finished the job.

    Entries already decided (a redelivered task) are skipped, so a rerun changes nothing.
    Files are written before the transaction (content-addressed, so a rollback leaves at
    most an unused file); pupils, history, entry rows and counters commit together.
    """
    user = job.created_by
    rows = list(
        PhotoImportEntry.objects.filter(job=job, pk__in=entry_ids, status=Status.PENDING)
        .select_related("pupil")
        .order_by("index")
    )
    if rows:
        policy = photo_policy_for(job.school)
        wanted = {row.index: row for row in rows}
        digests: dict[int, str] = {}
        with default_storage.open(job.archive.name, "rb") as fileobj:
            for index, zentry in zip_entries_at(fileobj, wanted):
                row = wanted[index]
                if zentry.name[:500] != row.entry:
                    continue  # not the archive that was planned: left pending, refused below
                if digest := _judge_and_store(row, zentry, policy):
                    digests[row.pk] = digest
        with transaction.atomic(), acting_as(user, action="photo_import", job=job.pk):
            _commit_chunk(job, rows, digests, user)
    return photo_import_finish(job=job)


def _judge_and_store(row: PhotoImportEntry, zentry, policy: PhotoPolicy) -> str | None:
    """Set the row's verdict; store an accepted file. Returns its digest when it is to be attached."""
    try:
        data = zentry.read()
    except ZipEntryRefused as exc:
        _refuse(row, exc.code, exc.message)
        return None
    verdict = check_photo(data, policy)
    row.warnings = [{"code": p.code, "message": str(p.message)} for p in verdict.warnings]
    if not verdict.ok:
        _refuse(row, verdict.problems[0].code, _join(p.message for p in verdict.problems))
        row.normalizable = can_normalize(verdict)
        return None
    digest = hashlib.sha256(data).hexdigest()
    row.status = Status.ACCEPTED
    if _same_photo(row.pupil, digest):
        row.code, row.message, row.photo = "photo_unchanged", _text(_("与该学生现有照片相同，无需重复保存")), row.pupil.photo.name
        return None
    row.photo = _save_file(photo_storage_name(row.pupil, digest), data)
    row.code, row.message = "photo_accepted", _text(_("已接收"))
    return digest


def _commit_chunk(job: PhotoImport, rows: list[PhotoImportEntry], digests: dict[int, str], user) -> None:
    """One statement per table for the whole chunk (the audit triggers still fire per row)."""
    attach = [row for row in rows if row.pk in digests]
    locked = {
        p.pk: p
        for p in Pupil.objects.select_for_update().filter(pk__in=[r.pupil_id for r in attach]).only("pk", "photo")
    }
    changes: list[tuple[PhotoImportEntry, str]] = []  # (entry, old photo name)
    for row in attach:
        pupil = locked[row.pupil_id]
        if _same_photo(pupil, digests[row.pk]):
            row.code, row.message = "photo_unchanged", _text(_("与该学生现有照片相同，无需重复保存"))
        else:
            changes.append((row, pupil.photo.name if pupil.photo else ""))
    if changes:
        _update_values(Pupil, ("id", "photo"), [(row.pupil_id, row.photo) for row, _old in changes],
                       extra="updated_at = now()")
        HistoryEntry.objects.bulk_create([_photo_event(job, row, old, digests[row.pk], user) for row, old in changes])
    for row in rows:
        if row.status == Status.PENDING:  # the entry vanished from the archive
            _refuse(row, "zip_entry_missing", _("压缩包中找不到该文件，请重新上传"))
        if row.warnings and row.status == Status.ACCEPTED:
            row.message = f"{row.message}（{_text(_('提示'))}：{'；'.join(w['message'] for w in row.warnings)}）"
        row.message = row.message[:500]
    _update_values(
        PhotoImportEntry,
        ("id", "status", "code", "message", "photo", "warnings", "normalizable"),
        [(r.pk, r.status, r.code, r.message, r.photo, json.dumps(r.warnings, ensure_ascii=False), r.normalizable)
         for r in rows],
        casts={"warnings": "jsonb", "normalizable": "boolean"},
    )
    counts = defaultdict(int)
    for row in rows:
        counts[row.status] += 1
    PhotoImport.objects.filter(pk=job.pk).update(
        processed=F("processed") + len(rows),
        accepted=F("accepted") + counts[Status.ACCEPTED],
        unchanged=F("unchanged") + sum(1 for r in rows if r.code == "photo_unchanged"),
        refused=F("refused") + counts[Status.REFUSED],
    )


def photo_import_finish(*, job: PhotoImport) -> bool:
    """Close the job when no entry is pending; exactly one caller wins (conditional update)."""
    if PhotoImportEntry.objects.filter(job=job, status=Status.PENDING).exists():
        return False
    with transaction.atomic(), acting_as(job.created_by, action="photo_import_finish", job=job.pk):
        won = PhotoImport.objects.filter(pk=job.pk, state=PhotoImport.State.RUNNING).update(
            state=PhotoImport.State.DONE, finished_at=timezone.now()
        )
    if won:
        log.info("photo import %s done", job.pk)
    return bool(won)


def photo_import_run_inline(*, job: PhotoImport) -> PhotoImport:
    """The whole job in this process (the ``import_photos`` command, tests)."""
    with acting_as(job.created_by, action="photo_import", job=job.pk):
        for ids in photo_import_plan(job=job):
            photo_import_chunk(job=job, entry_ids=ids)
        photo_import_finish(job=job)
    job.refresh_from_db()
    return job


# ---------------------------------------------------------------------------- normalise an entry


def photo_entry_preview_normalized(*, user, entry: PhotoImportEntry) -> bytes:
    """自动规范化 of a refused entry, shown before anything is stored."""
    require_role(user, *WRITE_ROLES)
    entry = _normalizable_entry(user, entry)
    return normalize_photo(_entry_bytes(entry), photo_policy_for(entry.job.school))


def photo_entry_normalize(*, user, entry: PhotoImportEntry) -> PhotoImportEntry:
    """Store the normalised photo of a refused entry (after the user saw it) and count it accepted."""
    require_role(user, *WRITE_ROLES)
    entry = _normalizable_entry(user, entry)
    data = normalize_photo(_entry_bytes(entry), photo_policy_for(entry.job.school))
    pupil = entry.pupil
    result = photo_upload(user=user, pupil=pupil, data=data, normalized=True)
    with transaction.atomic(), acting_as(user, action="photo_entry_normalize", job=entry.job_id):
        claimed = PhotoImportEntry.objects.filter(pk=entry.pk, status=Status.REFUSED).update(
            status=Status.ACCEPTED, code="photo_normalized", photo=result.name, normalizable=False,
            message=_text(_("已自动规范化后接收")),
        )
        if claimed:
            PhotoImport.objects.filter(pk=entry.job_id).update(
                accepted=F("accepted") + 1, refused=F("refused") - 1
            )
    entry.refresh_from_db()
    return entry


def _normalizable_entry(user, entry: PhotoImportEntry) -> PhotoImportEntry:
    entry = get_in_scope(PhotoImportEntry.objects.select_related("job__school", "pupil"), user, pk=entry.pk)
    if entry.status != Status.REFUSED or not entry.normalizable or entry.pupil is None:
        raise BusinessRefused(_("该文件不能自动规范化：只有仅因文件大小未通过的照片可以自动规范化"),
                              code="photo_not_normalizable")
    return entry


def _entry_bytes(entry: PhotoImportEntry) -> bytes:
    with default_storage.open(entry.job.archive.name, "rb") as fileobj:
        for _index, zentry in zip_entries_at(fileobj, [entry.index]):
            if zentry.name[:500] == entry.entry:
                return zentry.read()
    raise NotFound(_("压缩包中找不到该文件"), code="zip_entry_missing")


# ---------------------------------------------------------------------------- report


REPORT_COLUMNS = ("entry", "status", "code", "message", "national_number", "name")


def photo_import_report(*, user, job: PhotoImport) -> list[dict[str, str]]:
    """One row per entry, in ZIP order: entry, status, code, message (+ pupil when matched)."""
    entries = photo_import_entries(user=user, job=job).order_by("index")
    return [
        {"entry": e.entry, "status": e.status, "code": e.code, "message": e.message,
         "national_number": e.national_number, "name": e.pupil_name}
        for e in entries.iterator(chunk_size=2000)
    ]


def _text(message: Any) -> str:
    return str(message)


def _join(messages) -> str:
    return "；".join(str(m) for m in messages)




def read_capped(upload, limit: int | None = None) -> bytes:
    """At most ``limit + 1`` bytes of an uploaded file: enough for ``check_photo`` to refuse."""
    limit = limit or PhotoPolicy().max_upload_bytes
    upload.seek(0)
    return upload.read(limit + 1)


_REPORT_HEADERS = (_("文件"), _("结果"), _("状态"), _("代码"), _("说明"), _("全国学籍号"), _("姓名"))


def _report_lines(rows: list[dict[str, str]]):
    labels = dict(PhotoImportEntry.Status.choices)
    yield [str(h) for h in _REPORT_HEADERS]
    for r in rows:
        yield [r["entry"], str(labels.get(r["status"], r["status"])), r["status"], r["code"], r["message"],
               r["national_number"], r["name"]]


def report_as_csv(rows: list[dict[str, str]]) -> bytes:
    """UTF-8 with BOM so that Excel on Chinese Windows opens it correctly."""
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    for line in _report_lines(rows):
        writer.writerow([_csv_safe(v) for v in line])
    return buf.getvalue().encode("utf-8-sig")


def report_as_xlsx(rows: list[dict[str, str]]) -> bytes:
    import io

    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(str(_("照片导入结果")))
    for line in _report_lines(rows):
        ws.append([_csv_safe(v) for v in line])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _csv_safe(value: str) -> str:
    """Entry names come from the ZIP: never let a spreadsheet run them as formulas."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
