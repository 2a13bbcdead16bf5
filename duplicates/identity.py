"""Identity checks (身份核验): the province's resident IDs checked against a population-registry
extract; a failed check makes the pupil a problem record.

A check is a guarded job (``IdentityCheckRun``):

1. ``identity_check_upload`` (the request): the extract's shape — the four expected columns,
   at least one row — is checked before anything is stored; a bad file is refused (422) and
   changes nothing. The job is queued.
2. ``identity_check_prepare`` (a worker): every active resident ID of the province is looked
   up, with progress. When the extract holds fewer of them than the policy's share
   (``identity_min_match_share``) the job stops as a preview the admin must confirm
   (``identity_check_confirm``); otherwise it goes on to apply.
3. ``identity_check_apply`` (a worker): statuses are written in short batches, each batch
   locking its pupils in primary-key order (so it never deadlocks with L→G promotion) and
   keeping the previous status of each pupil.
4. ``identity_check_undo``: on the day it was applied, the latest check of the province can
   be undone: the previous statuses are restored (a worker, in batches).
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass

from celery import current_app
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import acting_as
from accounts.permissions import require_province_admin
from duplicates.models import IdentityCheckChange, IdentityCheckRun
from kernel import matching
from kernel.errors import Conflict, NotFound, ValidationFailed
from provinces.models import ProvincePolicy
from registry.models import ACTIVE_STATUSES, Pupil

log = logging.getLogger(__name__)

#: Pupils written per transaction: each batch holds its row locks for well under a second.
BATCH_SIZE = 2000
#: The columns an extract has, in this order (a header row naming them is optional).
COLUMNS = ("身份证号", "姓名", "性别", "出生日期")
HEADER_ALIASES = {
    0: {"身份证号", "身份证号码", "公民身份号码", "id_number"},
    1: {"姓名", "name"},
    2: {"性别", "sex"},
    3: {"出生日期", "birth_date"},
}


@dataclass(frozen=True)
class PersonRecord:
    id_number: str
    name: str
    sex: str
    birth_date: str


class PopulationRegistry:
    """The population registry (人口信息库) as the province can ask it: one ID at a time."""

    def lookup(self, id_number: str) -> PersonRecord | None:  # pragma: no cover - interface
        raise NotImplementedError


def _refuse(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, field="extract_file")


class ExtractFileRegistry(PopulationRegistry):
    """A population-registry extract as a public-security bureau provides it: a CSV with the
    columns ID number, name, sex, birth date (a header row naming them is optional; UTF-8 or
    GBK). Its shape is checked here: an empty file, a file without rows, a header naming
    other columns or a row with fewer columns or no ID number in the first is refused."""

    def __init__(self, content: bytes, *, name: str = "extract.csv") -> None:
        if b"\x00" in content[:4096]:
            raise _refuse(_("文件“%(name)s”不是 CSV 文本文件（按文件内容判断）") % {"name": name}, "extract_not_csv")
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes any byte string
            raise _refuse(_("无法识别文件编码"), "extract_encoding")
        if not text.strip():
            raise _refuse(_("身份核验文件“%(name)s”是空文件") % {"name": name}, "extract_empty")
        self.people: dict[str, PersonRecord] = {}
        expected = "、".join(COLUMNS)
        for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not row or not "".join(row).strip():
                continue
            cells = [c.strip() for c in row]
            if line == 1 and not cells[0][:1].isdigit():
                if len(cells) < 4 or any(cells[i].lower() not in HEADER_ALIASES[i] for i in range(4)):
                    raise _refuse(_("文件“%(name)s”第 1 行（表头）应为：%(columns)s，实为：%(found)s")
                                  % {"name": name, "columns": expected, "found": "、".join(cells)[:200]},
                                  "extract_columns")
                continue  # the header
            if len(cells) < 4:
                raise _refuse(_("文件“%(name)s”第 %(line)s 行应有 4 列：%(columns)s")
                              % {"name": name, "line": line, "columns": expected}, "extract_columns")
            number = matching.normalize_id(cells[0])
            if len(number) != 18 or not number[:17].isdigit():
                raise _refuse(_("文件“%(name)s”第 %(line)s 行第 1 列应为 18 位身份证号")
                              % {"name": name, "line": line}, "extract_columns")
            self.people[number] = PersonRecord(number, cells[1], cells[2], cells[3])
        if not self.people:
            raise _refuse(_("身份核验文件“%(name)s”只有表头，没有数据行") % {"name": name}, "extract_no_rows")

    def lookup(self, id_number: str) -> PersonRecord | None:
        return self.people.get(matching.normalize_id(id_number))


# --- the job ---------------------------------------------------------------------------------

def _queue(task: str, run_id: int) -> None:
    transaction.on_commit(lambda: current_app.signature(f"duplicates.tasks.{task}", args=(run_id,)).delay())


def _pupils_to_check(province: str):
    return Pupil.objects.filter(county_code__startswith=province, status__in=ACTIVE_STATUSES, id_type="1").exclude(
        id_number="")


def identity_check_upload(*, user, extract_file) -> IdentityCheckRun:
    """Check the extract's shape (422 and nothing stored when it is wrong), keep it and queue
    the check on a worker."""
    membership = require_province_admin(user)
    name = str(getattr(extract_file, "name", "") or "extract.csv")[:200]
    content = extract_file.read()
    registry = ExtractFileRegistry(content, name=name)
    province = membership.division_id
    with transaction.atomic(), acting_as(user, identity_check=name):
        run = IdentityCheckRun(province_id=province, started_by=user, source_name=name,
                               status=IdentityCheckRun.Status.CHECKING, extract_rows=len(registry.people),
                               threshold=ProvincePolicy.for_province(province).identity_min_match_share)
        run.extract.save(f"identity-extracts/{timezone.now():%Y/%m}/extract.csv", ContentFile(content), save=False)
        run.save()
        _queue("identity_check_prepare_task", run.pk)
    log.info("identity check %s uploaded by %s: %s rows", run.pk, user, len(registry.people))
    return run


def _registry_of(run: IdentityCheckRun) -> ExtractFileRegistry:
    with run.extract.open("rb") as handle:
        return ExtractFileRegistry(handle.read(), name=run.source_name)


def _outcome(registry: PopulationRegistry, number: str, name: str) -> str:
    person = registry.lookup(number)
    if person is None:
        return "not_found"
    if matching.simplified_name(person.name) != matching.simplified_name(name):
        return "mismatched"
    return "passed"


def identity_check_prepare(*, run_id: int, registry: PopulationRegistry | None = None) -> IdentityCheckRun:
    """Match the extract against the province (progress on the run); apply it when it covers
    the policy's share of the pupils, else stop as a preview for the admin to confirm."""
    run = IdentityCheckRun.objects.get(pk=run_id)
    if run.status != IdentityCheckRun.Status.CHECKING:
        return run
    registry = registry or _registry_of(run)
    pupils = _pupils_to_check(run.province_id)
    counts = {"passed": 0, "not_found": 0, "mismatched": 0}
    total = pupils.count()
    IdentityCheckRun.objects.filter(pk=run.pk).update(total=total, processed=0)
    for done, (number, name) in enumerate(pupils.values_list("id_number", "name").iterator(chunk_size=10000), 1):
        counts[_outcome(registry, number, name)] += 1
        if done % BATCH_SIZE == 0:
            IdentityCheckRun.objects.filter(pk=run.pk).update(processed=done)
    run.total = run.processed = run.checked = sum(counts.values())
    run.passed, run.not_found, run.mismatched = counts["passed"], counts["not_found"], counts["mismatched"]
    below = run.checked and run.match_share < run.threshold
    run.status = IdentityCheckRun.Status.PREVIEW if below else IdentityCheckRun.Status.APPLYING
    run.save()
    if below:
        log.info("identity check %s: share %.2f under %.2f, waits for confirmation", run.pk, run.match_share,
                 run.threshold)
        return run
    return identity_check_apply(run_id=run.pk, registry=registry)


