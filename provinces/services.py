"""Services of the province: duplicate sweeps (查重), cases and their resolution, identity
checks (身份核验) and L→G promotion. Each takes the acting user, checks scope and the rules,
writes in one transaction and records the audit (pghistory context via ``acting_as``).

Case lifecycle (one table)::

    open ──佐证 evidence──▶ resolved   (pair → CleanPair: never flagged again)
    open ──删除 delete────▶ resolved   (the wrong record → status deleted)
    open ──变更 change────▶ open + change_request
         change approved and the pair no longer matches ─▶ resolved (change)
         change approved but still matching, or refused/withdrawn ─▶ open (change_request cleared)
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import acting_as
from accounts.models import Membership
from accounts.permissions import require_county_user, require_province_admin, require_role
from accounts.scope import get_in_scope, restrict, scope_of
from kernel import identity, matching
from kernel.errors import BusinessRefused, Conflict, Forbidden, NotFound, ValidationFailed
from kernel.proof import check_proof
from provinces.models import (
    CaseMember,
    CleanPair,
    DuplicateCase,
    DuplicateSweep,
    IdentityCheckRun,
    PupilMatchKey,
    SweepPartition,
)
from registry import duplicates
from registry.models import ACTIVE_STATUSES, Guardian, Pupil, PupilStatus
from registry.problems import pupil_problem_reasons
from registry.services import record_event
from workflow import business

log = logging.getLogger(__name__)

DEFAULT_PARTITIONS = 8
STALE_AFTER = timedelta(minutes=30)
Role = Membership.Role


# --- matching keys --------------------------------------------------------------------------

def match_keys_refresh(pupil_ids, *, new: bool = False) -> int:
    """Recompute the indexed matching keys (``PupilMatchKey``) of some pupils.

    ``new``: the pupils were just inserted (a roster import) and have no keys yet, so a
    plain insert does instead of an upsert.
    """
    rows = []
    columns = ("pk", "name", "sex", "birth_date", "id_number", "id_type", "county_code")
    for pk, name, sex, birth_date, id_number, id_type, county in Pupil.objects.filter(
        pk__in=list(pupil_ids)
    ).values_list(*columns):
        key = matching.PupilKey(pk=pk, name=name, sex=sex, birth_date=birth_date, id_number=id_number or "",
                                county=county, id_type=id_type)
        query = matching.candidate_query_keys(key)
        rows.append(PupilMatchKey(
            pupil_id=pk,
            province_code=county[:2],
            birth_year=birth_date.year,
            sound_keys=query["name_sound_keys"],
            id_keys=query["id_neighbour_keys"],
        ))
    if new:
        PupilMatchKey.objects.bulk_create(rows, batch_size=2000)
    else:
        PupilMatchKey.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["pupil"],
            update_fields=["province_code", "birth_year", "sound_keys", "id_keys"], batch_size=2000,
        )
    return len(rows)


def match_keys_fill_missing(province_code: str) -> int:
    """Keys for the province's pupils written in bulk (roster import) that have none yet."""
    missing = Pupil.objects.filter(county_code__startswith=province_code, match_key__isnull=True).values_list(
        "pk", flat=True)
    done = 0
    batch: list[int] = []
    for pk in missing.iterator(chunk_size=5000):
        batch.append(pk)
        if len(batch) >= 5000:
            done += match_keys_refresh(batch)
            batch = []
    return done + (match_keys_refresh(batch) if batch else 0)


# --- cases ----------------------------------------------------------------------------------

def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _known_pairs(province_code: str) -> set[tuple[int, int]]:
    """Pairs never to be opened again: any case (open or resolved) and every CleanPair."""
    pairs = set(DuplicateCase.objects.filter(province_id=province_code).values_list("pupil_low", "pupil_high"))
    pairs |= set(CleanPair.objects.filter(pupil_low__county_code__startswith=province_code)
                 .values_list("pupil_low", "pupil_high"))
    return pairs


