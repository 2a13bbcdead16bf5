"""Problem records (问题学籍): pupils that block transfers and L→G promotion.

A pupil is a problem record while its identity check failed (身份核验未通过) or while it is a
member of an open duplicate case (疑似重复学籍, ``DuplicateCase``).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from duplicates.models import DuplicateCase
from registry.models import Pupil


def pupil_problem_reasons(pupil: Pupil) -> list[str]:
    """Why ``pupil`` is a problem record, in words; empty when it is not one."""
    reasons = []
    if pupil.identity_status == Pupil.IdentityStatus.FAILED:
        reasons.append(str(_("身份核验未通过：%(note)s") % {"note": pupil.identity_note}))
    open_cases = list(
        DuplicateCase.objects.filter(members=pupil, status=DuplicateCase.Status.OPEN).values_list("pk", flat=True)
    )
    if open_cases:
        reasons.append(
            str(_("存在未处理的疑似重复学籍案件（案件编号 %(ids)s）") % {"ids": "、".join(str(pk) for pk in open_cases)})
        )
    return reasons
