"""The import job: upload → dry run → confirm → import, with its progress on the job row."""


from __future__ import annotations

import gzip
import hashlib
import json
import logging
from collections.abc import Callable

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.audit import acting_as
from accounts.models import Membership
from accounts.permissions import membership_of, require_role
from accounts.scope import get_in_scope, restrict, scope_of
from kernel.errors import Conflict, Forbidden, ValidationFailed
from registry.records import record_as_json
from rosters.checking import check_rows, registry_changed_since, rows_of_dry_run
from rosters.columns import NEW, REFUSED, UNCHANGED
from rosters.models import RosterImport
from rosters.parsing import Row
from rosters.reading import Table, parse_table, read_table, sniff_format
from rosters.writing import write_rows
from schools.models import School

logger = logging.getLogger("rosters")


# --- the job: upload → check → confirm → import ------------------------------------------

def unit_of(user) -> tuple[School | None, str, str]:
    membership = membership_of(user)
    if membership is None:
        return None, "", ""
    if membership.school_id:
        return membership.school, membership.school.county_id, membership.school.code
    return None, membership.division_id, membership.division_id


def require_importer(user) -> None:
    if getattr(user, "is_superuser", False) and membership_of(user) is None:
        return
    require_role(user, Membership.Role.OPERATOR, Membership.Role.ADMIN)


def roster_upload(*, user, content: bytes, file_name: str = "", keep_likely_duplicates: bool = False) -> RosterImport:
    """Store an uploaded roster (judged by its bytes) and open its job; the check runs next."""
    require_importer(user)
    if scope_of(user) is None:
        raise Forbidden(_("您没有所属单位，不能导入花名册"), code="no_unit")
    file_format = sniff_format(content)
    school, scope_code, unit_code = unit_of(user)
    job = RosterImport(
        created_by=user,
        created_by_name=user.get_username(),
        school=school,
        scope_code=scope_code,
        unit_code=unit_code,
        original_name=(file_name or "")[-200:],
        file_format=file_format,
        file_size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        keep_likely_duplicates=keep_likely_duplicates,
    )
    with transaction.atomic(), acting_as(user):
        job.file.save(f"roster.{file_format}", ContentFile(content), save=False)
        job.save()
    logger.info("roster upload job=%s user=%s size=%s format=%s", job.pk, user.get_username(), len(content), file_format)
    return job


def _save_rows_file(job: RosterImport, rows: list[Row]) -> None:
    payload = {"rows": [r.as_report() for r in rows]}
    blob = gzip.compress(json.dumps(payload, ensure_ascii=False, default=str).encode(), compresslevel=3)
    name = default_storage.save(f"rosters/{timezone.now():%Y/%m}/{job.file.name.rsplit('/', 1)[-1]}.rows.json.gz",
                                ContentFile(blob))
    if job.rows_file and job.rows_file != name:
        default_storage.delete(job.rows_file)
    job.rows_file = name


def _save_records_file(job: RosterImport, rows: list[Row]) -> None:
    """The checked record of every new row, as the dry run left it (codes resolved, names
    normalised), with the day it was checked: the import writes these instead of reading
    and checking the file again when nothing in the registry changed since."""
    payload = {
        "day": timezone.localdate().isoformat(),
        "records": {str(r.number): {"data": record_as_json(r.data), "members": r.members} for r in rows
                    if r.outcome == NEW},
    }
    blob = gzip.compress(json.dumps(payload, ensure_ascii=False).encode(), compresslevel=1)
    name = default_storage.save(f"rosters/{timezone.now():%Y/%m}/{job.file.name.rsplit('/', 1)[-1]}.records.json.gz",
                                ContentFile(blob))
    if job.records_file and job.records_file != name:
        default_storage.delete(job.records_file)
    job.records_file = name