def _create_cases(province_code: str, found: list[tuple[tuple[int, int], float, list, str]], *, source: str,
                  sweep=None, reason: str = "") -> int:
    """Open a case per new pair (already filtered); members get their county snapshot."""
    if not found:
        return 0
    pupil_ids = {pk for (pair, *_rest) in found for pk in pair}
    counties = dict(Pupil.objects.filter(pk__in=pupil_ids).values_list("pk", "county_code"))
    created = 0
    for start in range(0, len(found), 1000):
        chunk = found[start:start + 1000]
        cases = [
            DuplicateCase(province_id=province_code, pupil_low_id=pair[0], pupil_high_id=pair[1], score=score,
                          reasons=reasons, kind=kind, source=source, sweep=sweep, entry_reason=reason[:500])
            for pair, score, reasons, kind in chunk
        ]
        try:
            with transaction.atomic():
                DuplicateCase.objects.bulk_create(cases)
        except IntegrityError:
            # A concurrent entry opened one of these pairs: fall back to one at a time.
            kept = []
            for case in cases:
                try:
                    with transaction.atomic():
                        case.save()
                    kept.append(case)
                except IntegrityError:
                    continue
            cases = kept
        CaseMember.objects.bulk_create(
            CaseMember(case=case, pupil_id=pk, county_code=counties[pk])
            for case in cases for pk in (case.pupil_low_id, case.pupil_high_id)
        )
        created += len(cases)
    return created


def case_open_at_entry(*, user, pupil: Pupil, likely: list[dict], reason: str) -> list[DuplicateCase]:
    """The operator kept a record despite likely matches: one open case per pair, with the reason."""
    province = pupil.county_code[:2]
    others = dict(Pupil.objects.filter(national_number__in=[item["national_number"] for item in likely])
                  .values_list("national_number", "pk"))
    known = _known_pairs(province)
    found = []
    for item in likely:
        other = others.get(item["national_number"])
        if other is None or other == pupil.pk:
            continue
        pair = _pair(pupil.pk, other)
        if pair in known:
            continue
        known.add(pair)
        found.append((pair, item["score"], item["reasons"], item.get("kind", "")))
    with transaction.atomic(), acting_as(user):
        _create_cases(province, found, source=DuplicateCase.Source.ENTRY, reason=reason)
        record_event(pupil, kind="duplicate_kept",
                     summary=_("录入时发现%(n)s条疑似重复学籍，操作员确认保留，理由：%(reason)s")
                     % {"n": len(found), "reason": reason}, user=user)
    log.info("entry override: pupil %s, %s case(s) by %s", pupil.pk, len(found), user)
    return list(DuplicateCase.objects.filter(members=pupil, status=DuplicateCase.Status.OPEN))


# --- sweeps ---------------------------------------------------------------------------------

def sweep_start(*, user, province_code: str, partitions: int = DEFAULT_PARTITIONS, dispatch: bool = True) -> DuplicateSweep:
    """Start a province-wide sweep: one partition row per Celery task, dispatched on commit."""
    require_province_admin(user, province_code)
    if not 1 <= partitions <= 256:
        raise ValidationFailed(_("分区数应在 1 到 256 之间"), code="invalid_partitions", field="partitions")
    try:
        with transaction.atomic(), acting_as(user):
            sweep = DuplicateSweep.objects.create(province_id=province_code[:2], partitions_total=partitions,
                                                  started_by=user)
            SweepPartition.objects.bulk_create(SweepPartition(sweep=sweep, index=i) for i in range(partitions))
            if dispatch:
                transaction.on_commit(lambda: _dispatch(sweep.pk, list(range(partitions)), prepare=sweep.province_id))
    except IntegrityError as exc:
        if "one_running_sweep_per_province" in str(exc):
            raise Conflict(_("本省已有一次查重正在进行，请等待其完成或继续该次查重"), code="sweep_running") from exc
        raise
    log.info("sweep %s started by %s: %s partitions", sweep.pk, user, partitions)
    return sweep


def _dispatch(sweep_id: int, indexes: list[int], prepare: str = "") -> None:
    from celery import group

    from provinces.tasks import sweep_partition_task, sweep_prepare_task

    if prepare:
        sweep_prepare_task.delay(prepare)
    group(sweep_partition_task.s(sweep_id, index) for index in indexes).apply_async()


