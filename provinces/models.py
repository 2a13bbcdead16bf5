"""Divisions (行政区划), province policy (省级政策) and the province's calendar overrides.

Divisions follow GB/T 2260 in prefix form: a province is ``44``, a city (地市) ``4401``, a
county (区县) ``440106``. A unit's scope is its code prefix, so "what may this user see" is a
``LIKE '4401%'`` over an indexed column.
"""

from __future__ import annotations

import datetime as dt

import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from provinces.cache import province_setting
from provinces.divisions import division_full_name


class Division(models.Model):
    """An administrative division: province (省), city (地市) or county (区县)."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("省")
        CITY = "city", _("地市")
        COUNTY = "county", _("区县")

    code = models.CharField(_("区划代码"), max_length=6, primary_key=True)
    name = models.CharField(_("名称"), max_length=64)
    level = models.CharField(_("级别"), max_length=8, choices=Level.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                name="division_code_matches_level",
                condition=(
                    models.Q(level="province", code__regex=r"^\d{2}$")
                    | models.Q(level="city", code__regex=r"^\d{4}$")
                    | models.Q(level="county", code__regex=r"^\d{6}$")
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def province_code(self) -> str:
        return self.code[:2]

    def full_name(self) -> str:
        """The names from the province down, e.g. ``广东省广州市海珠区``."""
        cached = division_full_name(self.code)
        if cached is not None:
            return cached
        names = []
        node: Division | None = self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return "".join(reversed(names))


@pghistory.track()
class ProvincePolicy(models.Model):
    """Per-province settings (省级政策). Every default is the national default of DESIGN.md."""

    province = models.OneToOneField(
        Division,
        verbose_name=_("省"),
        primary_key=True,
        on_delete=models.PROTECT,
        limit_choices_to={"level": Division.Level.PROVINCE},
        related_name="policy",
    )
    # Transfers (转学)
    transfer_refuse_suspended = models.BooleanField(_("休学期间不得转学"), default=True)
    transfer_same_grade_only = models.BooleanField(_("转学只能转入同一年级"), default=True)
    transfer_refuse_graduating = models.BooleanField(_("毕业年级不得转学"), default=False)
    freeze_enabled = models.BooleanField(_("升级期间冻结转学与关键信息变更"), default=True)
    freeze_start = models.CharField(_("冻结开始（月-日）"), max_length=5, default="07-21")
    freeze_end = models.CharField(_("冻结结束（月-日）"), max_length=5, default="08-14")
    transfer_cross_province_province_step = models.BooleanField(_("跨省转学增加省级审核"), default=False)
    step_working_days = models.PositiveSmallIntegerField(_("每个环节办理时限（工作日）"), default=10)
    reminder_working_days = models.PositiveSmallIntegerField(_("到期提醒提前（工作日）"), default=2)
    # Status changes (学籍异动)
    forbid_repeat_in_compulsory = models.BooleanField(_("义务教育阶段不得留级"), default=True)
    refuse_suspension_last_semester = models.BooleanField(_("毕业年级最后一学期不得休学"), default=True)
    promotion_date = models.CharField(_("升级日期（月-日）"), max_length=5, default="08-10")
    graduation_deadline = models.CharField(_("毕业办理截止（月-日）"), max_length=5, default="07-30")
    # Photos (照片采集)
    photo_max_bytes = models.PositiveIntegerField(_("照片文件上限（字节，不含）"), default=60 * 1024)
    photo_min_width = models.PositiveIntegerField(_("照片最小宽度（像素）"), default=154)
    photo_min_height = models.PositiveIntegerField(_("照片最小高度（像素）"), default=189)
    photo_aspect_tolerance = models.FloatField(_("照片宽高比容差"), default=0.05)
    photo_background_refuses = models.BooleanField(_("背景色不符时拒收（否则仅提示）"), default=False)
    # Duplicates (查重)
    duplicate_case_threshold = models.FloatField(_("疑似重复立案阈值"), null=True, blank=True)

    class Meta:
        verbose_name = _("省级政策")
        verbose_name_plural = _("省级政策")

    def __str__(self) -> str:
        return str(self.province)

    @classmethod
    def for_province(cls, province_code: str) -> ProvincePolicy:
        """The policy of a province, with the defaults when the province has not set one.

        Read on every step of every chain, so served from the shared cache
        (``provinces.cache``); ``stored`` reads the database, for editing.
        """
        return province_setting("policy", province_code, lambda: cls.stored(province_code))

    @classmethod
    def stored(cls, province_code: str) -> ProvincePolicy:
        """The policy row of a province as the database has it (unsaved defaults when none)."""
        policy = cls.objects.filter(province_id=province_code[:2]).first()
        return policy or cls(province_id=province_code[:2])

    @staticmethod
    def _month_day(value: str) -> tuple[int, int]:
        month, day = value.split("-")
        return int(month), int(day)

    def promotion_day(self, school_year: int) -> dt.date:
        """The day the school year ``school_year`` (e.g. 2026 for 2026–2027) starts: 升级."""
        month, day = self._month_day(self.promotion_date)
        return dt.date(school_year, month, day)

    def graduation_deadline_day(self, year: int) -> dt.date:
        """The last day a graduation list of ``year`` may be proposed or approved."""
        month, day = self._month_day(self.graduation_deadline)
        return dt.date(year, month, day)

    def in_freeze_window(self, day: dt.date) -> bool:
        if not self.freeze_enabled:
            return False
        start = self._month_day(self.freeze_start)
        end = self._month_day(self.freeze_end)
        return start <= (day.month, day.day) <= end


@pghistory.track()
class CalendarOverride(models.Model):
    """A day the province declares off or on (调休), overriding the holiday library.

    The State Council publishes each year's schedule late in the year before; a province
    admin enters it here so deadlines are right even before the library knows it.
    """

    province = models.ForeignKey(
        Division, on_delete=models.CASCADE, limit_choices_to={"level": Division.Level.PROVINCE}
    )
    day = models.DateField(_("日期"))
    is_working_day = models.BooleanField(_("是否工作日"))
    note = models.CharField(_("说明"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("节假日调整")
        verbose_name_plural = _("节假日调整")
        constraints = [models.UniqueConstraint(fields=["province", "day"], name="one_override_per_day")]

    def __str__(self) -> str:
        return f"{self.day} {'上班' if self.is_working_day else '休息'}"


# --- Duplicate detection (查重) --------------------------------------------------------------
#
# Terms of the national system: 查重 (duplicate check), 疑似重复学籍 (a case), 问题学籍 (problem
# record: a pupil with an open case), 佐证 (evidence: both are real), 变更 (correct key fields),
# 删除 (soft-delete the wrong record), 身份核验 (identity check against the population registry).


class PupilMatchKey(models.Model):
    """Indexed matching keys of one pupil, for the at-entry candidate query (查重).

    Maintained by ``provinces.services.match_keys_refresh``: on every save of a pupil (a
    signal) and, for rows written in bulk, by every sweep. Guardian and ID lookups use the
    existing indexes of ``Pupil``/``Guardian``; this table adds what they cannot: the name
    sound keys within a birth year, and the ID-neighbour keys of IDs failing their check char.
    """

    pupil = models.OneToOneField("registry.Pupil", primary_key=True, on_delete=models.CASCADE, related_name="match_key")
    province_code = models.CharField(max_length=2)
    birth_year = models.PositiveSmallIntegerField()
    sound_keys = ArrayField(models.CharField(max_length=80), default=list)
    id_keys = ArrayField(models.CharField(max_length=40), default=list)

    class Meta:
        indexes = [
            models.Index(fields=["province_code", "birth_year"], name="matchkey_province_year"),
            GinIndex(fields=["sound_keys"], name="matchkey_sound_gin"),
            GinIndex(fields=["id_keys"], name="matchkey_id_gin"),
        ]


class DuplicateSweep(models.Model):
    """One province-wide duplicate sweep (查重批次), cut into partitions run by Celery workers."""

    class Status(models.TextChoices):
        RUNNING = "running", _("进行中")
        FINISHED = "finished", _("已完成")

    province = models.ForeignKey(Division, verbose_name=_("省"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.RUNNING)
    partitions_total = models.PositiveIntegerField(_("分区总数"))
    partitions_done = models.PositiveIntegerField(_("已完成分区"), default=0)
    blocks_total = models.PositiveBigIntegerField(_("分块数"), default=0)
    pairs_scored = models.PositiveBigIntegerField(_("已比对记录对"), default=0)
    cases_found = models.PositiveIntegerField(_("新立案件"), default=0)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("查重批次")
        verbose_name_plural = _("查重批次")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["province"], condition=models.Q(status="running"), name="one_running_sweep_per_province"
            )
        ]

    def __str__(self) -> str:
        return f"{self.province_id} #{self.pk}"

    @property
    def eta_seconds(self) -> int | None:
        """Seconds left, from the pace of the partitions done so far (None before the first)."""
        if self.status != self.Status.RUNNING or not self.partitions_done:
            return None
        elapsed = (timezone.now() - self.started_at).total_seconds()
        per_partition = elapsed / self.partitions_done
        return int(per_partition * (self.partitions_total - self.partitions_done))


class SweepPartition(models.Model):
    """One partition of a sweep; claimed by a conditional update, re-run on resume when stale."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待运行")
        RUNNING = "running", _("运行中")
        DONE = "done", _("已完成")

    sweep = models.ForeignKey(DuplicateSweep, on_delete=models.CASCADE, related_name="parts")
    index = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    records = models.PositiveIntegerField(default=0)
    blocks = models.PositiveBigIntegerField(default=0)
    pairs_scored = models.PositiveBigIntegerField(default=0)
    cases_found = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sweep", "index"]
        constraints = [models.UniqueConstraint(fields=["sweep", "index"], name="one_row_per_sweep_partition")]


