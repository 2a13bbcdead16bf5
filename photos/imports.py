"""Bulk photo import (照片批量导入): one ZIP per class, grade or school.

``photo_bulk_start`` (request: checks the upload and the archive's directory, stores the
ZIP, queues the job), ``photo_import_plan`` (one task: a row per entry, names parsed and
matched to pupils *of the uploading school only*, the same pupil twice refuses both
entries), then ``photo_import_chunk`` for slices of the matched entries in parallel
(judge, store, attach), and ``photo_import_finish`` claimed by whichever chunk ends last.
Rerunning a ZIP is harmless: a photo whose content hash equals the pupil's current photo
is accepted as "unchanged" without a new version.
"""


from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections import defaultdict
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.audit import acting_as
from accounts.permissions import require_role, school_for_write
from accounts.scope import get_in_scope, restrict
from kernel.errors import BusinessRefused, NotFound, ValidationFailed
from photos.archive import (
    PhotoNameRefused,
    ZipEntryRefused,
    iter_zip_entries,
    parse_photo_name,
    zip_entries_at,
)
from photos.models import PhotoImport, PhotoImportEntry
from photos.rules import (
    PhotoPolicy,
    can_normalize,
    check_photo,
    normalize_photo,
)
from photos.single import (
    WRITE_ROLES,
    _same_photo,
    _save_file,
    join_messages,
    message_text,
    photo_policy_for,
    photo_storage_name,
    photo_upload,
)
from registry.history import history_entry
from registry.models import ACTIVE_STATUSES, HistoryEntry, Pupil
from schools.models import School

log = logging.getLogger(__name__)

#: Matched entries per chunk task: big enough that reopening the ZIP is noise, small
#: enough that progress moves and two workers share the work.
CHUNK_SIZE = 200
Status = PhotoImportEntry.Status

def _photo_event(job: PhotoImport, row: PhotoImportEntry, old: str, digest: str, user) -> HistoryEntry:
    """The history entry ``_attach`` writes via ``record_event``, built for a bulk insert."""
    return history_entry(
        pupil_id=row.pupil_id,
        kind="photo_changed",
        summary=message_text(_("更换学生照片") if old else _("上传学生照片")),
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
            # Queued by name: photos.tasks calls this module.
            transaction.on_commit(lambda: current_app.signature("photos.import_run", args=(job.pk,)).delay())
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
        row.code, row.message = zentry.code, message_text(zentry.message)
        return row
    try:
        row.key = parse_photo_name(zentry.name)
    except PhotoNameRefused as exc:
        row.status, row.code, row.message = Status.REFUSED, exc.code, message_text(exc.message)
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
    row.status, row.code, row.message = Status.REFUSED, code, message_text(message)


def _fail(job: PhotoImport, code: str, message: Any) -> None:
    PhotoImport.objects.filter(pk=job.pk).update(
        state=PhotoImport.State.FAILED, error_code=code, error_message=message_text(message)[:300], finished_at=timezone.now()
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
        _refuse(row, verdict.problems[0].code, join_messages(p.message for p in verdict.problems))
        row.normalizable = can_normalize(verdict)
        return None
    digest = hashlib.sha256(data).hexdigest()
    row.status = Status.ACCEPTED
    if _same_photo(row.pupil, digest):
        row.code, row.message, row.photo = "photo_unchanged", message_text(_("与该学生现有照片相同，无需重复保存")), row.pupil.photo.name
        return None
    row.photo = _save_file(photo_storage_name(row.pupil, digest), data)
    row.code, row.message = "photo_accepted", message_text(_("已接收"))
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
            row.code, row.message = "photo_unchanged", message_text(_("与该学生现有照片相同，无需重复保存"))
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
            row.message = f"{row.message}（{message_text(_('提示'))}：{'；'.join(w['message'] for w in row.warnings)}）"
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
            message=message_text(_("已自动规范化后接收")),
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


