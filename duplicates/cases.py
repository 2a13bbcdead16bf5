"""Cases (疑似重复学籍): opened by sweeps and at entry, one per new pair, for the counties
of their members; resolved by the county: 佐证 (evidence), 删除 (delete the wrong record) or
变更 (a key change, then a re-check of the pair).

Case lifecycle::

    open ──佐证 evidence──▶ resolved   (pair → CleanPair: never flagged again)
    open ──删除 delete────▶ resolved   (the wrong record → status deleted)
    open ──变更 change────▶ open, waiting on a key change (``changes``, at the county step)
         refused/withdrawn ─▶ open (the waiting cleared)
         approved ─▶ re-check due ─▶ the pair no longer matches ─▶ resolved (change)
                                  └▶ still matching ─▶ open (the waiting cleared)

The re-check runs after the approval commits (a Celery task queued on commit) and on the
beat schedule for any still due; reading a case never writes.
"""

from __future__ import annotations

import logging

from celery import current_app
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import acting_as
from accounts.models import Membership, Unit
from accounts.permissions import require_county_user
from accounts.scope import get_in_scope, scope_of
from duplicates.keys import case_threshold, pupil_key
from duplicates.models import (
    CaseMember,
    CleanPair,
    DuplicateCase,
)
from kernel import matching, sealed
from kernel.errors import Conflict, Forbidden, ValidationFailed
from kernel.proof import check_proof
from registry.history import record_event
from registry.models import Pupil, PupilStatus
from workflow import workitems

log = logging.getLogger(__name__)

#: Seals the reference of a likely match (entry check): the pupil, encrypted, so that a card shown
#: to another unit reveals neither the national number nor the record's id.
LIKELY_SALT = "duplicates.likely"


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def known_pairs(province_code: str) -> set[tuple[int, int]]:
    """Pairs never to be opened again: any case (open or resolved) and every CleanPair."""
    pairs = set(DuplicateCase.objects.filter(province_id=province_code).values_list("pupil_low", "pupil_high"))
    pairs |= set(CleanPair.objects.filter(pupil_low__county_code__startswith=province_code)
                 .values_list("pupil_low", "pupil_high"))
    return pairs


def create_cases(province_code: str, found: list[tuple[tuple[int, int], float, list, str]], *, source: str,
                  sweep=None, reason: str = "") -> int:
    """Open a case per new pair (already filtered); members get their county snapshot."""
    if not found:
        return 0
    pupil_ids = {pk for (pair, *_rest) in found for pk in pair}
    pupils = {pk: (county, name) for pk, county, name in
              Pupil.objects.filter(pk__in=pupil_ids).values_list("pk", "county_code", "name")}
    counties = {pk: county for pk, (county, _name) in pupils.items()}
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
        cases_todo_open(cases, names={pk: name for pk, (_county, name) in pupils.items()}, counties=counties)
        created += len(cases)
    return created


def cases_follow_pupils(pupil_ids) -> int:
    """The open cases of pupils who moved (转学 completed, 升学 applied) pass to the county
    where each pupil now is: that county decides them (and sees them), the county the pupil
    left no longer does. Resolved cases keep the county that decided them. Called by the
    layers that move pupils, in their transaction, after the pupils' county was written;
    returns the memberships moved (each move is logged in the membership's history)."""
    moving = (CaseMember.objects.filter(pupil_id__in=list(pupil_ids), case__status=DuplicateCase.Status.OPEN)
              .exclude(county_code=F("pupil__county_code")))
    case_ids = set(moving.values_list("case_id", flat=True))
    moved = moving.update(
        county_code=Subquery(Pupil.objects.filter(pk=OuterRef("pupil_id")).values("county_code")[:1]))
    if moved:
        log.info("%s open case membership(s) moved with their pupils", moved)
        for case in DuplicateCase.objects.filter(pk__in=case_ids):
            _case_todo_follow(case)
    return moved


def _case_todo_follow(case: DuplicateCase) -> None:
    """The 待办 of a case whose member moved: the county the pupil left loses its item, the
    county the pupil reached gets one (due from today); a county that still holds a member
    keeps its item and its deadline."""
    members = list(case.memberships.values_list("pupil_id", "county_code", "pupil__name"))
    counties = {county for _pk, county, _name in members}
    missing = workitems.workitems_keep_units(subject=case, unit_codes=counties)
    if missing:
        names = {pk: name for pk, _county, name in members}
        title = _("疑似重复学籍：%(a)s / %(b)s") % {"a": names.get(case.pupil_low_id, ""),
                                                  "b": names.get(case.pupil_high_id, "")}
        url = reverse("duplicates:case_detail", args=[case.pk])
        workitems.workitems_open_many([(case, Unit(division_code=code), title, url) for code in sorted(missing)],
                                      kind=CASE_KIND, role=Membership.Role.OPERATOR)