def identity_check_for(user, run_id: int, *, lock: bool = False) -> IdentityCheckRun:
    """A check of the admin's own province; 404 for another province's or a missing one."""
    membership = require_province_admin(user)
    runs = IdentityCheckRun.objects.select_for_update() if lock else IdentityCheckRun.objects.all()
    run = runs.filter(pk=run_id, province_id=membership.division_id).first()
    if run is None:
        raise NotFound(_("未找到该身份核验，或不在您的管理范围内"))
    return run


def identity_check_confirm(*, user, run_id: int) -> IdentityCheckRun:
    """The admin has seen the preview of an extract matching under the policy's share: apply it."""
    with transaction.atomic(), acting_as(user):
        run = identity_check_for(user, run_id, lock=True)
        if run.status != IdentityCheckRun.Status.PREVIEW:
            raise Conflict(_("该身份核验不在待确认状态（当前：%(s)s）") % {"s": run.get_status_display()},
                           code="identity_check_not_preview")
        run.status = IdentityCheckRun.Status.APPLYING
        run.confirmed_by = user
        run.save(update_fields=["status", "confirmed_by"])
        _queue("identity_check_apply_task", run.pk)
    return run


def identity_check_apply(*, run_id: int, registry: PopulationRegistry | None = None) -> IdentityCheckRun:
    """Write the statuses in batches (pupils locked in key order, the previous status kept).
    A batch already written (a retried task) is skipped."""
    run = IdentityCheckRun.objects.get(pk=run_id)
    if run.status != IdentityCheckRun.Status.APPLYING:
        return run
    registry = registry or _registry_of(run)
    notes = {"passed": "", "not_found": _("身份证号不存在"), "mismatched": _("身份证号与姓名不匹配")}
    counts = {"passed": 0, "not_found": 0, "mismatched": 0}
    pks = list(_pupils_to_check(run.province_id).order_by("pk").values_list("pk", flat=True))
    IdentityCheckRun.objects.filter(pk=run.pk).update(total=len(pks), processed=0)
    with acting_as(run.confirmed_by or run.started_by, task="identity_check", identity_check=run.pk):
        for start in range(0, len(pks), BATCH_SIZE):
            with transaction.atomic():
                batch = list(Pupil.objects.select_for_update(of=("self",)).filter(
                    pk__in=pks[start:start + BATCH_SIZE], status__in=ACTIVE_STATUSES).order_by("pk")
                    .only("pk", "id_number", "name", "identity_status", "identity_note"))
                done = set(IdentityCheckChange.objects.filter(run=run, pupil__in=batch).values_list("pupil", flat=True))
                changes, by_outcome = [], {"passed": [], "not_found": [], "mismatched": []}
                for pupil in batch:
                    outcome = _outcome(registry, pupil.id_number, pupil.name)
                    counts[outcome] += 1
                    if pupil.pk in done:
                        continue
                    by_outcome[outcome].append(pupil.pk)
                    changes.append(IdentityCheckChange(run=run, pupil_id=pupil.pk, status_before=pupil.identity_status,
                                                       note_before=pupil.identity_note[:200]))
                IdentityCheckChange.objects.bulk_create(changes)
                for outcome, ids in by_outcome.items():
                    if ids:
                        status = Pupil.IdentityStatus.PASSED if outcome == "passed" else Pupil.IdentityStatus.FAILED
                        Pupil.objects.filter(pk__in=ids).update(identity_status=status, identity_note=notes[outcome],
                                                                updated_at=timezone.now())
                IdentityCheckRun.objects.filter(pk=run.pk).update(processed=min(len(pks), start + BATCH_SIZE))
        run.refresh_from_db()
        run.checked = sum(counts.values())
        run.passed, run.not_found, run.mismatched = counts["passed"], counts["not_found"], counts["mismatched"]
        run.status = IdentityCheckRun.Status.DONE
        run.finished_at = timezone.now()
        run.save()
    log.info("identity check %s applied: %s", run.pk, counts)
    return run


