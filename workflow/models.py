"""What every approval chain shares (审批流程).

Terms of the national system, named once here:

- ``OpenBusiness`` — 在办业务: at most one open business (transfer, status change,
  key-field change) per pupil, enforced by a unique constraint
- ``WorkItem`` — 待办: an open step of any chain, owned by one unit, with its deadline
- ``ChainEvent`` — 审核记录: one row per transition of any chain (who, which unit, why)
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership
from provinces.models import Division
from registry.models import Pupil
from schools.models import School


class OpenBusiness(models.Model):
    """在办业务: the one open business of a pupil. The unique pupil column is the lock."""

    pupil = models.OneToOneField(Pupil, on_delete=models.CASCADE, related_name="open_business")
    kind = models.CharField(max_length=32)
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    started_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "registry_openbusiness"  # moved from the registry app; the table kept its name

    def __str__(self) -> str:
        return f"{self.pupil_id}: {self.kind}"


class WorkItem(models.Model):
    """待办: an open step of a chain, owned by one unit, due on a working-day deadline.

    Every chain (transfer, change request, graduation list, duplicate case) opens a work
    item when a step reaches a unit and closes it when the step is done, so the home page,
    reminders and the overdue report are one query each.
    """

    class State(models.TextChoices):
        OPEN = "open", _("待办")
        DONE = "done", _("已办")

    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    division = models.ForeignKey(Division, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    #: County code of the school, or the division code: the prefix scope filter runs on it.
    scope_code = models.CharField(max_length=6, db_index=True)
    role = models.CharField(max_length=16, choices=Membership.Role.choices)
    kind = models.CharField(max_length=32)
    title = models.CharField(max_length=200)
    url = models.CharField(max_length=200)
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    opened_on = models.DateField(default=timezone.localdate)
    due_on = models.DateField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)

    scope_paths = (("scope_code", "school"),)

    class Meta:
        db_table = "registry_workitem"  # moved from the registry app; the table kept its name
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["state", "due_on"]),
            models.Index(fields=["content_type", "object_id", "state"]),
        ]
        constraints = [
            models.CheckConstraint(
                name="workitem_one_unit",
                condition=Q(school__isnull=False, division__isnull=True)
                | Q(school__isnull=True, division__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return self.title


class ChainEvent(models.Model):
    """审核记录: one transition of any chain (the timeline), written by the chain engine.

    ``county_code`` and ``school`` are the chain's home unit (a transfer's destination); a
    log is read through its chain, which the reader saw through the scope first."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    action = models.CharField(_("操作"), max_length=16)
    from_state = models.CharField(_("原状态"), max_length=16, blank=True)
    to_state = models.CharField(_("新状态"), max_length=16)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(_("操作人"), max_length=150)
    unit_code = models.CharField(_("单位代码"), max_length=10, blank=True)
    unit_name = models.CharField(_("单位"), max_length=150, blank=True)
    role = models.CharField(_("角色"), max_length=16, blank=True)
    reason = models.CharField(_("理由"), max_length=500, blank=True)
    county_code = models.CharField(max_length=6)
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    scope_paths = (("county_code", "school"),)

    class Meta:
        db_table = "changes_chainevent"  # moved from the changes app; the table kept its name
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["content_type", "object_id", "at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.from_state}→{self.to_state}"