def sweep_resume(*, user, sweep_id: int, stale_after: timedelta = STALE_AFTER, dispatch: bool = True) -> list[int]:
    """Re-queue a sweep's unfinished partitions; a partition claimed longer than
    ``stale_after`` ago (its worker died) goes back to pending first. Returns the indexes."""
    sweep = DuplicateSweep.objects.filter(pk=sweep_id).first()
    if sweep is None:
        raise NotFound(_("未找到该查重批次"), code="not_found")
    require_province_admin(user, sweep.province_id)
    if sweep.status != DuplicateSweep.Status.RUNNING:
        raise Conflict(_("该次查重已完成，无需继续"), code="sweep_finished")
    with transaction.atomic(), acting_as(user):
        SweepPartition.objects.filter(
            sweep=sweep, status=SweepPartition.Status.RUNNING, claimed_at__lt=timezone.now() - stale_after
        ).update(status=SweepPartition.Status.PENDING, claimed_at=None)
        indexes = list(sweep.parts.filter(status=SweepPartition.Status.PENDING).values_list("index", flat=True))
        if dispatch and indexes:
            transaction.on_commit(lambda: _dispatch(sweep.pk, indexes))
    log.info("sweep %s resumed by %s: partitions %s", sweep.pk, user, indexes)
    return indexes


def province_records(province_code: str) -> list[matching.PupilKey]:
    """Every active pupil of the province as the engine sees it (two queries, no ORM objects)."""
    guardians: dict[int, list[str]] = {}
    for pupil_id, number in (
        Guardian.objects.filter(pupil__county_code__startswith=province_code, pupil__status__in=ACTIVE_STATUSES)
        .exclude(id_number="").values_list("pupil_id", "id_number").iterator(chunk_size=20000)
    ):
        guardians.setdefault(pupil_id, []).append(number)
    records = []
    for pk, name, sex, birth, number, county, id_type in (
        Pupil.objects.filter(county_code__startswith=province_code, status__in=ACTIVE_STATUSES)
        .values_list("pk", "name", "sex", "birth_date", "id_number", "county_code", "id_type")
        .iterator(chunk_size=20000)
    ):
        records.append(matching.PupilKey(pk, name, sex, birth, number or "", tuple(sorted(set(guardians.get(pk, ())))),
                                          county, id_type))
    return records


def sweep_run_partition(*, sweep_id: int, index: int, records: list[matching.PupilKey] | None = None) -> bool:
    """Run one partition: claim it (conditional update), score its blocks, open cases for new
    pairs, and finish the sweep when it was the last. False when someone else holds it."""
    claimed = SweepPartition.objects.filter(
        sweep_id=sweep_id, index=index, status=SweepPartition.Status.PENDING,
        sweep__status=DuplicateSweep.Status.RUNNING,
    ).update(status=SweepPartition.Status.RUNNING, claimed_at=timezone.now())
    if not claimed:
        return False
    sweep = DuplicateSweep.objects.select_related("started_by").get(pk=sweep_id)
    province = sweep.province_id
    if records is None:
        records = province_records(province)
    stats = matching.SweepStats()
    clean = {frozenset(p) for p in CleanPair.objects.filter(pupil_low__county_code__startswith=province)
             .values_list("pupil_low", "pupil_high")}
    matches = matching.sweep_partition(records, index, sweep.partitions_total, exclude_pairs=clean, stats=stats)
    threshold = duplicates.case_threshold(province)
    with transaction.atomic(), acting_as(sweep.started_by, sweep=sweep.pk, partition=index):
        part = SweepPartition.objects.select_for_update().get(sweep_id=sweep_id, index=index)
        if part.status != SweepPartition.Status.RUNNING:  # re-claimed after we were thought dead
            return False
        known = _known_pairs(province)
        found = [((m.a_pk, m.b_pk), m.score, list(m.reasons), m.kind) for m in matches
                 if m.score >= threshold and (m.a_pk, m.b_pk) not in known]
        created = _create_cases(province, found, source=DuplicateCase.Source.SWEEP, sweep=sweep)
        SweepPartition.objects.filter(pk=part.pk).update(
            status=SweepPartition.Status.DONE, finished_at=timezone.now(), records=stats.records,
            blocks=stats.blocks, pairs_scored=stats.pairs_scored, cases_found=created,
        )
        DuplicateSweep.objects.filter(pk=sweep_id).update(
            partitions_done=F("partitions_done") + 1, blocks_total=F("blocks_total") + stats.blocks,
            pairs_scored=F("pairs_scored") + stats.pairs_scored, cases_found=F("cases_found") + created,
        )
    _finish_if_done(sweep_id)
    log.info("sweep %s partition %s: %s records, %s pairs, %s new cases", sweep_id, index, stats.records,
             stats.pairs_scored, created)
    return True


