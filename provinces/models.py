"""Divisions (行政区划), province policy (省级政策) and the province's calendar overrides.

Divisions follow GB/T 2260 in prefix form: a province is ``44``, a city (地市) ``4401``, a
county (区县) ``440106``. A unit's scope is its code prefix, so "what may this user see" is a
``LIKE '4401%'`` over an indexed column.
"""

from __future__ import annotations

import datetime as dt

import pghistory
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from provinces.cache import province_setting
from provinces.divisions import division_full_name, join_division_names


def validate_month_day(value: str) -> None:
    """A day of the year written ``MM-DD`` (``07-30``); 29 February is not allowed."""
    try:
        dt.datetime.strptime(f"2001-{value}", "%Y-%m-%d")
    except (TypeError, ValueError):
        raise ValidationError(
            _("“%(value)s”不是有效的月-日（应为 MM-DD，例如 07-30）"), code="invalid_month_day", params={"value": value}
        ) from None
    if len(value) != 5:
        raise ValidationError(_("月-日应写作两位月份和两位日期，例如 07-30"), code="invalid_month_day")


def _month_day_field(label, default: str):
    return models.CharField(label, max_length=5, default=default, validators=[validate_month_day])


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
        return join_division_names(reversed(names))


@pghistory.track()
class ProvincePolicy(models.Model):
    """Per-province settings (省级政策). Every default is the national default (docs/design.md)."""

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
    freeze_start = _month_day_field(_("冻结开始（月-日）"), "07-21")
    freeze_end = _month_day_field(_("冻结结束（月-日）"), "08-14")
    transfer_cross_province_province_step = models.BooleanField(_("跨省转学增加省级审核"), default=False)
    step_working_days = models.PositiveSmallIntegerField(_("每个环节办理时限（工作日）"), default=10)
    reminder_working_days = models.PositiveSmallIntegerField(_("到期提醒提前（工作日）"), default=2)
    # Status changes (学籍异动)
    forbid_repeat_in_compulsory = models.BooleanField(_("义务教育阶段不得留级"), default=True)
    refuse_suspension_last_semester = models.BooleanField(_("毕业年级最后一学期不得休学"), default=True)
    promotion_date = _month_day_field(_("升级日期（月-日）"), "08-10")
    graduation_opens = _month_day_field(_("毕业审核开始（月-日）"), "06-01")
    graduation_deadline = _month_day_field(_("毕业办理截止（月-日）"), "07-30")
    # The yearly cycle: registration (新生注册) and 升学
    registration_county_review_all = models.BooleanField(
        _("新生注册一律经区县审核"), default=False,
        help_text=_("不勾选时，无户籍、非起始年级以及外省转入、回国来源的新生注册需区县审核"),
    )
    unreceived_graduates_day = _month_day_field(_("未升学毕业生名单日期（月-日）"), "09-30")
    # Photos (照片采集)
    photo_max_bytes = models.PositiveIntegerField(_("照片文件上限（字节，不含）"), default=60 * 1024)
    photo_min_width = models.PositiveIntegerField(_("照片最小宽度（像素）"), default=154)
    photo_min_height = models.PositiveIntegerField(_("照片最小高度（像素）"), default=189)
    photo_aspect_tolerance = models.FloatField(_("照片宽高比容差"), default=0.05)
    photo_background_refuses = models.BooleanField(_("背景色不符时拒收（否则仅提示）"), default=False)
    # Duplicates (查重)
    duplicate_case_threshold = models.FloatField(_("疑似重复立案阈值"), null=True, blank=True)
    identity_min_match_share = models.FloatField(
        _("身份核验文件最低匹配比例"), default=0.9,
        help_text=_("核验文件覆盖的在读学生比例低于此值时，须管理员确认预览后才写入"),
    )
    deletion_undo_days = models.PositiveSmallIntegerField(_("删除学籍可撤销天数"), default=30)
    full_sweep_asks_peers = models.BooleanField(
        _("全量查重同时询问外省学籍系统（跨省在籍）"), default=False,
        help_text=_("勾选后，每次全量查重把本省全部在籍学生的身份证号分批发给每个外省学籍系统；人数多时耗时较长"),
    )
    # Answers naming another unit's pupil (转学查询)
    foreign_lookups_per_hour = models.PositiveSmallIntegerField(_("每人每小时查询外单位学生次数上限"), default=30)

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

    def graduation_opening_day(self, year: int) -> dt.date:
        """The first day a graduation list of ``year`` may be approved."""
        month, day = self._month_day(self.graduation_opens)
        return dt.date(year, month, day)

    def unreceived_graduates_date(self, year: int) -> dt.date:
        """The day the counties see the graduates of ``year`` no school has received."""
        month, day = self._month_day(self.unreceived_graduates_day)
        return dt.date(year, month, day)

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
