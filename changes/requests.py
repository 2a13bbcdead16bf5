"""Services of change requests (学籍异动): status changes and key-field changes of one pupil.

Each request is a row of the ``changes.chain.CHANGE_REQUEST`` chain: opened (and usually
submitted at once) by the pupil's school, approved by the school's approver and then its
county, applied by ``changes.apply``. The request is the pupil's open business (在办业务)
until it is decided or withdrawn.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.audit import acting_as
from accounts.permissions import require_membership, require_role
from accounts.scope import get_in_scope
from changes import rules
from changes.chain import CHANGE_REQUEST, SUBMITTERS
from changes.models import ChangeRequest, Evidence
from kernel.errors import Forbidden
from kernel.proof import check_proof, check_proofs, require_room
from registry.models import Pupil
from schools.models import School
from workflow import business, engine

log = logging.getLogger("changes")


def _initiator_level(user, *, school: School, key_change_or_county_ok: bool) -> str:
    """Who may start a chain: an operator or approver of the school; for key changes also
    a user of the school's county (duplicate-case 变更), whose chain starts at the county."""
    membership = require_membership(user)
    require_role(user, *SUBMITTERS)
    if membership.school_id == school.pk:
        return "school"
    if key_change_or_county_ok and membership.division_id == school.county_id:
        return "county"
    raise Forbidden(_("只有学生所在学校可以发起此项学籍异动"), code="school_only")


# --- change requests (学籍异动) ---------------------------------------------------------

def change_request_open(
    *,
    user,
    pupil: Pupil | str,
    kind: str,
    payload: dict,
    reason: str = "",
    evidence=(),
    submit: bool = True,
    today: dt.date | None = None,
) -> ChangeRequest:
    """Open a change request for a pupil (and submit it unless ``submit=False``).

    ``pupil`` is a Pupil or its national student number. The request becomes the pupil's
    在办业务 until it is decided or withdrawn. ``evidence`` are uploaded files.
    """
    today = today or timezone.localdate()
    number = pupil if isinstance(pupil, str) else pupil.national_number
    found = get_in_scope(Pupil.objects.select_related("school"), user, national_number=number.strip().upper())
    level = _initiator_level(user, school=found.school, key_change_or_county_ok=kind == ChangeRequest.Kind.KEY_CHANGE)
    files = check_proofs(evidence, field="evidence")
    if kind == ChangeRequest.Kind.KEY_CHANGE and isinstance(payload, dict):
        # Before the transaction: a refusal naming another unit's holder is recorded, not rolled back.
        rules.held_id_refusal(found, payload, user=user)
    with transaction.atomic(), acting_as(user):
        locked = Pupil.objects.select_for_update(of=("self",)).select_related("school", "school_class").get(pk=found.pk)
        cleaned = rules.check(kind, pupil=locked, payload=payload or {}, today=today, user=user)
        if refusal := rules.reason_refusal(kind, reason):
            raise refusal
        business.require_no_open_business(locked)
        request = ChangeRequest.objects.create(
            pupil=locked,
            kind=kind,
            payload=cleaned,
            reason=str(reason or "")[:500],
            school=locked.school,
            county_code=locked.county_code,
            initiator=user,
            initiator_level=level,
        )
        engine.start(CHANGE_REQUEST, request, user=user, action="open", reason=reason)
        for checked in files:
            _store_evidence(request, checked, user)
        if submit:
            request = engine.move(CHANGE_REQUEST, user=user, pk=request.pk, action="submit", recheck=False)
    return request


def change_request_submit(*, user, request_id: int) -> ChangeRequest:
    """The person who opened a draft submits it (the rules and the evidence are checked again)."""
    return engine.move(CHANGE_REQUEST, user=user, pk=request_id, action="submit")


