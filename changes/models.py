"""Status changes (学籍异动), key-field changes and the yearly cycle, on one approval chain.

Terms of the national system, named once here:

- ``ChangeRequest`` — 学籍异动申请: 休学 (suspend), 延长休学 (suspend_extend), 复学 (resume),
  留级 (repeat), 跳级 (skip), 辍学 (drop_out), 退学 (withdrawal, senior secondary only),
  出境学习 (abroad), 死亡 (death), 恢复学籍 (reinstate), 关键信息变更 (key_change) and
  信息维护 (record_update: the non-key fields, approved by the school alone).
- ``GraduationList`` — 毕业名单: a school's graduating pupils (毕业/结业/肄业), approved by the county.
- ``Evidence`` — 证明材料 (JPG/PNG/PDF ≤ 2 MB) attached to a change request.
- ``DropoutFollowUp`` — 控辍保学 follow-up list of a county: compulsory-age drop-outs.
- ``SuspensionOverdue`` — 休学期满未复学: a suspension past its end date, on the school's 待办.
- ``PromotionRun`` / ``PromotionSchool`` — 升级: the yearly promotion of a province, one row
  per school and school year (the idempotency key).
- ``LeftBehindCampaign`` / ``LeftBehindSchool`` / ``LeftBehindConfirmation`` — 留守儿童/随迁子女
  年度登记: a county's yearly re-registration, a 待办 per school, a confirmation per pupil.

Both chains share the states below; who acts at each, with which actions, is the table in
``changes.chain`` (school operator → school approver, another person → county approver).
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from provinces.models import Division
from registry.models import Pupil
from schools.models import School
from workflow.models import ChainEvent


class State(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SCHOOL_REVIEW = "school_review", _("待学校审核")
    COUNTY_REVIEW = "county_review", _("待区县审核")
    APPROVED = "approved", _("已通过")
    REFUSED = "refused", _("未通过")
    WITHDRAWN = "withdrawn", _("已撤回")


OPEN_STATES = (State.DRAFT, State.SCHOOL_REVIEW, State.COUNTY_REVIEW)

class ApprovalChain(models.Model):
    """What a change request and a graduation list share: the chain state and its actors."""

    state = models.CharField(_("状态"), max_length=16, choices=State.choices, default=State.DRAFT)
    school = models.ForeignKey(School, verbose_name=_("学校"), on_delete=models.PROTECT, related_name="+")
    #: Denormalised from the school: the scope filter is a prefix match on it.
    county_code = models.CharField(_("所在区县代码"), max_length=6)
    initiator = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT, related_name="+"
    )
    initiator_level = models.CharField(_("申请单位级别"), max_length=8, default="school")
    school_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    county_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refusal_reason = models.CharField(_("不通过理由"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    decided_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    #: 审核记录: every transition, in the chain engine's log.
    log = GenericRelation(ChainEvent)

    scope_paths = (("county_code", "school"),)

    class Meta:
        abstract = True

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


#: The national 学籍异动类别 code of each kind of change request (code table ``change_kind``;
#: 转入/转出 are the transfer's, 15 升学 and 16 毕业 the yearly cycle's).
CHANGE_KIND_CODES = {
    "suspend": "03",
    "resume": "04",
    "repeat": "05",
    "skip": "06",
    "withdrawal": "07",
    "drop_out": "08",
    "death": "09",
    "abroad": "10",
    "reinstate": "11",
    "suspend_extend": "12",
    "key_change": "13",
    "record_update": "14",
}


@pghistory.track()
class ChangeRequest(ApprovalChain):
    """学籍异动申请: one status or key-field change of one pupil; ``payload`` per kind."""

    class Kind(models.TextChoices):
        SUSPEND = "suspend", _("休学")
        SUSPEND_EXTEND = "suspend_extend", _("延长休学")
        RESUME = "resume", _("复学")
        REPEAT = "repeat", _("留级")
        SKIP = "skip", _("跳级")
        DROP_OUT = "drop_out", _("辍学")
        WITHDRAWAL = "withdrawal", _("退学")
        ABROAD = "abroad", _("出境学习")
        DEATH = "death", _("死亡")
        REINSTATE = "reinstate", _("恢复学籍")
        KEY_CHANGE = "key_change", _("关键信息变更")
        RECORD_UPDATE = "record_update", _("信息维护")

    pupil = models.ForeignKey(Pupil, verbose_name=_("学生"), on_delete=models.PROTECT, related_name="change_requests")
    kind = models.CharField(_("异动类别"), max_length=16, choices=Kind.choices)
    payload = models.JSONField(_("异动内容"), default=dict)
    reason = models.CharField(_("申请理由"), max_length=500, blank=True)
    #: Old values of the fields the approval changed (also in the pupil's history).
    applied = models.JSONField(_("变更前后"), default=dict, blank=True)
    #: Result of the duplicate-check hook, run before the county step (key changes).
    duplicate_findings = models.JSONField(_("疑似重复"), default=list, blank=True)

    class Meta:
        verbose_name = _("学籍异动申请")
        verbose_name_plural = _("学籍异动申请")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["pupil"],
                condition=Q(state__in=OPEN_STATES),
                name="one_open_change_request_per_pupil",
                violation_error_message=_("该学生已有正在办理的学籍异动申请"),
            ),
        ]
        indexes = [
            models.Index(fields=["county_code", "-id"], name="change_scope_recent",
                         opclasses=["varchar_pattern_ops", "int8_ops"]),
            models.Index(fields=["state"], name="change_state"),
        ]

    @staticmethod
    def national_kind_code(kind: str) -> str:
        """The national 学籍异动类别 code of a kind (code table ``change_kind``)."""
        return CHANGE_KIND_CODES.get(str(kind), "99")

    @property
    def kind_code(self) -> str:
        return self.national_kind_code(self.kind)

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.pupil.name}"

    @property
    def business_kind(self) -> str:
        """The 在办业务 kind this request holds while open."""
        if self.kind == self.Kind.RECORD_UPDATE:
            return "record_update"
        return "key_change" if self.kind == self.Kind.KEY_CHANGE else "status_change"


@pghistory.track()
class GraduationList(ApprovalChain):
    """毕业名单: a school's graduating pupils of one school year, approved by the county."""

    school_year = models.PositiveSmallIntegerField(_("毕业年份"))

    class Meta:
        verbose_name = _("毕业名单")
        verbose_name_plural = _("毕业名单")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "school_year"],
                condition=~Q(state__in=(State.REFUSED, State.WITHDRAWN)),
                name="one_graduation_list_per_school_year",
                violation_error_message=_("本校该年度已有毕业名单"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school.name} {self.school_year} {_('毕业名单')}"