@pghistory.track()
class DuplicateCase(models.Model):
    """疑似重复学籍: two records that are probably one child, for the counties of its members."""

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        RESOLVED = "resolved", _("已处理")

    class Resolution(models.TextChoices):
        EVIDENCE = "evidence", _("佐证")
        CHANGE = "change", _("变更")
        DELETE = "delete", _("删除")

    class Source(models.TextChoices):
        ENTRY = "entry", _("录入时确认保留")
        SWEEP = "sweep", _("全省查重")

    province = models.ForeignKey(Division, verbose_name=_("省"), on_delete=models.PROTECT, related_name="+")
    #: The pair, lower pupil id first: the open-case constraint runs on it.
    pupil_low = models.ForeignKey("registry.Pupil", on_delete=models.PROTECT, related_name="+")
    pupil_high = models.ForeignKey("registry.Pupil", on_delete=models.PROTECT, related_name="+")
    members = models.ManyToManyField("registry.Pupil", through="CaseMember", related_name="duplicate_cases")
    score = models.FloatField(_("相似度"))
    reasons = models.JSONField(_("理由"), default=list)
    kind = models.CharField(_("类型"), max_length=16, blank=True)
    source = models.CharField(_("来源"), max_length=8, choices=Source.choices)
    sweep = models.ForeignKey(DuplicateSweep, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    entry_reason = models.CharField(_("录入理由"), max_length=500, blank=True)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.OPEN)
    resolution = models.CharField(_("处理方式"), max_length=8, choices=Resolution.choices, blank=True)
    change_request = models.ForeignKey(
        "changes.ChangeRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    note = models.CharField(_("处理说明"), max_length=500, blank=True)
    evidence = models.FileField(_("佐证材料"), upload_to="duplicate-evidence/", blank=True, max_length=200)
    evidence_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    scope_paths = (("memberships__county_code", "memberships__pupil__school"),)

    class Meta:
        verbose_name = _("疑似重复学籍")
        verbose_name_plural = _("疑似重复学籍")
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["pupil_low", "pupil_high"], condition=models.Q(status="open"), name="one_open_case_per_pair"
            ),
            models.CheckConstraint(name="case_pair_ordered", condition=models.Q(pupil_low__lt=models.F("pupil_high"))),
        ]
        indexes = [models.Index(fields=["province", "status"], name="case_province_status")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.score:.2f}"