def identity_check_undo(*, user, run_id: int) -> IdentityCheckRun:
    """Undo the province's latest applied check on the day it was applied (a worker restores
    the previous statuses in batches)."""
    with transaction.atomic(), acting_as(user):
        run = identity_check_for(user, run_id, lock=True)
        if run.status not in (IdentityCheckRun.Status.DONE, IdentityCheckRun.Status.FAILED) \
                or not run.changes.exists():
            raise Conflict(_("只有已写入的身份核验可以撤销（当前：%(s)s）") % {"s": run.get_status_display()},
                           code="identity_check_not_done")
        if timezone.localdate(run.finished_at or run.created_at) != timezone.localdate():
            raise Conflict(_("身份核验只能在写入当天撤销"), code="identity_undo_expired")
        later = IdentityCheckRun.objects.filter(province_id=run.province_id, pk__gt=run.pk).exclude(
            status=IdentityCheckRun.Status.UNDONE).filter(
            ~Q(status=IdentityCheckRun.Status.FAILED) | Q(changes__isnull=False)).exists()
        if later:
            raise Conflict(_("之后已有新的身份核验，请先撤销较新的一次"), code="identity_undo_not_latest")
        run.status = IdentityCheckRun.Status.UNDOING
        run.undone_by = user
        run.save(update_fields=["status", "undone_by"])
        _queue("identity_check_restore_task", run.pk)
    return run