def _load_records(job: RosterImport) -> dict | None:
    """The dry run's checked records, if they were checked today (the rules that count
    from today, such as ages and dates not in the future, were judged on that day)."""
    if not job.records_file:
        return None
    try:
        with default_storage.open(job.records_file, "rb") as handle:
            payload = json.loads(gzip.decompress(handle.read()))
    except (OSError, ValueError):  # gone or unreadable: the file is checked again instead
        logger.warning("roster job=%s: checked records unreadable, checking the file again", job.pk)
        return None
    if payload.get("day") != timezone.localdate().isoformat():
        return None
    return {int(number): item for number, item in payload["records"].items()}


def load_rows(job: RosterImport) -> list[dict]:
    """The per-row report of a checked or finished job (row, outcome, problems…)."""
    if not job.rows_file:
        return []
    with default_storage.open(job.rows_file, "rb") as handle:
        return json.loads(gzip.decompress(handle.read()))["rows"]


def _progress(job: RosterImport) -> Callable[[int], None]:
    def update(done: int) -> None:
        RosterImport.objects.filter(pk=job.pk).update(processed_rows=done)

    return update


def _summarise(job: RosterImport, rows: list[Row]) -> None:
    job.total_rows = len(rows)
    job.processed_rows = len(rows)
    job.new_rows = sum(1 for r in rows if r.outcome == NEW)
    job.unchanged_rows = sum(1 for r in rows if r.outcome == UNCHANGED)
    job.refused_rows = sum(1 for r in rows if r.outcome == REFUSED)
    job.refused = [
        {"row": r.number, "name": r.data.name if r.data else r.saved.get("name", ""), "problems": r.problems}
        for r in rows
        if r.outcome == REFUSED
    ]


def _read_job_table(job: RosterImport) -> Table:
    with job.file.open("rb") as handle:
        content = handle.read()
    _format, lines = read_table(content)
    return parse_table(lines)


def roster_check(*, job_id: int) -> RosterImport:
    """The dry run of a stored roster: every row's outcome, saved on the job (no pupil written)."""
    job = RosterImport.objects.select_related("created_by__membership").get(pk=job_id)
    if job.status != RosterImport.Status.CHECKING:
        return job
    user = job.created_by
    try:
        table = _read_job_table(job)
    except ValidationFailed as exc:
        job.status = RosterImport.Status.FAILED
        job.error = exc.as_dict()
        job.finished_at = timezone.now()
        with acting_as(user, roster_import=job.pk):
            job.save()
        return job
    RosterImport.objects.filter(pk=job.pk).update(total_rows=len(table.lines))
    rows = check_rows(
        user=user, table=table, keep_likely_duplicates=job.keep_likely_duplicates, progress=_progress(job)
    )
    _summarise(job, rows)
    _save_rows_file(job, rows)
    _save_records_file(job, rows)
    job.status = RosterImport.Status.CHECKED
    job.checked_at = timezone.now()
    with acting_as(user, roster_import=job.pk):
        job.save()
    logger.info("roster check job=%s rows=%s new=%s unchanged=%s refused=%s", job.pk, job.total_rows,
                job.new_rows, job.unchanged_rows, job.refused_rows)
    return job


def roster_confirm(*, user, job_id: int, mode: str) -> RosterImport:
    """Claim a checked job for import with the user's choice; a second click gets 409."""
    require_importer(user)
    job = roster_import_get(user, job_id)
    if job.created_by_id != user.pk:
        raise Forbidden(_("只有上传该花名册的用户可以确认导入"), code="not_uploader")
    if mode not in RosterImport.Mode.values:
        raise ValidationFailed(_("请选择导入方式：只导入合格的行，或全部合格才导入"), code="bad_mode", field="mode")
    if job.status == RosterImport.Status.CHECKED and mode == RosterImport.Mode.ALL_OR_NOTHING and job.refused_rows:
        raise ValidationFailed(
            _("有 %(n)s 行不合格，选择“全部合格才导入”时不会导入任何一行；请修改文件后重新上传，或选择只导入合格的行")
            % {"n": job.refused_rows},
            code="rows_refused",
            field="mode",
        )
    claimed = RosterImport.objects.filter(pk=job.pk, status=RosterImport.Status.CHECKED).update(
        status=RosterImport.Status.IMPORTING, mode=mode, processed_rows=0
    )
    if not claimed:
        raise Conflict(_("该花名册已确认过或仍在预检中，不能再次确认"), code="not_confirmable")
    job.refresh_from_db()
    logger.info("roster confirm job=%s user=%s mode=%s", job.pk, user.get_username(), mode)
    return job


