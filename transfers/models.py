"""The transfer chain (转学): a pupil's enrolment moves from an origin school to a destination.

Terms of the national system, named once here:

- ``Transfer`` — 转学申请 (one chain, 异动类别 转学), applied by the destination school
  (转入学校), approved by the destination county (转入县教育局), the origin school (转出学校) and
  the origin county (转出县教育局), in that order.
- ``TransferAttachment`` — 证明材料 (JPG/PNG/PDF proof, ≤ 2 MB each).
- ``TransferSnapshot`` — 电子学籍档案备份: the record as it stood, kept for the origin school.
- ``TransferLookup`` — the audited origin-school pupil lookup (查询转出学生).

The chain's states are ``transfers.states``; who acts at each, with which actions, is the
table in ``transfers.chain``. Its log (审核记录) is the engine's ``ChainEvent``.
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.models import Pupil
from schools.models import School
from transfers.states import OPEN_STATES, State
from workflow.models import ChainEvent


@pghistory.track()
class Transfer(models.Model):
    """转学: one chain for one pupil. ``steps`` is the list of approval steps, fixed at submit."""

    pupil = models.ForeignKey(Pupil, verbose_name=_("学生"), on_delete=models.PROTECT, related_name="transfers")
    origin_school = models.ForeignKey(
        School, verbose_name=_("转出学校"), on_delete=models.PROTECT, related_name="transfers_out"
    )
    dest_school = models.ForeignKey(
        School, verbose_name=_("转入学校"), on_delete=models.PROTECT, related_name="transfers_in"
    )
    #: Denormalised county codes: the scope filter is a prefix match on these columns.
    origin_county_code = models.CharField(_("转出区县代码"), max_length=6)
    dest_county_code = models.CharField(_("转入区县代码"), max_length=6)
    origin_grade = models.PositiveSmallIntegerField(_("原年级"))
    origin_class_number = models.PositiveSmallIntegerField(_("原班号"), null=True, blank=True)
    dest_grade = models.PositiveSmallIntegerField(_("转入年级"))
    dest_class_number = models.PositiveSmallIntegerField(_("转入班号"))
    transfer_date = models.DateField(_("异动日期"))
    reason = models.CharField(_("转学原因"), max_length=200)
    state = models.CharField(_("状态"), max_length=16, choices=State.choices, default=State.DRAFT)
    steps = models.JSONField(_("审核环节"), default=list, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    #: When the chain reached the origin school / origin county: they see it from then on.
    origin_school_reached_at = models.DateTimeField(null=True, blank=True)
    origin_county_reached_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    #: 审核记录: every transition, in the chain engine's log.
    log = GenericRelation(ChainEvent)

    scope_paths = (("dest_county_code", "dest_school"), ("origin_county_code", "origin_school"))

    class Meta:
        verbose_name = _("转学申请")
        verbose_name_plural = _("转学申请")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["pupil"],
                condition=Q(state__in=OPEN_STATES),
                name="one_open_transfer_per_pupil",
                violation_error_message=_("该学生已有正在办理的转学申请"),
            ),
            models.CheckConstraint(
                name="transfer_origin_is_not_destination", condition=~Q(origin_school=models.F("dest_school"))
            ),
            models.CheckConstraint(
                name="transfer_dest_grade_1_12", condition=Q(dest_grade__gte=1, dest_grade__lte=12)
            ),
        ]
        indexes = [
            models.Index(fields=["dest_county_code", "-id"], name="transfer_dest_scope",
                         opclasses=["varchar_pattern_ops", "int8_ops"]),
            models.Index(fields=["origin_county_code", "-id"], name="transfer_origin_scope",
                         opclasses=["varchar_pattern_ops", "int8_ops"]),
            models.Index(fields=["state"], name="transfer_state"),
        ]

    def __str__(self) -> str:
        return f"{self.pupil.name}：{self.origin_school.name} → {self.dest_school.name}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


@pghistory.track()
class TransferAttachment(models.Model):
    """证明材料: stored under a generated name; served only to the parties by a view."""

    class Kind(models.TextChoices):
        JPEG = "jpg", "JPG"
        PNG = "png", "PNG"
        PDF = "pdf", "PDF"

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(max_length=200)
    kind = models.CharField(max_length=3, choices=Kind.choices)
    size = models.PositiveIntegerField()
    label = models.CharField(_("材料名称"), max_length=100, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    scope_paths = (
        ("transfer__dest_county_code", "transfer__dest_school"),
        ("transfer__origin_county_code", "transfer__origin_school"),
    )

    class Meta:
        verbose_name = _("证明材料")
        verbose_name_plural = _("证明材料")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.label or self.file.name


@pghistory.track()
class TransferSnapshot(models.Model):
    """电子学籍档案备份: the pupil record (and guardians) as it stood when it left; read-only."""

    transfer = models.OneToOneField(Transfer, on_delete=models.PROTECT, related_name="snapshot")
    data = models.JSONField()
    taken_at = models.DateTimeField(default=timezone.now)

    #: For the origin school and its county (and their ancestors) only.
    scope_paths = (("transfer__origin_county_code", "transfer__origin_school"),)

    class Meta:
        verbose_name = _("电子学籍档案备份")
        verbose_name_plural = _("电子学籍档案备份")

    def __str__(self) -> str:
        return f"{self.data.get('name', '')} @ {self.taken_at:%Y-%m-%d}"


class TransferLookup(models.Model):
    """One origin-school pupil lookup by a destination school: who asked what, what came back.

    ``kind`` says how the pupil was looked for: by the pupil's exact name (+ ID number), or,
    for a pupil without a resident ID (无户籍), by a parent's or the legal guardian's resident
    ID number (按父母身份证号查找), kept in ``parent_id_number``. Other answers that name a
    pupil outside the asker's scope are recorded here too (``registry.disclosure``): a refusal
    because the ID number is held there, a likely duplicate's card, and a transfer asked for
    by a bare national number (refused).
    """

    class Kind(models.TextChoices):
        PUPIL = "pupil", _("按学生姓名")
        PARENT = "parent", _("按父母身份证号")
        ID_HELD = "id_held", _("身份证号已在籍的提示")
        LIKELY = "likely", _("疑似重复的提示")
        NUMBER = "number", _("凭学籍号申请转学（已拒绝）")

    #: The asking school (null when a bureau was told, e.g. approving a key change).
    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    county_code = models.CharField(max_length=6)
    origin_school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("查询方式"), max_length=8, choices=Kind.choices, default=Kind.PUPIL)
    name = models.CharField(max_length=50)
    id_number = models.CharField(max_length=32, blank=True)
    parent_id_number = models.CharField(_("父母（监护人）身份证号"), max_length=32, blank=True)
    found = models.PositiveSmallIntegerField(default=0)
    close_matches = models.PositiveSmallIntegerField(default=0)
    #: The pupils the answer offered (found, then close), in order: a card's reference names
    #: a position here, never the pupil.
    pupils = models.JSONField(default=list, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=150)
    at = models.DateTimeField(default=timezone.now)

    scope_paths = (("county_code", "school"),)

    class Meta:
        verbose_name = _("转出学生查询记录")
        verbose_name_plural = _("转出学生查询记录")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.actor_name}: {self.name} @ {self.origin_school_id}"


@pghistory.track()
class CrossTransfer(models.Model):
    """跨省转学 across two registries: this registry's side of one application.

    On the destination registry (``side`` dest) the pupil lives in the peer's registry:
    ``origin_ref`` is the origin registry's signed reference from its lookup answer. On the
    origin registry (``side`` origin) ``pupil`` is the pupil here and the destination school
    is the peer's. ``application`` is the one id both registries know the application by.
    """

    class Side(models.TextChoices):
        DEST = "dest", _("转入方")
        ORIGIN = "origin", _("转出方")

    application = models.UUIDField(_("申请编号"))
    side = models.CharField(_("本系统一方"), max_length=6, choices=Side.choices)
    peer_province = models.CharField(_("对方省份代码"), max_length=2)
    pupil = models.ForeignKey(Pupil, null=True, blank=True, on_delete=models.PROTECT, related_name="cross_transfers")
    origin_ref = models.CharField(max_length=300, blank=True)
    pupil_name = models.CharField(_("学生姓名"), max_length=50)
    origin_school = models.ForeignKey(School, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    origin_school_code = models.CharField(_("转出学校标识码"), max_length=10)
    origin_school_name = models.CharField(_("转出学校"), max_length=100, blank=True)
    origin_county_code = models.CharField(_("转出区县代码"), max_length=6, blank=True)
    dest_school = models.ForeignKey(School, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    dest_school_code = models.CharField(_("转入学校标识码"), max_length=10)
    dest_school_name = models.CharField(_("转入学校"), max_length=100)
    dest_county_code = models.CharField(_("转入区县代码"), max_length=6, blank=True)
    dest_grade = models.PositiveSmallIntegerField(_("转入年级"))
    dest_class_number = models.PositiveSmallIntegerField(_("转入班号"))
    reason = models.CharField(_("转学原因"), max_length=200)
    state = models.CharField(_("状态"), max_length=16, choices=State.choices, default=State.ORIGIN_SCHOOL)
    #: The approval steps after the destination school's review, as this side knows them: the
    #: destination fixes its own at submit (its province step when its policy asks), the origin
    #: its own on arrival; the other side's province step is added when a message reports it.
    #: Empty: the four national steps.
    steps = models.JSONField(_("审核环节"), default=list, blank=True)
    applicant = models.CharField(_("申请人"), max_length=150)
    #: The user here who filed it (the destination side), the chain's initiator; none on the origin side.
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("申请人"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    #: Why it was refused or cancelled, and by whom (on either registry).
    closed_reason = models.CharField(_("理由"), max_length=700, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    #: 审核记录 of this side's chain (steps done on the other registry arrive as messages).
    log = GenericRelation(ChainEvent)

    scope_paths = (("dest_county_code", "dest_school"), ("origin_county_code", "origin_school"))

    class Meta:
        verbose_name = _("跨省转学申请")
        verbose_name_plural = _("跨省转学申请")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "side"], name="cross_transfer_one_per_side"),
            models.UniqueConstraint(fields=["pupil"], condition=Q(state__in=OPEN_STATES),
                                    name="one_open_cross_transfer_per_pupil",
                                    violation_error_message=_("该学生已有正在办理的转学申请")),
        ]

    def __str__(self) -> str:
        return f"{self.pupil_name}：{self.origin_school_code} → {self.dest_school_code}"