def change_request_correct(
    *,
    user,
    request_id: int,
    payload: dict,
    reason: str = "",
    evidence=(),
    note: str = "",
    today: dt.date | None = None,
) -> ChangeRequest:
    """退回修改 answered (or a draft finished): the person who opened the request corrects its
    fields and reason — the rules of the kind again, as at opening — adds material, and
    submits it. The submission's log names each change (old → new); the row's history keeps
    them too."""
    today = today or timezone.localdate()
    files = check_proofs(evidence, field="evidence")
    found = CHANGE_REQUEST.hooks.visible(CHANGE_REQUEST, user).select_related("pupil").filter(pk=request_id).first()
    if found is not None and found.kind == ChangeRequest.Kind.KEY_CHANGE and isinstance(payload, dict):
        rules.held_id_refusal(found.pupil, payload, user=user)  # recorded, so before the transaction
    with transaction.atomic(), acting_as(user):
        request = CHANGE_REQUEST.hooks.lock(CHANGE_REQUEST, user, request_id)
        engine.require_allowed(CHANGE_REQUEST, user, request, "submit")
        pupil = Pupil.objects.select_for_update(of=("self",)).select_related("school", "school_class").get(
            pk=request.pupil_id)
        cleaned = rules.check(request.kind, pupil=pupil, payload=payload or {}, today=today,
                              filed_on=request.created_at.date(), user=user)
        if refusal := rules.reason_refusal(request.kind, reason):
            raise refusal
        require_room(already=request.evidence.count(), adding=len(files), field="evidence")
        changes = [(rules.payload_label(key), rules.shown_value(key, request.payload.get(key)),
                    rules.shown_value(key, cleaned.get(key)))
                   for key in dict.fromkeys([*request.payload, *cleaned])
                   if str(request.payload.get(key, "")) != str(cleaned.get(key, ""))]
        before = {"reason": request.reason}
        request.payload, request.reason = cleaned, str(reason or "").strip()[:500]
        changes += engine.changes_of(request, before)
        request.save(update_fields=["payload", "reason"])
        for checked in files:
            _store_evidence(request, checked, user)
            changes.append((str(_("证明材料")), "—", checked.original_name))
        return engine.move(CHANGE_REQUEST, user=user, pk=request_id, action="submit", recheck=False,
                           reason=engine.changes_text(changes, note))


def change_request_approve(*, user, request_id: int, note: str = "", acknowledge_duplicates: bool = False) -> ChangeRequest:
    """Approve the request at the user's step; the county's approval applies the change."""
    return engine.move(CHANGE_REQUEST, user=user, pk=request_id, action="approve", reason=note,
                       acknowledge_duplicates=acknowledge_duplicates)


def change_request_refuse(*, user, request_id: int, reason: str) -> ChangeRequest:
    return engine.move(CHANGE_REQUEST, user=user, pk=request_id, action="refuse", reason=reason)


def change_request_send_back(*, user, request_id: int, reason: str) -> ChangeRequest:
    """退回修改: back to its draft (a school or county approver, with a reason); the initiator
    submits it again (``change_request_submit``)."""
    return engine.move(CHANGE_REQUEST, user=user, pk=request_id, action=engine.SEND_BACK, reason=reason)


def change_request_withdraw(*, user, request_id: int) -> ChangeRequest:
    return engine.move(CHANGE_REQUEST, user=user, pk=request_id, action="withdraw")


def evidence_add(*, user, request_id: int, upload) -> Evidence:
    """Attach one file to an open request; only the initiating unit adds material."""
    checked = check_proof(upload, field="evidence")
    with transaction.atomic(), acting_as(user):
        request = CHANGE_REQUEST.hooks.lock(CHANGE_REQUEST, user, request_id)
        membership = require_membership(user)
        own_unit = membership.school_id == request.school_id or (
            request.initiator_level == "county" and membership.division_id == request.county_code
        )
        if not own_unit:
            raise Forbidden(_("只有申请单位可以上传证明材料"), code="not_initiator")
        if not request.is_open:
            raise engine.state_conflict(CHANGE_REQUEST, request)
        require_room(already=request.evidence.count(), adding=1, field="evidence")
        return _store_evidence(request, checked, user)


def _store_evidence(request: ChangeRequest, checked, user) -> Evidence:
    item = Evidence(
        request=request,
        stored_name=checked.stored_name(),
        original_name=checked.original_name,
        content_type=checked.content_type,
        size=len(checked.content),
        uploaded_by=user,
    )
    item.file.save(item.stored_name, ContentFile(checked.content), save=False)
    item.save()
    log.info("evidence %s (%s bytes) added to change request %s", item.stored_name, item.size, request.pk)
    return item
