"""L→G promotion (临时学籍号转正式学籍号): pupils with a valid resident ID, no open case and a
passed identity check get ``G`` + their ID number; history keeps the old number."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.audit import acting_as
from accounts.permissions import require_province_admin
from accounts.scope import restrict
from duplicates.models import (
    DuplicateCase,
)
from duplicates.problems import pupil_problem_reasons
from kernel import identity, matching
from kernel.errors import BusinessRefused
from registry import numbers
from registry.history import record_event
from registry.lifelong import registration_pending_refusal
from registry.models import ACTIVE_STATUSES, Pupil, PupilStatus

log = logging.getLogger(__name__)


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
            id_number="").exclude(status=PupilStatus.PENDING).exclude(duplicate_cases__status=DuplicateCase.Status.OPEN)
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
            numbers.retire(pupil=pupil, number=old)
            record_event(pupil, kind="number_changed", user=user, data={"before": old, "after": pupil.national_number},
                         summary=_("全国学籍号由临时号 %(old)s 转为正式号 %(new)s") % {"old": old,
                                                                                     "new": pupil.national_number})
            promoted.append({"before": old, "after": pupil.national_number})
    log.info("L→G promotion by %s: %s promoted, %s refused", user, len(promoted), len(refused))
    return {"promoted": promoted, "refused": refused}


def _promotion_problem(pupil: Pupil) -> BusinessRefused | None:
    if (pending := registration_pending_refusal(pupil, doing=_("转为正式学籍号"))) is not None:
        return pending
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
