"""What the reports app keeps: the audit of statistics exports, the official figures of
教育事业统计 (the yearly education statistics) a county uploads, and the documents issued
(学籍表, 在读证明) with their verification."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.models import Pupil
from schools.models import School


class ReportExport(models.Model):
    """One export of a statistics table (统计导出): who exported which table of which unit,
    with which filter, when — the audit row."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(_("导出人"), max_length=150)
    unit_code = models.CharField(_("单位代码"), max_length=10, blank=True)
    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    scope_code = models.CharField(max_length=6, blank=True, db_index=True)
    report = models.CharField(_("报表"), max_length=32)
    filters = models.JSONField(_("条件"), default=dict)
    row_count = models.PositiveIntegerField(_("行数"), default=0)
    request_id = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(_("导出时间"), default=timezone.now)

    scope_paths = (("scope_code", "school"),)

    class Meta:
        verbose_name = _("统计导出记录")
        verbose_name_plural = _("统计导出记录")
        ordering = ["-at"]


class OfficialReturn(models.Model):
    """One upload of a county's 教育事业统计 figures for a school year; the latest upload of a
    county and year is the one compared."""

    county = models.ForeignKey("provinces.Division", on_delete=models.PROTECT, related_name="+")
    school_year = models.PositiveSmallIntegerField(_("学年（起始年份）"))
    file_name = models.CharField(_("文件名"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_by_name = models.CharField(max_length=150)
    uploaded_at = models.DateTimeField(default=timezone.now)
    row_count = models.PositiveIntegerField(default=0)

    scope_paths = (("county", "figures__school"),)

    class Meta:
        verbose_name = _("教育事业统计上报")
        verbose_name_plural = _("教育事业统计上报")
        indexes = [models.Index(fields=["county", "school_year", "-uploaded_at"], name="official_latest")]


class OfficialFigure(models.Model):
    """One line of an official return: a school's boys and girls of one grade."""

    official_return = models.ForeignKey(OfficialReturn, on_delete=models.CASCADE, related_name="figures")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    grade = models.PositiveSmallIntegerField()
    boys = models.PositiveIntegerField()
    girls = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["official_return", "school", "grade"],
                                               name="one_official_figure_per_school_grade")]


class IssuedDocument(models.Model):
    """A document issued for a pupil (学籍表 or 在读证明), with its issue number: the audit row
    and what the public verification page checks."""

    class Kind(models.TextChoices):
        RECORD = "record", _("学生学籍信息表")
        ENROLMENT = "enrolment", _("在读证明")

    kind = models.CharField(_("文书"), max_length=16, choices=Kind.choices)
    number = models.CharField(_("编号"), max_length=32, unique=True)
    pupil = models.ForeignKey(Pupil, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    county_code = models.CharField(max_length=6)
    status = models.CharField(_("开具时学籍状态"), max_length=16)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    issued_by_name = models.CharField(max_length=150)
    unit_code = models.CharField(max_length=10, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    issued_at = models.DateTimeField(default=timezone.now)

    scope_paths = (("county_code", "school"),)

    class Meta:
        verbose_name = _("开具文书记录")
        verbose_name_plural = _("开具文书记录")
        ordering = ["-issued_at"]


class PupilCount(models.Model):
    """统计快照: how many pupils of a school (or, with no school, of a county) share one
    combination of the counted fields.

    Rebuilt whole by ``reports.snapshot.pupil_counts_refresh`` (a Celery beat job); a county's
    page sums its school rows, a city's and a province's the county rows (six times fewer);
    a school's and a class's page count the pupils themselves. See docs/statistics.md for why.
    """

    county_code = models.CharField(max_length=6)
    school = models.ForeignKey(School, null=True, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16)
    grade = models.PositiveSmallIntegerField()
    sex = models.CharField(max_length=1)
    ethnicity = models.CharField(max_length=2)
    migrant = models.CharField(max_length=1)
    left_behind = models.CharField(max_length=1)
    boarding = models.CharField(max_length=1)
    no_hukou = models.BooleanField()
    photo = models.BooleanField()
    identity_status = models.CharField(max_length=16)
    g_number = models.BooleanField()
    n = models.PositiveIntegerField()

    scope_paths = (("county_code", "school"),)

    class Meta:
        indexes = [models.Index(fields=["county_code"], name="pupilcount_county",
                                opclasses=["varchar_pattern_ops"])]


class PupilCountSnapshot(models.Model):
    """When the pupil counts were last rebuilt (the "as of" time the pages show)."""

    taken_at = models.DateTimeField()
    rows = models.PositiveIntegerField()
    pupils = models.PositiveIntegerField()
    seconds = models.FloatField()