def _finish_if_done(sweep_id: int) -> None:
    unfinished = SweepPartition.objects.filter(sweep_id=sweep_id).exclude(status=SweepPartition.Status.DONE)
    if not unfinished.exists():
        DuplicateSweep.objects.filter(pk=sweep_id, status=DuplicateSweep.Status.RUNNING).update(
            status=DuplicateSweep.Status.FINISHED, finished_at=timezone.now())


def sweep_run_inline(*, user, province_code: str, partitions: int = DEFAULT_PARTITIONS) -> DuplicateSweep:
    """A whole sweep in this process (``sweep_duplicates --inline``): the records are read once."""
    match_keys_fill_missing(province_code)
    sweep = sweep_start(user=user, province_code=province_code, partitions=partitions, dispatch=False)
    records = province_records(province_code)
    for index in range(partitions):
        sweep_run_partition(sweep_id=sweep.pk, index=index, records=records)
    sweep.refresh_from_db()
    return sweep


# --- resolution -----------------------------------------------------------------------------

def _case_for_county(user, case_id: int) -> DuplicateCase:
    """An open case with a member in the user's county, locked for the resolution."""
    require_county_user(user, message=_("疑似重复学籍由学生所在区县处理"))
    case = get_in_scope(DuplicateCase.objects.all(), user, pk=case_id)
    locked = DuplicateCase.objects.select_for_update().get(pk=case.pk)
    if locked.status != DuplicateCase.Status.OPEN:
        raise Conflict(_("该案件已处理，不能再次处理"), code="case_not_open")
    return locked


def _member_in_county(user, case: DuplicateCase, national_number: str) -> Pupil:
    scope = scope_of(user)
    member = case.members.filter(national_number=(national_number or "").strip().upper()).first()
    if member is None:
        raise ValidationFailed(_("学籍号“%(n)s”不是本案件的学生") % {"n": national_number}, code="not_case_member",
                               field="pupil")
    if not scope.covers_code(member.county_code):
        raise Forbidden(_("只能处理本区县学生的学籍：%(name)s 不属于本区县") % {"name": member.name},
                        code="member_out_of_county", field="pupil")
    return member


def _resolve(case: DuplicateCase, user, resolution: str, note: str) -> None:
    case.status = DuplicateCase.Status.RESOLVED
    case.resolution = resolution
    case.resolved_by = user if user is not None and user.is_authenticated else None
    case.resolved_at = timezone.now()
    case.note = (note or "")[:500]
    case.save()
    label = DuplicateCase.Resolution(resolution).label
    for pupil in case.members.all():
        record_event(pupil, kind="duplicate_resolved", user=user, data={"case": case.pk, "resolution": resolution},
                     summary=_("疑似重复学籍案件 %(id)s 已处理：%(how)s") % {"id": case.pk, "how": label})


def case_resolve_evidence(*, user, case_id: int, upload, note: str = "") -> DuplicateCase:
    """佐证: both records are real children. Evidence (JPG/PNG/PDF ≤ 2 MB, by its bytes) is kept,
    the case resolved and the pair never flagged again."""
    if upload is None:
        raise ValidationFailed(_("佐证处理须上传证明材料（JPG、PNG 或 PDF，不超过 2 MB）"), code="evidence_required",
                               field="evidence")
    checked = check_proof(upload, field="evidence")
    with transaction.atomic(), acting_as(user):
        case = _case_for_county(user, case_id)
        case.evidence.save(checked.stored_name(), ContentFile(checked.content), save=False)
        case.evidence_name = checked.original_name
        CleanPair.objects.get_or_create(pupil_low_id=case.pupil_low_id, pupil_high_id=case.pupil_high_id,
                                        defaults={"case": case})
        _resolve(case, user, DuplicateCase.Resolution.EVIDENCE, note)
    log.info("case %s resolved by evidence by %s", case_id, user)
    return case