def identity_check_restore(*, run_id: int) -> IdentityCheckRun:
    """The undo itself: each pupil gets back the status it had before the check (in batches)."""
    run = IdentityCheckRun.objects.get(pk=run_id)
    if run.status != IdentityCheckRun.Status.UNDOING:
        return run
    pks = list(run.changes.order_by("pupil_id").values_list("pupil_id", flat=True))
    IdentityCheckRun.objects.filter(pk=run.pk).update(total=len(pks), processed=0)
    with acting_as(run.undone_by, task="identity_check_undo", identity_check=run.pk):
        for start in range(0, len(pks), BATCH_SIZE):
            with transaction.atomic():
                ids = pks[start:start + BATCH_SIZE]
                list(Pupil.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk").values_list("pk"))
                by_before: dict[tuple[str, str], list[int]] = {}
                for pupil_id, status, note in run.changes.filter(pupil_id__in=ids).values_list(
                        "pupil_id", "status_before", "note_before"):
                    by_before.setdefault((status, note), []).append(pupil_id)
                for (status, note), group in by_before.items():
                    Pupil.objects.filter(pk__in=group).update(identity_status=status, identity_note=note,
                                                              updated_at=timezone.now())
                IdentityCheckRun.objects.filter(pk=run.pk).update(processed=min(len(pks), start + BATCH_SIZE))
        run.refresh_from_db()
        run.status = IdentityCheckRun.Status.UNDONE
        run.finished_at = timezone.now()
        run.save()
    log.info("identity check %s undone", run.pk)
    return run


def identity_check_fail(*, run_id: int, code: str = "identity_check_failed") -> None:
    """A worker gave up: the job says so; statuses already written can be undone."""
    IdentityCheckRun.objects.filter(pk=run_id, status__in=(
        IdentityCheckRun.Status.CHECKING, IdentityCheckRun.Status.APPLYING)).update(
        status=IdentityCheckRun.Status.FAILED, error_code=code, finished_at=timezone.now())


def identity_check_run(*, user, extract_file, registry: PopulationRegistry | None = None) -> IdentityCheckRun:
    """Upload, match and apply in one go (management commands, tests); the preview rule holds."""
    run = identity_check_upload(user=user, extract_file=extract_file)
    return identity_check_prepare(run_id=run.pk, registry=registry)

