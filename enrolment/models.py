"""How pupils come into a school: 升学 (progression to the next stage on the same record)
and the allocation lists that carry it.

Terms of the national system, named once here:

- ``Progression`` — 升学接收: a receiving school takes graduates of the stage before (小升初,
  初升高) onto their own records — the national number, history, photo and guardians stay;
  the school's operator accepts, its approver and then the receiving county approve.
- ``ProgressionEntry`` — one graduate of a progression, with the class it goes into.
- ``Allocation`` — 升学分配名单: which graduates go to which school, uploaded by a county or
  a city as an xlsx in the template; each good row is offered to its school (``offered``).
- ``Registration`` — 新生注册审核: the review of one new record (待审核) by an approver of the
  school and, when the policy asks, by the county; refused, the record is 注册未通过.
- ``StudentSource`` — 学生来源 of a registration (正常入学, 外省转入, 港澳台及外籍, 回国, 其他).
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from provinces.models import Division
from registry.models import Pupil
from schools.models import School
from workflow.models import ChainEvent


class ProgressionState(models.TextChoices):
    OFFERED = "offered", _("待接收")
    SCHOOL_REVIEW = "school_review", _("待学校审核")
    COUNTY_REVIEW = "county_review", _("待区县审核")
    APPROVED = "approved", _("已接收")
    REFUSED = "refused", _("未通过")
    WITHDRAWN = "withdrawn", _("已撤回")


PROGRESSION_OPEN_STATES = (ProgressionState.OFFERED, ProgressionState.SCHOOL_REVIEW, ProgressionState.COUNTY_REVIEW)


def allocation_path(instance: Allocation, filename: str) -> str:
    # The stored name is generated; the uploaded name is kept only as a label.
    return f"enrolment/allocations/{timezone.now():%Y%m}/{instance.stored_name}"


@pghistory.track()
class Allocation(models.Model):
    """升学分配名单: one uploaded list of graduates and the schools they go to."""

    division = models.ForeignKey(Division, verbose_name=_("上传单位"), on_delete=models.PROTECT, related_name="+")
    #: The uploader's division code: the scope filter is a prefix match on it.
    scope_code = models.CharField(max_length=6, db_index=True)
    school_year = models.PositiveSmallIntegerField(_("入学学年"))
    file = models.FileField(upload_to=allocation_path, max_length=200)
    stored_name = models.CharField(max_length=64, unique=True)
    original_name = models.CharField(_("原文件名"), max_length=200)
    rows = models.PositiveIntegerField(_("行数"), default=0)
    offered = models.PositiveIntegerField(_("已分配"), default=0)
    refused = models.PositiveIntegerField(_("有错误"), default=0)
    #: Per-row outcome: ``[{"row": 3, "national_number": ..., "school_code": ..., "errors": [...]}]``.
    report = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    #: Seen by the uploading bureau and those above it; a school never uploads one.
    scope_paths = (("scope_code", "created_by__membership__school"),)

    class Meta:
        verbose_name = _("升学分配名单")
        verbose_name_plural = _("升学分配名单")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.school_year})"


@pghistory.track()
class Progression(models.Model):
    """升学接收: graduates received by one school into the first grade of its next stage."""

    class Source(models.TextChoices):
        ALLOCATION = "allocation", _("分配名单")
        SEARCH = "search", _("学校查找")
        ADMISSION = "admission", _("招生名单")

    state = models.CharField(_("状态"), max_length=16, choices=ProgressionState.choices)
    school = models.ForeignKey(School, verbose_name=_("接收学校"), on_delete=models.PROTECT, related_name="+")
    #: Denormalised from the school: the scope filter is a prefix match on it.
    county_code = models.CharField(_("接收学校所在区县"), max_length=6)
    grade = models.PositiveSmallIntegerField(_("入学年级"))
    school_year = models.PositiveSmallIntegerField(_("入学学年"))
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices)
    allocation = models.ForeignKey(Allocation, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="progressions")
    initiator = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发起人"), on_delete=models.PROTECT,
                                  related_name="+")
    #: The school user who accepted the graduates: the two-person rule's author at the school.
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    school_approver = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    county_approver = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    refusal_reason = models.CharField(_("不通过理由"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("发起时间"), default=timezone.now)
    submitted_at = models.DateTimeField(_("接收时间"), null=True, blank=True)
    decided_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    log = GenericRelation(ChainEvent)

    scope_paths = (("county_code", "school"),)

    class Meta:
        verbose_name = _("升学接收")
        verbose_name_plural = _("升学接收")
        ordering = ["-id"]
        indexes = [models.Index(fields=["school", "state"], name="progression_school_state")]

    def __str__(self) -> str:
        return f"{self.school.name} {self.school_year} {_('升学接收')}"

    @property
    def is_open(self) -> bool:
        return self.state in PROGRESSION_OPEN_STATES


@pghistory.track()
class ProgressionEntry(models.Model):
    """One graduate of a progression: where it comes from and the class it goes into."""

    progression = models.ForeignKey(Progression, on_delete=models.CASCADE, related_name="entries")
    pupil = models.ForeignKey(Pupil, verbose_name=_("学生"), on_delete=models.PROTECT, related_name="+")
    origin_school = models.ForeignKey(School, verbose_name=_("毕业学校"), on_delete=models.PROTECT, related_name="+")
    origin_county_code = models.CharField(max_length=6)
    origin_grade = models.PositiveSmallIntegerField(_("毕业年级"))
    class_number = models.PositiveSmallIntegerField(_("班号"), default=1)
    #: The row of the allocation list it came from (for the report), 0 otherwise.
    row = models.PositiveIntegerField(default=0)
    applied = models.BooleanField(default=False)

    scope_paths = (("progression__county_code", "progression__school"),)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["progression", "pupil"], name="one_progression_entry_per_pupil"),
        ]


class GraduateLookup(models.Model):
    """One search of a receiving school for a graduate (升学接收查询), kept as the transfer
    lookup is: who asked what, and how many records answered."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    county_code = models.CharField(max_length=6)
    number = models.CharField(_("全国学籍号或身份证件号"), max_length=32)
    name = models.CharField(_("姓名"), max_length=50)
    found = models.PositiveSmallIntegerField(default=0)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(max_length=150)
    at = models.DateTimeField(default=timezone.now)

    scope_paths = (("county_code", "school"),)

    class Meta:
        ordering = ["-id"]