def roster_import_rows(*, job_id: int) -> RosterImport:
    """Write a claimed job: all good rows, or nothing unless all are good. The dry run's
    outcomes are taken as they are when nothing in the registry changed since it (on the
    same day); otherwise every row is checked again."""
    job = RosterImport.objects.select_related("created_by__membership").get(pk=job_id)
    if job.status != RosterImport.Status.IMPORTING:
        return job
    user = job.created_by
    table = None
    for attempt in range(3):
        # When nothing in the registry changed since the dry run, its outcomes still hold and
        # its checked records are written as they are (the school's permission asked again);
        # otherwise the file is read and checked again. A write that loses a race anyway
        # (IntegrityError) is checked again in full.
        unchanged = attempt == 0 and not registry_changed_since(job.checked_at)
        records = _load_records(job) if unchanged else None
        rows = rows_of_dry_run(user=user, reports=load_rows(job), records=records) if records is not None else None
        if rows is None:
            table = table or _read_job_table(job)
            rows = check_rows(
                user=user, table=table, keep_likely_duplicates=job.keep_likely_duplicates, progress=_progress(job),
                registry_results={r["row"]: r for r in load_rows(job)} if unchanged else None,
            )
        refused = [r for r in rows if r.outcome == REFUSED]
        if job.mode == RosterImport.Mode.ALL_OR_NOTHING and refused:
            imported = 0
            job.status = RosterImport.Status.REFUSED
            break
        try:
            with transaction.atomic(), acting_as(user, roster_import=job.pk):
                imported = write_rows(user=user, rows=rows, job=job)
        except IntegrityError as exc:  # a pupil registered meanwhile: check again
            logger.warning("roster import job=%s attempt=%s lost a race: %s", job.pk, attempt, exc)
            continue
        for row in rows:
            if row.outcome == NEW:
                row.outcome = "imported"
        job.status = RosterImport.Status.IMPORTED
        break
    else:
        raise Conflict(_("导入时数据不断变化，请稍后重试"), code="import_retry_exhausted")
    _summarise(job, rows)
    job.new_rows = sum(1 for r in rows if r.outcome in (NEW, "imported"))
    job.imported_rows = imported
    _save_rows_file(job, rows)
    if job.records_file:  # written or refused: the checked records are not needed again
        default_storage.delete(job.records_file)
        job.records_file = ""
    job.finished_at = timezone.now()
    with acting_as(user, roster_import=job.pk):
        job.save()
    logger.info("roster import job=%s user=%s mode=%s imported=%s refused=%s status=%s", job.pk,
                user.get_username(), job.mode, imported, job.refused_rows, job.status)
    return job


# --- reads ------------------------------------------------------------------------------

def roster_imports_visible_to(user):
    return restrict(RosterImport.objects.all(), user)


def roster_import_get(user, job_id) -> RosterImport:
    try:
        job_id = int(job_id)
    except (TypeError, ValueError):
        job_id = 0
    return get_in_scope(RosterImport.objects.all(), user, pk=job_id)


def roster_fail(*, job_id: int) -> None:
    """A job whose task crashed: say so on the job instead of leaving it 'running' forever."""
    RosterImport.objects.filter(pk=job_id, status__in=RosterImport.RUNNING).update(
        status=RosterImport.Status.FAILED,
        error={"code": "internal_error", "message": gettext("处理过程中出现系统错误，请重新上传；如仍失败请联系管理员"),
               "field": None},
        finished_at=timezone.now(),
    )
    logger.error("roster job=%s failed", job_id)