def case_resolve_delete(*, user, case_id: int, pupil: str, note: str = "") -> DuplicateCase:
    """删除: soft-delete the wrong record (status deleted: out of the active registry, kept in
    history); every other open case of that record is resolved with it."""
    if not (note or "").strip():
        raise ValidationFailed(_("删除学籍须说明理由"), code="note_required", field="note")
    with transaction.atomic(), acting_as(user):
        case = _case_for_county(user, case_id)
        member = Pupil.objects.select_for_update().get(pk=_member_in_county(user, case, pupil).pk)
        business.require_no_open_business(member)
        if member.status == PupilStatus.DELETED:
            raise Conflict(_("该学籍已删除"), code="already_deleted", field="pupil")
        before = member.status
        member.status = PupilStatus.DELETED
        member.save(update_fields=["status", "updated_at"])
        record_event(member, kind="deleted", user=user, data={"case": case.pk, "status_before": before},
                     summary=_("因重复学籍（案件 %(id)s）删除本条学籍：%(note)s") % {"id": case.pk, "note": note})
        others = DuplicateCase.objects.select_for_update().filter(members=member, status=DuplicateCase.Status.OPEN)
        for other in [case, *others.exclude(pk=case.pk)]:
            _resolve(other, user, DuplicateCase.Resolution.DELETE, note)
    log.info("case %s resolved by deleting %s by %s", case_id, pupil, user)
    return case


def case_resolve_change(*, user, case_id: int, pupil: str, payload: dict, note: str = "") -> DuplicateCase:
    """变更: open a key-field change request (starting at the county step) for one member.
    The case stays open until the change is approved and the pair no longer matches
    (``case_changes_recheck``)."""
    from changes.services import change_request_open

    if not payload:
        raise ValidationFailed(_("请填写要更正的关键信息"), code="payload_required", field="payload")
    with transaction.atomic(), acting_as(user):
        case = _case_for_county(user, case_id)
        if case.change_request_id:
            raise Conflict(_("该案件已有正在审核的变更申请"), code="change_pending")
        member = _member_in_county(user, case, pupil)
        request = change_request_open(user=user, pupil=member, kind="key_change", payload=payload,
                                      reason=note or _("疑似重复学籍案件 %(id)s 更正关键信息") % {"id": case.pk})
        case.change_request = request
        case.note = (note or "")[:500]
        case.save(update_fields=["change_request", "note"])
    log.info("case %s: change request %s opened by %s", case_id, request.pk, user)
    return case


def case_recheck(case: DuplicateCase) -> DuplicateCase:
    """Follow the change request of one case: approved → re-run the match on the pair."""
    from changes.models import State

    if case.status != DuplicateCase.Status.OPEN or case.change_request_id is None:
        return case
    request = case.change_request
    if request.state in (State.REFUSED, State.WITHDRAWN):
        DuplicateCase.objects.filter(pk=case.pk).update(change_request=None)
        case.change_request = None
        return case
    if request.state != State.APPROVED:
        return case
    with transaction.atomic(), acting_as(None, task="case_recheck", change_request=request.pk):
        locked = DuplicateCase.objects.select_for_update().get(pk=case.pk)
        if locked.status != DuplicateCase.Status.OPEN or locked.change_request_id != request.pk:
            return locked
        pupils = list(Pupil.objects.filter(pk__in=(locked.pupil_low_id, locked.pupil_high_id))
                      .prefetch_related("guardians"))
        keys = [duplicates.pupil_key(p) for p in pupils]
        still = [m for m in matching.matches_for(keys[0], keys[1:])
                 if m.score >= duplicates.case_threshold(locked.province_id)] if len(keys) == 2 else []
        if still:
            locked.change_request = None
            locked.score, locked.reasons, locked.kind = still[0].score, list(still[0].reasons), still[0].kind
            locked.note = _("变更已审核通过，但两条学籍仍疑似重复，请重新处理")
            locked.save()
        else:
            _resolve(locked, None, DuplicateCase.Resolution.CHANGE, locked.note or _("关键信息变更已审核通过"))
    return locked


