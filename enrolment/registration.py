"""新生注册 (registration): a new pupil enters the registry through the form or the API.

The record's own rules, the registration's own (学生来源 and reason outside an entry grade,
``source_problems``), then the checks against the registry (``enrolment.checks``), then
the number (``registry.numbers``), the record and its family in one transaction, with the
history entry and, when the operator kept a likely duplicate, a case for the counties.

The new record is 待审核 (``PupilStatus.PENDING``) until the registration chain
(``enrolment.chains.REGISTRATION``) is approved: an approver of the school, then — when
``county_review_needed`` says so — an approver of the county. The number is given at
registration; a refused record is 注册未通过 (closed, its number never issued again).
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from accounts.audit import acting_as
from accounts.models import Membership
from accounts.permissions import require_role, school_for_write
from duplicates import entry
from enrolment import review
from enrolment.chains import REGISTRATION
from enrolment.checks import (
    RegistryCheck,
    active_holder_of,
    check_against_registry,
    id_held_elsewhere_error,
    id_held_in_other_province_error,
    peers_holding,
    peers_unreachable_warning,
)
from enrolment.models import Registration, RegistrationState, StudentSource
from enrolment.review import source_problems
from kernel.errors import BusinessRefused, ValidationFailed
from provinces.models import ProvincePolicy
from registry import codes, fields, nohukou, numbers
from registry.history import record_event
from registry.models import Guardian, Pupil, PupilStatus
from registry.records import GuardianData, PupilData, record_of
from registry.validation import has_resident_id, pupil_problems
from schools.classes import class_for
from schools.models import School
from workflow import engine


def pupil_register(*, user, data: PupilData, duplicate_reason: str = "") -> Pupil:
    """Register a new pupil (新生注册/学籍建立) and give it a national student number.

    Refuses: a record with any problem (all of them at once); a school out of scope; an
    ID number already held by an active pupil (naming the holder); likely duplicates of
    an existing pupil unless the operator states why this is a different child, and so for
    a no-hukou twin of an existing record (``nohukou.multiple_birth_override``); each kept
    pair opens a case for the counties. The new record is 待审核 and its review starts.
    """
    require_role(user, Membership.Role.OPERATOR, Membership.Role.ADMIN)
    school = school_for_write(user=user, school_code=data.school_code)
    _raise_all(pupil_problems(data, school=school) + source_problems(data))
    [check] = check_against_registry([data], [school])
    sibling, across, likely = _entry_refusals(check, data, user=user, duplicate_reason=duplicate_reason)

    nohukou.derive_hukou(data)
    with transaction.atomic(), acting_as(user):
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    pupil = _create_pupil(school=school, data=data)
                break
            except IntegrityError as exc:
                if "one_active_pupil_per_id_number" in str(exc):  # a concurrent registration won
                    raise id_held_elsewhere_error(active_holder_of(data.id_number), user=user, name=data.name) from exc
                if "national_number" not in str(exc):
                    raise
        else:  # pragma: no cover - 4 random digits colliding five times
            raise BusinessRefused(_("学籍号分配失败，请重试"), code="number_allocation_failed")
        record_event(
            pupil,
            kind="registered",
            summary=_("在%(school)s建立学籍，全国学籍号 %(number)s")
            % {"school": school.name, "number": pupil.national_number},
            user=user,
        )
        if across is not None and across.unreachable:
            pupil.entry_warnings = [peers_unreachable_warning(across.unreachable)]
            record_event(pupil, kind="peer_check_skipped", summary=pupil.entry_warnings[0], user=user,
                         data={"peers": across.unreachable})
        kept = likely + ([sibling] if sibling else [])
        if kept:
            entry.record_entry_override(pupil=pupil, likely=kept, reason=duplicate_reason, user=user)
        registration_open(pupil=pupil, data=data, user=user)
    return pupil


def registration_new(*, pupil_id: int, school: School, data: PupilData, user,
                     policy: ProvincePolicy | None = None) -> Registration:
    """The (unsaved) review of a new record: the form, the API and the roster build it here
    (a bulk writer passes the province's ``policy`` once for all its rows)."""
    source = review.source_code(data.source) or StudentSource.NORMAL
    return Registration(
        pupil_id=pupil_id, state=RegistrationState.SCHOOL_REVIEW, school=school, county_code=school.county_id,
        grade=data.grade, source=source, source_reason=(data.source_reason or "")[:500],
        county_review=review.county_review_needed(
            no_hukou=nohukou.is_no_hukou(data), grade=data.grade, source=source,
            policy=policy or ProvincePolicy.for_province(school.county_id),
        ),
        initiator=user,
    )


def registration_open(*, pupil: Pupil, data: PupilData, user) -> Registration:
    """The review of a new record (the pupil is 待审核): waits for the school's approver."""
    row = registration_new(pupil_id=pupil.pk, school=pupil.school, data=data, user=user)
    row.save()
    engine.start(REGISTRATION, row, user=user, action="register")
    return row


def registration_approve(*, user, registration_id: int) -> Registration:
    return engine.move(REGISTRATION, user=user, pk=registration_id, action="approve")


def registration_refuse(*, user, registration_id: int, reason: str) -> Registration:
    return engine.move(REGISTRATION, user=user, pk=registration_id, action="refuse", reason=reason)


def registration_send_back(*, user, registration_id: int, reason: str) -> Registration:
    """退回修改: back to the person who registered the pupil (an approver, with a reason)."""
    return engine.move(REGISTRATION, user=user, pk=registration_id, action=engine.SEND_BACK, reason=reason)


def registration_resubmit(*, user, registration_id: int, reason: str = "") -> Registration:
    """The person who registered a pupil sent back hands it to the school's review again."""
    return engine.move(REGISTRATION, user=user, pk=registration_id, action=engine.RESUBMIT, reason=reason)


#: The record's key fields the registrar corrects after 退回修改 (besides the family members).
CORRECTABLE_FIELDS = ("name", "id_type", "id_number", "birth_date", "sex")


def registration_correct(*, user, registration_id: int, source: str | None = None, source_reason: str | None = None,
                         note: str = "",
                         record: dict | None = None, guardians: list[GuardianData] | None = None,
                         duplicate_reason: str = "") -> Registration:
    """退回修改 answered: the person who registered the pupil corrects the registration's own
    fields — 学生来源 and 注册原因, by the rules of registration (``source_problems``) — and,
    when given, the record's key fields (``record``: any of ``CORRECTABLE_FIELDS``) and its
    family members (``guardians``, all of them, replacing the stored ones), then resubmits it
    to the school's review through the chain engine; whether the county reviews it is decided
    again. Corrected values pass every check of registration (the record's own rules, an ID
    held elsewhere or in another province, the no-hukou existing record, likely duplicates
    unless ``duplicate_reason``), the record itself never counting as its own match. A field
    given as ``None`` stays as it is. The log
    and the pupil's history name each change (old → new). The national number stays unless
    it was derived from a corrected value (``_renumber``)."""
    with transaction.atomic(), acting_as(user):
        row = REGISTRATION.hooks.lock(REGISTRATION, user, registration_id)
        if row.state != RegistrationState.RETURNED and REGISTRATION.initiator_id(row) == user.pk:
            raise engine.state_conflict(REGISTRATION, row)  # the registrar's, but not sent back (now)
        engine.require_allowed(REGISTRATION, user, row, engine.RESUBMIT)
        entered = SimpleNamespace(source=row.source if source is None else source, grade=row.grade,
                                  source_reason=row.source_reason if source_reason is None else source_reason)
        problems = source_problems(entered)
        pupil = Pupil.objects.select_for_update(of=("self",)).select_related("school__county", "school_class").get(
            pk=row.pupil_id)
        changes = []
        if record or guardians is not None:
            changes = _correct_record(pupil, record=record or {}, guardians=guardians, problems=problems, user=user,
                                      duplicate_reason=duplicate_reason)
        else:
            _raise_all(problems)
        before = (row.get_source_display(), row.source_reason)
        row.source, row.source_reason = entered.source or StudentSource.NORMAL, entered.source_reason
        row.county_review = review.county_review_needed(
            no_hukou=nohukou.pupil_is_no_hukou(pupil), grade=row.grade, source=row.source,
            policy=ProvincePolicy.for_province(row.county_code))
        row.save(update_fields=["source", "source_reason", "county_review"])
        changes += [(str(Registration._meta.get_field(name).verbose_name), old or "—", new or "—")
                    for name, old, new in (("source", before[0], row.get_source_display()),
                                           ("source_reason", before[1], row.source_reason)) if old != new]
        return engine.move(REGISTRATION, user=user, pk=registration_id, action=engine.RESUBMIT,
                           reason=engine.changes_text(changes, note))


def _correct_record(pupil: Pupil, *, record: dict, guardians: list[GuardianData] | None, problems: list, user,
                    duplicate_reason: str) -> list[tuple[str, str, str]]:
    """The record's corrected key fields and family, checked as at registration and written;
    the changes ``(label, old, new)``, also in the pupil's history."""
    data = record_of(pupil)
    before, members_before = _shown(data), [dataclasses.asdict(g) for g in data.guardians]
    for name in CORRECTABLE_FIELDS:
        if name in record:
            setattr(data, name, record[name])
    if guardians is not None:
        data.guardians = guardians
    _raise_all(pupil_problems(data, school=pupil.school) + problems)
    [check] = check_against_registry([data], [pupil.school], exclude_pk=pupil.pk)
    sibling, across, likely = _entry_refusals(check, data, user=user, duplicate_reason=duplicate_reason,
                                              exclude_pk=pupil.pk)
    nohukou.derive_hukou(data)
    after = _shown(data)
    members_changed = guardians is not None and [dataclasses.asdict(g) for g in data.guardians] != members_before
    changes = [(str(label), before[key], after[key]) for key, label in _SHOWN_LABELS.items()
               if before[key] != after[key] or (key == "guardians" and members_changed)]
    if not changes:
        return []
    if members_changed:
        pupil.guardians.all().delete()
        _create_guardians(pupil, data.guardians)
    for name in CORRECTABLE_FIELDS:
        setattr(pupil, name, getattr(data, name))
    pupil.hukou_division_id = data.hukou_division_code or None
    renumbered = _renumber(pupil, data)
    if renumbered is not None:
        changes.append((str(_("全国学籍号")), *renumbered))
    try:  # saved after its family: the matching keys (duplicates.keys) follow the save
        with transaction.atomic():
            pupil.save(update_fields=[*CORRECTABLE_FIELDS, "hukou_division", "national_number", "updated_at"])
    except IntegrityError as exc:
        if "one_active_pupil_per_id_number" not in str(exc):
            raise
        raise id_held_elsewhere_error(active_holder_of(data.id_number, exclude_pk=pupil.pk), user=user,
                                      name=data.name) from exc
    record_event(pupil, kind="registration_corrected",
                 summary=_("退回修改后更正：%(changes)s") % {"changes": engine.changes_text(changes)}, user=user,
                 data={"changes": [{"field": f, "old": o, "new": n} for f, o, n in changes]})
    if across is not None and across.unreachable:
        record_event(pupil, kind="peer_check_skipped", summary=peers_unreachable_warning(across.unreachable),
                     user=user, data={"peers": across.unreachable})
    kept = likely + ([sibling] if sibling else [])
    if kept:
        entry.record_entry_override(pupil=pupil, likely=kept, reason=duplicate_reason, user=user)
    return changes


def _renumber(pupil: Pupil, data: PupilData) -> tuple[str, str] | None:
    """A record still under review whose number was derived from a corrected value — the
    birth date in an L or J number, L for a resident ID and J without one — is given the
    number the corrected record would have had (``registry.numbers``); the old one is
    retired, never given again. A G number (the resident ID itself) is never changed here.
    ``(old, new)``, or ``None`` when the number still agrees."""
    old = pupil.national_number
    resident = has_resident_id(data)
    if old[:1] not in ("L", "J") or data.birth_date is None:
        return None
    if (old[0] == "L") == resident and old[7:15] == f"{data.birth_date:%Y%m%d}":
        return None
    pupil.national_number = numbers.new_national_number(county_code=pupil.county_code, birth_date=data.birth_date,
                                                        resident_id=resident)
    numbers.retire(pupil=pupil, number=old)
    return old, pupil.national_number


_SHOWN_LABELS = {"name": _("姓名"), "id_type": _("身份证件类型"), "id_number": _("身份证件号"),
                 "birth_date": _("出生日期"), "sex": _("性别"), "guardians": _("家庭成员")}


def _shown(data: PupilData) -> dict[str, str]:
    """The corrected fields of a record as the log shows them."""
    members = "、".join(
        f"{g.name}（{'，'.join(filter(None, (codes.label('relation', g.relation), g.id_number, g.phone)))}）"
        for g in data.guardians
    )
    return {
        "name": data.name, "id_type": codes.label("id_type", data.id_type), "id_number": data.id_number or "—",
        "birth_date": data.birth_date.isoformat() if data.birth_date else "—", "sex": codes.label("sex", data.sex),
        "guardians": members or "—",
    }


def _entry_refusals(check: RegistryCheck, data: PupilData, *, user, duplicate_reason: str,
                    exclude_pk: int | None = None):
    """What the registry's answer (``check``) refuses, in the order registration refuses it:
    an ID held by an active record, the no-hukou refusals (unless a declared multiple birth),
    a holder in another province, likely duplicates without the operator's reason. Returns
    ``(sibling, across, likely)``: what is kept and recorded once the record is written.
    ``exclude_pk`` is the record being corrected (退回修改), never its own duplicate."""
    if check.holder is not None:
        raise id_held_elsewhere_error(check.holder, user=user, name=data.name)
    sibling = nohukou.multiple_birth_override(check.refusals, data, duplicate_reason)
    if sibling is None:
        _raise_all(check.refusals)
    across = peers_holding(data, user=user) if check.same_child is None else None
    if across is not None and across.holders:
        raise id_held_in_other_province_error(across.holders[0])
    likely = check.likely if sibling is None else entry.likely_duplicates(data, exclude_pk=exclude_pk)
    if likely and not duplicate_reason.strip():
        raise BusinessRefused(
            _("发现疑似重复的学籍，请核对；如确认不是同一学生，请填写理由后再保存"),
            code="likely_duplicate",
            details=entry.likely_shown_to(user, likely),
        )
    return sibling, across, likely


def _raise_all(problems: list) -> None:
    """Every problem at once: one refusal, or ``invalid_record`` with all of them."""
    if problems:
        raise problems[0] if len(problems) == 1 else ValidationFailed(
            _("学生信息有%(n)s处错误") % {"n": len(problems)},
            code="invalid_record",
            details=[p.as_dict() for p in problems],
        )


def _create_pupil(*, school: School, data: PupilData) -> Pupil:
    pupil = Pupil.objects.create(
        national_number=numbers.new_national_number(
            county_code=school.county_id, birth_date=data.birth_date, resident_id=has_resident_id(data)
        ),
        name=data.name,
        former_name=data.former_name,
        sex=data.sex,
        birth_date=data.birth_date,
        ethnicity=data.ethnicity,
        nationality=data.nationality,
        id_type=data.id_type,
        id_number=data.id_number,
        hmt=data.hmt,
        hukou_division_id=data.hukou_division_code or None,
        hukou_nature=data.hukou_nature,
        health=data.health,
        boarding=data.boarding,
        left_behind=data.left_behind,
        migrant=data.migrant,
        **fields.pupil_values(data),
        enrolled_on=data.enrolled_on,
        status=PupilStatus.PENDING,
        school=school,
        school_class=class_for(school, data.grade, data.class_number),
        grade=data.grade,
        county_code=school.county_id,
    )
    _create_guardians(pupil, data.guardians)
    return pupil


def _create_guardians(pupil: Pupil, guardians: list[GuardianData]) -> None:
    Guardian.objects.bulk_create(
        Guardian(
            pupil=pupil,
            order=index,
            name=g.name,
            relation=g.relation,
            id_type=g.id_type,
            id_number=g.id_number,
            phone=g.phone,
            is_guardian=g.is_guardian,
            is_first_guardian=g.is_first_guardian,
            vital=g.vital,
            police_reference=g.police_reference,
            police_date=g.police_date,
            hukou_division_id=g.hukou_division_code or None,
            **fields.guardian_values(g),
        )
        for index, g in enumerate(guardians, start=1)
    )