class StudentSource(models.TextChoices):
    """学生来源: where a newly registered pupil comes from."""

    NORMAL = "normal", _("正常入学")
    OTHER_PROVINCE = "other_province", _("外省转入")
    HMT_FOREIGN = "hmt_foreign", _("港澳台及外籍")
    RETURNED = "returned", _("回国")
    OTHER = "other", _("其他")


class RegistrationState(models.TextChoices):
    SCHOOL_REVIEW = "school_review", _("待学校审核")
    COUNTY_REVIEW = "county_review", _("待区县审核")
    APPROVED = "approved", _("已通过")
    REFUSED = "refused", _("未通过")
    #: 退回修改: the registration waits for the person who registered the pupil to correct it.
    RETURNED = "returned", _("退回修改")


REGISTRATION_OPEN_STATES = (RegistrationState.RETURNED, RegistrationState.SCHOOL_REVIEW,
                            RegistrationState.COUNTY_REVIEW)


@pghistory.track()
class Registration(models.Model):
    """新生注册审核: one new record under review (the pupil is 待审核 meanwhile)."""

    pupil = models.OneToOneField(Pupil, verbose_name=_("学生"), on_delete=models.PROTECT, related_name="registration")
    state = models.CharField(_("状态"), max_length=16, choices=RegistrationState.choices)
    school = models.ForeignKey(School, verbose_name=_("学校"), on_delete=models.PROTECT, related_name="+")
    #: Denormalised from the school: the scope filter is a prefix match on it.
    county_code = models.CharField(_("所在区县"), max_length=6)
    grade = models.PositiveSmallIntegerField(_("年级"))
    source = models.CharField(_("学生来源"), max_length=16, choices=StudentSource.choices,
                              default=StudentSource.NORMAL)
    source_reason = models.CharField(_("注册原因"), max_length=500, blank=True)
    #: Whether the county reviews it after the school (``registration.county_review_needed``).
    county_review = models.BooleanField(_("需区县审核"), default=False)
    #: The operator who registered the pupil: the two-person rule's author.
    initiator = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("注册人"), on_delete=models.PROTECT,
                                  related_name="+")
    school_approver = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    county_approver = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    refusal_reason = models.CharField(_("不通过理由"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("注册时间"), default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    log = GenericRelation(ChainEvent)

    scope_paths = (("county_code", "school"),)

    class Meta:
        verbose_name = _("新生注册审核")
        verbose_name_plural = _("新生注册审核")
        ordering = ["-id"]
        indexes = [models.Index(fields=["school", "state"], name="registration_school_state"),
                   models.Index(fields=["county_code", "state"], name="registration_county_state")]

    def __str__(self) -> str:
        return f"{_('新生注册')} {self.pupil_id}"

    @property
    def is_open(self) -> bool:
        return self.state in REGISTRATION_OPEN_STATES