def case_changes_recheck(*, province_code: str = "") -> int:
    """Every open case waiting on a change request (the periodic task and the case pages)."""
    waiting = DuplicateCase.objects.filter(status=DuplicateCase.Status.OPEN, change_request__isnull=False,
                                           province__code__startswith=province_code).select_related("change_request")
    resolved = 0
    for case in waiting:
        if case_recheck(case).status == DuplicateCase.Status.RESOLVED:
            resolved += 1
    return resolved


# --- identity check (身份核验) and L→G promotion -----------------------------------------------

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


class ExtractFileRegistry(PopulationRegistry):
    """A population-registry extract as a public-security bureau provides it: a CSV with the
    columns ID number, name, sex, birth date (a header row is optional; UTF-8 or GBK)."""

    def __init__(self, content: bytes, *, name: str = "extract.csv") -> None:
        if b"\x00" in content[:4096]:
            raise ValidationFailed(_("文件“%(name)s”不是 CSV 文本文件（按文件内容判断）") % {"name": name},
                                   code="extract_not_csv", field="extract_file")
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes any byte string
            raise ValidationFailed(_("无法识别文件编码"), code="extract_encoding", field="extract_file")
        self.people: dict[str, PersonRecord] = {}
        for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 4:
                raise ValidationFailed(_("文件“%(name)s”第 %(line)s 行应有 4 列：身份证号、姓名、性别、出生日期")
                                       % {"name": name, "line": line}, code="extract_columns", field="extract_file")
            number = matching.normalize_id(row[0].strip())
            if line == 1 and not number[:1].isdigit():
                continue  # header
            self.people[number] = PersonRecord(number, row[1].strip(), row[2].strip(), row[3].strip())

    def lookup(self, id_number: str) -> PersonRecord | None:
        return self.people.get(matching.normalize_id(id_number))


def identity_check_run(*, user, extract_file, registry: PopulationRegistry | None = None) -> IdentityCheckRun:
    """Check every active resident ID of the province against the population registry:
    身份证号不存在 / 身份证号与姓名不匹配 → identity failed (a problem record); passed otherwise."""
    membership = require_province_admin(user)
    province = membership.division_id
    name = str(getattr(extract_file, "name", "") or "extract.csv")[:200]
    if registry is None:
        registry = ExtractFileRegistry(extract_file.read(), name=name)
    results: dict[str, list[int]] = {"passed": [], "not_found": [], "mismatched": []}
    pupils = restrict(Pupil.objects.all(), user).filter(status__in=ACTIVE_STATUSES, id_type="1").exclude(id_number="")
    for pk, number, pupil_name in pupils.values_list("pk", "id_number", "name").iterator(chunk_size=10000):
        person = registry.lookup(number)
        if person is None:
            results["not_found"].append(pk)
        elif matching.simplified_name(person.name) != matching.simplified_name(pupil_name):
            results["mismatched"].append(pk)
        else:
            results["passed"].append(pk)
    notes = {"passed": "", "not_found": _("身份证号不存在"), "mismatched": _("身份证号与姓名不匹配")}
    with transaction.atomic(), acting_as(user, identity_check=name):
        for outcome, pks in results.items():
            status = Pupil.IdentityStatus.PASSED if outcome == "passed" else Pupil.IdentityStatus.FAILED
            for start in range(0, len(pks), 5000):
                Pupil.objects.filter(pk__in=pks[start:start + 5000]).update(
                    identity_status=status, identity_note=notes[outcome], updated_at=timezone.now())
        run = IdentityCheckRun.objects.create(
            province_id=province, started_by=user, source_name=name,
            extract_rows=len(getattr(registry, "people", ())), checked=sum(map(len, results.values())),
            passed=len(results["passed"]), not_found=len(results["not_found"]),
            mismatched=len(results["mismatched"]),
        )
    log.info("identity check %s by %s: %s", run.pk, user, {k: len(v) for k, v in results.items()})
    return run