@pghistory.track()
class GraduationEntry(models.Model):
    """One pupil of a graduation list with the outcome: 毕业, 结业 or 肄业."""

    class Outcome(models.TextChoices):
        GRADUATED = "graduated", _("毕业")
        COMPLETED = "completed", _("结业")
        INCOMPLETE = "incomplete", _("肄业")

    graduation = models.ForeignKey(GraduationList, on_delete=models.CASCADE, related_name="entries")
    pupil = models.ForeignKey(Pupil, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(_("结果"), max_length=16, choices=Outcome.choices, default=Outcome.GRADUATED)
    applied = models.BooleanField(default=False)

    scope_paths = (("graduation__county_code", "graduation__school"),)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["graduation", "pupil"], name="one_entry_per_pupil")]


def evidence_path(instance: Evidence, filename: str) -> str:
    # The stored name is generated; the uploaded name is kept only as a label.
    return f"changes/evidence/{instance.stored_name}"


@pghistory.track()
class Evidence(models.Model):
    """证明材料: one JPG/PNG/PDF file (≤ 2 MB, judged by its bytes) of a change request."""

    request = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(upload_to=evidence_path, max_length=200)
    stored_name = models.CharField(max_length=64, unique=True)
    original_name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    scope_paths = (("request__county_code", "request__school"),)

    class Meta:
        verbose_name = _("证明材料")
        verbose_name_plural = _("证明材料")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name


@pghistory.track()
class DropoutFollowUp(models.Model):
    """控辍保学: a compulsory-age pupil who dropped out, on the county's follow-up list."""

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="dropout_followups")
    request = models.ForeignKey(ChangeRequest, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    county_code = models.CharField(max_length=6)
    dropped_on = models.DateField(_("辍学日期"))
    age = models.PositiveSmallIntegerField(_("辍学时年龄"))
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_note = models.CharField(max_length=200, blank=True)

    scope_paths = (("county_code", "school"),)

    class Meta:
        verbose_name = _("控辍保学跟踪")
        verbose_name_plural = _("控辍保学跟踪")
        ordering = ["-dropped_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["pupil"], condition=Q(closed_at__isnull=True), name="one_open_followup_per_pupil"
            )
        ]