#: The 待办 kind of a case; a county's operator resolves it (its 删除 goes to the approver).
CASE_KIND = "duplicate_case"


def cases_todo_open(cases, *, names: dict[int, str], counties: dict[int, str]) -> int:
    """待办: an open case waits for the county of each of its members (one item per county),
    due in that province's working days (the step time of every chain)."""
    entries = []
    for case in cases:
        title = _("疑似重复学籍：%(a)s / %(b)s") % {"a": names.get(case.pupil_low_id, ""),
                                                  "b": names.get(case.pupil_high_id, "")}
        url = reverse("duplicates:case_detail", args=[case.pk])
        for county in dict.fromkeys((counties[case.pupil_low_id], counties[case.pupil_high_id])):
            entries.append((case, Unit(division_code=county), title, url))
    return workitems.workitems_open_many(entries, kind=CASE_KIND, role=Membership.Role.OPERATOR)


def _case_todo_reopen(case: DuplicateCase) -> None:
    members = list(case.memberships.values_list("pupil_id", "county_code", "pupil__name"))
    cases_todo_open([case], names={pk: name for pk, _county, name in members},
                    counties={pk: county for pk, county, _name in members})


def case_open_at_entry(*, user, pupil: Pupil, likely: list[dict], reason: str) -> list[DuplicateCase]:
    """The operator kept a record despite likely matches: one open case per pair, with the reason."""
    province = pupil.county_code[:2]
    others = dict(Pupil.objects.filter(national_number__in=[item["national_number"] for item in likely
                                                            if item.get("national_number")])
                  .values_list("national_number", "pk"))
    known = known_pairs(province)
    found = []
    for item in likely:
        other = others.get(item.get("national_number")) or likely_pk(item)
        if other is None or other == pupil.pk:
            continue
        pair = _pair(pupil.pk, other)
        if pair in known:
            continue
        known.add(pair)
        found.append((pair, item["score"], item["reasons"], item.get("kind", "")))
    with transaction.atomic(), acting_as(user):
        create_cases(province, found, source=DuplicateCase.Source.ENTRY, reason=reason)
        record_event(pupil, kind="duplicate_kept",
                     summary=_("录入时发现%(n)s条疑似重复学籍，操作员确认保留，理由：%(reason)s")
                     % {"n": len(found), "reason": reason}, user=user)
    log.info("entry override: pupil %s, %s case(s) by %s", pupil.pk, len(found), user)
    return list(DuplicateCase.objects.filter(members=pupil, status=DuplicateCase.Status.OPEN))


def likely_ref(pupil_pk: int) -> str:
    """The opaque reference of a likely match (encrypted: it reveals nothing of the pupil)."""
    return sealed.seal(pupil_pk, purpose=LIKELY_SALT)


def likely_pk(item: dict) -> int | None:
    """The pupil of a likely match shown as the minimal card (its sealed ``ref``)."""
    try:
        return int(sealed.unseal(item["ref"], purpose=LIKELY_SALT))
    except (KeyError, TypeError, ValueError):  # BadSeal is a ValueError
        return None


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
    workitems.workitem_close(subject=case)
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


def case_delete_member(*, user, case_id: int, pupil_id: int, note: str) -> tuple[str, list[int]]:
    """删除, the effect (an approved ``DeletionRequest``; in its transaction): soft-delete the
    member (status deleted: out of the active registry, kept in history); every other open
    case of that record is resolved with it. Returns the status before and the cases resolved."""
    case = DuplicateCase.objects.select_for_update().get(pk=case_id)
    if case.status != DuplicateCase.Status.OPEN:
        raise Conflict(_("该案件已处理，不能再次处理"), code="case_not_open")
    member = Pupil.objects.select_for_update().get(pk=pupil_id)
    if member.status == PupilStatus.DELETED:
        raise Conflict(_("该学籍已删除"), code="already_deleted", field="pupil")
    before = member.status
    member.status = PupilStatus.DELETED
    member.save(update_fields=["status", "updated_at"])
    record_event(member, kind="deleted", user=user, data={"case": case.pk, "status_before": before},
                 summary=_("因重复学籍（案件 %(id)s）删除本条学籍：%(note)s") % {"id": case.pk, "note": note})
    others = DuplicateCase.objects.select_for_update().filter(members=member, status=DuplicateCase.Status.OPEN)
    resolved = [case, *others.exclude(pk=case.pk)]
    for other in resolved:
        _resolve(other, user, DuplicateCase.Resolution.DELETE, note)
    log.info("case %s resolved by deleting pupil %s by %s", case_id, pupil_id, user)
    return before, [c.pk for c in resolved]


