"""在办业务: a pupil has at most one open business (transfer, status change, key-field change)
at a time. The unique pupil column of ``OpenBusiness`` is the lock; ``business_refusal`` is
the one refusal every chain gives when the pupil is busy."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from kernel.errors import BusinessRefused
from registry.models import Pupil
from workflow.models import OpenBusiness

BUSINESS_LABELS = {
    "transfer": _("转学"),
    "status_change": _("学籍异动"),
    "key_change": _("关键信息变更"),
    "record_update": _("信息维护"),
    "registration": _("新生注册审核"),
    "deletion": _("删除学籍"),
}


def business_refusal(current: OpenBusiness | None) -> BusinessRefused:
    """The refusal for a pupil whose business ``current`` is still open."""
    label = BUSINESS_LABELS.get(current.kind, current.kind) if current else ""
    return BusinessRefused(
        _("该学生有正在办理的业务（%(kind)s），办结后才能办理新业务") % {"kind": label},
        code="open_business",
    )


def require_no_open_business(pupil: Pupil) -> None:
    """Refuse before any row is written when the pupil has an open business."""
    current = open_business_of(pupil)
    if current is not None:
        raise business_refusal(current)


def business_begin(*, pupil: Pupil, kind: str, subject) -> None:
    """Claim the pupil for one open business; refuses when another one is open."""
    try:
        with transaction.atomic():
            OpenBusiness.objects.create(
                pupil=pupil,
                kind=kind,
                content_type=ContentType.objects.get_for_model(subject),
                object_id=subject.pk,
            )
    except IntegrityError:
        raise business_refusal(OpenBusiness.objects.filter(pupil=pupil).first()) from None


def business_end(*, subject) -> None:
    OpenBusiness.objects.filter(
        content_type=ContentType.objects.get_for_model(subject), object_id=subject.pk
    ).delete()


def open_business_of(pupil: Pupil) -> OpenBusiness | None:
    return OpenBusiness.objects.filter(pupil=pupil).first()