@pghistory.track()
class SuspensionOverdue(models.Model):
    """休学期满未复学: a suspension past its end date without 复学 or 延长休学, on its school's
    待办 (one open row, and work item, per pupil and end date) until the pupil leaves 休学
    or gets a new end date. Written by the daily sweep and closed by the change that ends it;
    the county's list is computed from the pupils, not from these rows."""

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="suspension_overdue")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    county_code = models.CharField(max_length=6)
    until = models.DateField(_("休学截止日期"))
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_note = models.CharField(max_length=200, blank=True)

    scope_paths = (("county_code", "school"),)

    class Meta:
        verbose_name = _("休学期满未复学")
        verbose_name_plural = _("休学期满未复学")
        ordering = ["until", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["pupil", "until"], condition=Q(closed_at__isnull=True),
                name="one_open_overdue_suspension_per_pupil_and_end",
            )
        ]

    def __str__(self) -> str:
        return f"{self.pupil_id} {self.until}"


@pghistory.track()
class PromotionRun(models.Model):
    """升级: one province's promotion for one school year (the year the new school year starts)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("进行中")
        DONE = "done", _("已完成")

    province = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    school_year = models.PositiveSmallIntegerField(_("学年（开始年份）"))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("升级")
        verbose_name_plural = _("升级")
        ordering = ["-school_year"]
        constraints = [
            models.UniqueConstraint(fields=["province", "school_year"], name="one_promotion_per_province_year")
        ]

    def __str__(self) -> str:
        return f"{self.province_id} {self.school_year}"


@pghistory.track()
class PromotionSchool(models.Model):
    """One school's part of a promotion. Unique per school and school year: promoting twice
    is impossible, whatever retries or second runs arrive."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待处理")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    run = models.ForeignKey(PromotionRun, on_delete=models.CASCADE, related_name="schools")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    school_year = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    moved = models.PositiveIntegerField(default=0)
    stayed = models.PositiveIntegerField(default=0)
    #: {"moved": {"3→4": n, ...}, "stayed": {"6": n}, "classes_created": n}
    report = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=300, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["school__code"]
        constraints = [
            models.UniqueConstraint(fields=["school", "school_year"], name="one_promotion_per_school_year")
        ]


@pghistory.track()
class LeftBehindCampaign(models.Model):
    """留守儿童/随迁子女年度登记 (动态登记): a county's yearly re-registration in which each of
    its schools confirms, pupil by pupil, the 留守 and 随迁 answers of its 在籍 pupils (a
    change goes through 信息维护). One campaign per county and school year."""

    county_code = models.CharField(_("区县代码"), max_length=6)
    school_year = models.PositiveSmallIntegerField(_("学年（开始年份）"))
    closes_on = models.DateField(_("登记截止日期"))
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)

    #: A school sees the campaigns it takes part in; a county its own; the levels above theirs.
    scope_paths = (("county_code", "schools__school"),)

    class Meta:
        verbose_name = _("留守儿童/随迁子女年度登记")
        verbose_name_plural = _("留守儿童/随迁子女年度登记")
        ordering = ["-school_year", "county_code"]
        constraints = [
            models.UniqueConstraint(fields=["county_code", "school_year"], name="one_left_behind_campaign_per_year"),
        ]

    def __str__(self) -> str:
        return f"{self.county_code} {self.school_year}"


@pghistory.track()
class LeftBehindSchool(models.Model):
    """One school's part of a 留守/随迁 campaign: its 待办 until every 在籍 pupil is confirmed."""

    campaign = models.ForeignKey(LeftBehindCampaign, on_delete=models.CASCADE, related_name="schools")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    county_code = models.CharField(max_length=6)
    done_at = models.DateTimeField(null=True, blank=True)

    scope_paths = (("county_code", "school"),)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "school"], name="one_left_behind_part_per_school")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.school_id}"


@pghistory.track()
class LeftBehindConfirmation(models.Model):
    """A pupil confirmed in a 留守/随迁 campaign, with the answers as they stood then."""

    campaign = models.ForeignKey(LeftBehindCampaign, on_delete=models.CASCADE, related_name="confirmations")
    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    county_code = models.CharField(max_length=6)
    left_behind = models.CharField(_("是否留守儿童"), max_length=1)
    migrant = models.CharField(_("是否随迁子女"), max_length=1)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    confirmed_at = models.DateTimeField(default=timezone.now)

    scope_paths = (("county_code", "school"),)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "pupil"], name="one_confirmation_per_pupil")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.pupil_id}"