def case_member_for_delete(*, user, case_id: int, pupil: str, note: str) -> tuple[DuplicateCase, Pupil]:
    """删除, the proposal's checks: an open case (locked), a member of the user's county, a reason."""
    if not (note or "").strip():
        raise ValidationFailed(_("删除学籍须说明理由"), code="note_required", field="note")
    case = _case_for_county(user, case_id)
    member = Pupil.objects.select_for_update().get(pk=_member_in_county(user, case, pupil).pk)
    if member.status == PupilStatus.DELETED:
        raise Conflict(_("该学籍已删除"), code="already_deleted", field="pupil")
    return case, member


def case_reopen(*, user, case_ids: list[int], note: str) -> int:
    """An undone 删除: the cases it resolved are open again (the pair waits for the county)."""
    reopened = 0
    for case in DuplicateCase.objects.select_for_update().filter(pk__in=case_ids,
                                                                 resolution=DuplicateCase.Resolution.DELETE):
        case.status, case.resolution, case.resolved_by, case.resolved_at = DuplicateCase.Status.OPEN, "", None, None
        case.note = (note or "")[:500]
        try:
            with transaction.atomic():
                case.save()
        except IntegrityError:  # the pair has another open case meanwhile
            continue
        _case_todo_reopen(case)
        reopened += 1
    return reopened


def case_for_change(*, user, case_id: int, pupil: str, payload: dict) -> tuple[DuplicateCase, Pupil]:
    """变更, first half: the open case (locked) and the member whose key fields the county
    corrects. The key change itself is opened by ``changes.requests.case_key_change_open``,
    which then calls ``case_change_filed``."""
    if not payload:
        raise ValidationFailed(_("请填写要更正的关键信息"), code="payload_required", field="payload")
    case = _case_for_county(user, case_id)
    if case.change_request_id:
        raise Conflict(_("该案件已有正在审核的变更申请"), code="change_pending")
    return case, _member_in_county(user, case, pupil)


def case_change_filed(case: DuplicateCase, *, request_id: int, note: str = "") -> None:
    """The case waits on key change ``request_id`` (in the caller's transaction)."""
    case.change_request_id = request_id
    case.note = (note or "")[:500]
    case.save(update_fields=["change_request_id", "note"])
    log.info("case %s waits on change request %s", case.pk, request_id)


def case_change_decided(*, request_id: int, approved: bool) -> None:
    """A key change some case waits on was decided (in the deciding transaction). Refused or
    withdrawn: the case is open again. Approved: the pair is matched again once the change
    is committed (``case_recheck``, queued; the beat schedule catches a lost task)."""
    waiting = DuplicateCase.objects.select_for_update().filter(
        status=DuplicateCase.Status.OPEN, change_request_id=request_id
    )
    for case in waiting:
        if approved:
            case.recheck_due = True
            case.save(update_fields=["recheck_due"])
            transaction.on_commit(
                lambda pk=case.pk: current_app.signature("duplicates.tasks.case_recheck_task", args=(pk,)).delay()
            )
        else:
            case.change_request_id = None
            case.save(update_fields=["change_request_id"])


def case_recheck(*, case_id: int) -> DuplicateCase | None:
    """Match the pair of a case whose key change was approved: no longer a likely pair →
    resolved (变更); still one → open again, with a note, for the county to decide anew."""
    with transaction.atomic(), acting_as(None, task="case_recheck", case=case_id):
        case = DuplicateCase.objects.select_for_update().filter(
            pk=case_id, status=DuplicateCase.Status.OPEN, recheck_due=True
        ).first()
        if case is None:  # done already (a second delivery, or the beat got there first)
            return None
        pupils = list(Pupil.objects.filter(pk__in=(case.pupil_low_id, case.pupil_high_id))
                      .prefetch_related("guardians"))
        keys = [pupil_key(p) for p in pupils]
        still = [m for m in matching.matches_for(keys[0], keys[1:])
                 if m.score >= case_threshold(case.province_id)] if len(keys) == 2 else []
        case.recheck_due = False
        if still:
            case.change_request_id = None
            case.score, case.reasons, case.kind = still[0].score, list(still[0].reasons), still[0].kind
            case.note = _("变更已审核通过，但两条学籍仍疑似重复，请重新处理")
            case.save()
        else:
            _resolve(case, None, DuplicateCase.Resolution.CHANGE, case.note or _("关键信息变更已审核通过"))
    return case


def cases_recheck_due(*, province_code: str = "") -> int:
    """The cases of a province (of every province by default) still due a re-check."""
    due = DuplicateCase.objects.filter(status=DuplicateCase.Status.OPEN, recheck_due=True,
                                       province__code__startswith=province_code).values_list("pk", flat=True)
    resolved = 0
    for pk in list(due):
        case = case_recheck(case_id=pk)
        resolved += case is not None and case.status == DuplicateCase.Status.RESOLVED
    return resolved