class CaseMember(models.Model):
    """A pupil of a case with its county at the time the case was opened."""

    case = models.ForeignKey(DuplicateCase, on_delete=models.CASCADE, related_name="memberships")
    pupil = models.ForeignKey("registry.Pupil", on_delete=models.PROTECT, related_name="case_memberships")
    county_code = models.CharField(max_length=6)

    scope_paths = (("county_code", "pupil__school"),)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "pupil"], name="one_membership_per_case_pupil")]
        indexes = [models.Index(fields=["county_code"], name="casemember_county", opclasses=["varchar_pattern_ops"])]


@pghistory.track()
class CleanPair(models.Model):
    """A pair ruled 佐证 (both real): never flagged again."""

    pupil_low = models.ForeignKey("registry.Pupil", on_delete=models.CASCADE, related_name="+")
    pupil_high = models.ForeignKey("registry.Pupil", on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(DuplicateCase, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pupil_low", "pupil_high"], name="one_clean_pair"),
            models.CheckConstraint(name="clean_pair_ordered", condition=models.Q(pupil_low__lt=models.F("pupil_high"))),
        ]


@pghistory.track()
class IdentityCheckRun(models.Model):
    """身份核验: one check of the province's IDs against a population-registry extract."""

    province = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    source_name = models.CharField(max_length=200, blank=True)
    extract_rows = models.PositiveIntegerField(default=0)
    checked = models.PositiveIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    not_found = models.PositiveIntegerField(default=0)
    mismatched = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