def promote_to_g(*, user, pupils: list[str] | None = None) -> dict:
    """L→G (and J→G) promotion by the province: pupils with a valid resident ID, no open case
    and a passed identity check get ``G`` + ID number; history keeps the old number.

    ``pupils``: national numbers to promote (each refusal reported with its code); None =
    every eligible pupil of the province.
    """
    require_province_admin(user)
    candidates = restrict(Pupil.objects.all(), user).filter(status__in=ACTIVE_STATUSES).exclude(
        national_number__startswith="G")
    if pupils is not None:
        wanted = [n.strip().upper() for n in pupils]
        candidates = candidates.filter(national_number__in=wanted)
        missing = set(wanted) - set(candidates.values_list("national_number", flat=True))
    else:
        candidates = candidates.filter(identity_status=Pupil.IdentityStatus.PASSED, id_type="1").exclude(
            id_number="").exclude(duplicate_cases__status=DuplicateCase.Status.OPEN)
        missing = set()
    promoted, refused = [], [{"national_number": n, "code": "not_found",
                              "message": _("未找到该学生，或不在您的管理范围内")} for n in sorted(missing)]
    with transaction.atomic(), acting_as(user):
        for pupil in candidates.select_for_update(of=("self",)).order_by("pk"):
            problem = _promotion_problem(pupil)
            if problem is not None:
                refused.append({"national_number": pupil.national_number, "code": problem.code,
                                "message": str(problem.message)})
                continue
            old = pupil.national_number
            pupil.national_number = identity.make_g_number(pupil.id_number)
            try:
                with transaction.atomic():
                    pupil.save(update_fields=["national_number", "updated_at"])
            except IntegrityError:
                refused.append({"national_number": old, "code": "g_number_taken",
                                "message": _("G 号 %(g)s 已被其他学籍使用") % {"g": pupil.national_number}})
                continue
            record_event(pupil, kind="number_changed", user=user, data={"before": old, "after": pupil.national_number},
                         summary=_("全国学籍号由临时号 %(old)s 转为正式号 %(new)s") % {"old": old,
                                                                                     "new": pupil.national_number})
            promoted.append({"before": old, "after": pupil.national_number})
    log.info("L→G promotion by %s: %s promoted, %s refused", user, len(promoted), len(refused))
    return {"promoted": promoted, "refused": refused}


def _promotion_problem(pupil: Pupil) -> BusinessRefused | None:
    if pupil.id_type != "1" or not pupil.id_number or not matching.id_is_valid(pupil.id_number):
        return BusinessRefused(_("%(name)s 没有有效的居民身份证号，不能转为正式学籍号") % {"name": pupil.name},
                               code="no_valid_resident_id")
    reasons = pupil_problem_reasons(pupil)
    if reasons:
        return BusinessRefused(_("%(name)s 为问题学籍：%(r)s") % {"name": pupil.name, "r": "；".join(reasons)},
                               code="problem_record")
    if pupil.identity_status != Pupil.IdentityStatus.PASSED:
        return BusinessRefused(_("%(name)s 尚未通过身份核验") % {"name": pupil.name}, code="identity_unchecked")
    return None


# --- province policy (省级政策) ------------------------------------------------------------------

def policy_for_admin(*, user):
    """The policy of the admin's province (unsaved defaults when never set)."""
    from provinces.models import ProvincePolicy

    membership = require_role(user, Role.ADMIN)
    return ProvincePolicy.stored(membership.division_id)


def policy_save(*, user, form) -> None:
    membership = require_province_admin(user)
    with transaction.atomic(), acting_as(user):
        policy = form.save(commit=False)
        policy.province_id = membership.division_id
        policy.save()
    log.info("province policy %s saved by %s", membership.division_id, user)


def calendar_override_set(*, user, day, is_working_day: bool, note: str = ""):
    from provinces.models import CalendarOverride

    membership = require_role(user, Role.ADMIN)
    with transaction.atomic(), acting_as(user):
        override, _created = CalendarOverride.objects.update_or_create(
            province_id=membership.division_id, day=day, defaults={"is_working_day": is_working_day, "note": note})
    log.info("calendar override %s %s by %s", day, is_working_day, user)
    return override


def calendar_overrides_of(*, user):
    from provinces.models import CalendarOverride

    membership = require_role(user, Role.ADMIN)
    return CalendarOverride.objects.filter(province_id=membership.division_id).order_by("-day")[:50]
