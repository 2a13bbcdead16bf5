"""Resolving a duplicate case (疑似重复学籍处理) by the county: 佐证 and 删除 are the case's own
(``duplicates.cases``); 变更 opens a key change for one member, a chain of this app. The one
entry point for the three, used by the case page and the API, so it lives here, above both.
删除 is proposed here and approved by another person (``duplicates.deletion``)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.audit import acting_as
from changes.models import ChangeRequest
from changes.requests import change_request_open
from duplicates import cases, deletion
from duplicates.models import DuplicateCase
from kernel.errors import ValidationFailed

RESOLUTIONS = ("evidence", "change", "delete")


def case_key_change_open(*, user, case_id: int, pupil: str, payload: dict, note: str = "") -> DuplicateCase:
    """变更: a key-field change for one member, starting at the county step. The case waits
    until the change is decided (``changes.chain`` tells it) and is then matched again."""
    with transaction.atomic(), acting_as(user):
        case, member = cases.case_for_change(user=user, case_id=case_id, pupil=pupil, payload=payload)
        request = change_request_open(
            user=user, pupil=member, kind=ChangeRequest.Kind.KEY_CHANGE, payload=payload,
            reason=note or _("疑似重复学籍案件 %(id)s 更正关键信息") % {"id": case.pk},
        )
        cases.case_change_filed(case, request_id=request.pk, note=note)
    return case


def case_resolve(*, user, case_id: int, resolution: str, pupil: str = "", note: str = "", payload: dict | None = None,
                 evidence=None) -> None:
    if resolution == "evidence":
        cases.case_resolve_evidence(user=user, case_id=case_id, upload=evidence, note=note)
    elif resolution == "change":
        case_key_change_open(user=user, case_id=case_id, pupil=pupil, payload=payload or {}, note=note)
    elif resolution == "delete":
        deletion.deletion_propose(user=user, case_id=case_id, pupil=pupil, note=note)
    else:
        raise ValidationFailed(_("处理方式应为 evidence（佐证）、change（变更）或 delete（删除）"),
                               code="invalid_resolution", field="resolution")
