"""Problem records (问题学籍): pupils that block transfers and L→G promotion."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from registry.models import Pupil


def pupil_problem_reasons(pupil: Pupil) -> list[str]:
    """Why ``pupil`` is a problem record, in words; empty when it is not one."""
    reasons = []
    if pupil.identity_status == Pupil.IdentityStatus.FAILED:
        reasons.append(str(_("身份核验未通过：%(note)s") % {"note": pupil.identity_note}))
    return reasons
