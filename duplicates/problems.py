"""Problem records (问题学籍): pupils that block transfers and L→G promotion.

A pupil is a problem record while its identity check failed (身份核验未通过), while it is a
member of an open duplicate case (疑似重复学籍, ``DuplicateCase``), or while another
province's registry holds its resident ID on an active record (跨省在籍, ``PeerHolding``).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from duplicates.models import DuplicateCase, PeerHolding
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
    reasons.extend(peer_holding_reasons(pupil))
    return reasons


def peer_holding_reasons(pupil: Pupil) -> list[str]:
    """跨省在籍: another province's registry holds the pupil's resident ID on an active record
    (``PeerHolding``, found by a sweep)."""
    return [
        str(_("外省学籍系统（%(peer)s）中该身份证号另有在籍学籍：%(school)s（%(status)s），请核实后处理")
            % {"peer": holding.peer_name, "school": holding.card.get("school_name", ""),
               "status": holding.card.get("status_label", "")})
        for holding in PeerHolding.objects.filter(pupil=pupil, status=PeerHolding.Status.OPEN).order_by("pk")
    ]
