"""Rosters (花名册): spreadsheets of pupils, one per row, imported and exported by schools and
counties.

Terms of the national system, named once here:

- ``RosterImport`` — 花名册导入: upload → dry run (预检) → confirm → import
- ``RosterExport`` — 花名册导出: who exported which pupils, when (the audit row), and the
  workbook when a worker built it
"""

from __future__ import annotations

import uuid

import pghistory
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from schools.models import School


def roster_upload_path(instance, filename: str) -> str:
    """A generated storage name: the user's file name is never used on disk."""
    return f"rosters/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(condition=pghistory.AnyChange("status")),
    pghistory.DeleteEvent(),
    fields=["created_by", "school", "scope_code", "original_name", "status", "mode", "total_rows",
            "new_rows", "unchanged_rows", "refused_rows", "imported_rows"],
    model_name="RosterImportEvent",
    meta={"db_table": "schools_rosterimportevent"},
)
class RosterImport(models.Model):
    """One roster import job (花名册导入): upload → dry run (预检) → confirm → import.

    The dry run gives every row an outcome (new, unchanged, refused with every reason); the
    user then confirms with one of two modes. Large files run as Celery work and report
    their progress here.
    """

    class Status(models.TextChoices):
        CHECKING = "checking", _("预检中")
        CHECKED = "checked", _("预检完成，待确认")
        IMPORTING = "importing", _("导入中")
        IMPORTED = "imported", _("已导入")
        REFUSED = "refused", _("未导入（有不合格的行）")
        FAILED = "failed", _("文件无法读取")

    class Mode(models.TextChoices):
        GOOD_ROWS = "good_rows", _("只导入合格的行")
        ALL_OR_NOTHING = "all_or_nothing", _("全部合格才导入")

    #: States in which the job is still working (the page keeps polling).
    RUNNING = (Status.CHECKING, Status.IMPORTING)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_name = models.CharField(_("上传人"), max_length=150)
    #: The uploader's unit: a school user's school, else the division code (scope filter).
    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    scope_code = models.CharField(max_length=6, db_index=True)
    unit_code = models.CharField(_("单位代码"), max_length=10)
    file = models.FileField(_("文件"), upload_to=roster_upload_path, max_length=200)
    original_name = models.CharField(_("原文件名"), max_length=200, blank=True)
    file_format = models.CharField(_("格式"), max_length=8, blank=True)
    file_size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    keep_likely_duplicates = models.BooleanField(_("保留疑似重复"), default=False)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.CHECKING)
    mode = models.CharField(_("导入方式"), max_length=16, choices=Mode.choices, blank=True)
    total_rows = models.PositiveIntegerField(_("总行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已处理"), default=0)
    new_rows = models.PositiveIntegerField(_("新增"), default=0)
    unchanged_rows = models.PositiveIntegerField(_("无变化"), default=0)
    refused_rows = models.PositiveIntegerField(_("不合格"), default=0)
    imported_rows = models.PositiveIntegerField(_("已导入"), default=0)
    #: A file-level refusal ({code, message, field}) when the file cannot be read at all.
    error = models.JSONField(null=True, blank=True)
    #: Every refused row: [{row, name, problems: [{column, field, code, message}]}].
    refused = models.JSONField(default=list, blank=True)
    #: Storage name of the parsed rows and their outcomes (gzip JSON), for the row report.
    rows_file = models.CharField(max_length=200, blank=True)
    #: Storage name of the dry run's checked records of its new rows (gzip JSON): what the
    #: import writes when nothing in the registry changed since (``rosters.jobs``).
    records_file = models.CharField(max_length=200, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    scope_paths = (("scope_code", "school"),)

    class Meta:
        db_table = "schools_rosterimport"  # moved from the schools app; the table kept its name
        verbose_name = _("花名册导入")
        verbose_name_plural = _("花名册导入")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.original_name or self.pk} ({self.get_status_display()})"

    @property
    def is_running(self) -> bool:
        return self.status in self.RUNNING

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 0 if self.is_running else 100
        return min(100, round(100 * self.processed_rows / self.total_rows))


def roster_export_path(instance, filename: str) -> str:
    """A generated storage name for a workbook built by a worker."""
    return f"rosters/exports/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.xlsx"


class RosterExport(models.Model):
    """One roster export (花名册导出): who exported which pupils, when — the audit row.

    A small export is built in the request and recorded done. A large one (a whole county)
    is built by a worker into ``file``; the exporter follows it on its page and downloads it.
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("正在生成")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(_("导出人"), max_length=150)
    unit_code = models.CharField(_("单位代码"), max_length=10)
    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    scope_code = models.CharField(max_length=6, db_index=True)
    filters = models.JSONField(_("条件"), default=dict)
    row_count = models.PositiveIntegerField(_("行数"), default=0)
    request_id = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(_("导出时间"), auto_now_add=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.DONE)
    file = models.FileField(_("文件"), upload_to=roster_export_path, max_length=200, blank=True)
    file_name = models.CharField(_("下载文件名"), max_length=200, blank=True)
    error = models.CharField(_("错误"), max_length=500, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    scope_paths = (("scope_code", "school"),)

    class Meta:
        db_table = "schools_rosterexport"  # moved from the schools app; the table kept its name
        verbose_name = _("花名册导出记录")
        verbose_name_plural = _("花名册导出记录")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.at:%Y-%m-%d %H:%M} {self.filters}"


def admission_upload_path(instance, filename: str) -> str:
    return f"rosters/admissions/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


@pghistory.track()
class AdmissionList(models.Model):
    """招生名单: a school's (or its county's) intake for grades 1/7/10 in the roster format,
    previewed row by row (new child, graduate to receive, enrolled elsewhere, error) and
    then applied for the rows the importer chose.

    A job like the roster import: a large list is previewed on a worker, and applying always
    runs on one (all or nothing); the page and ``GET /api/v1/admissions/{id}`` follow the
    state. A refused apply returns to 待确认 with the refused rows in ``error``.
    """

    class State(models.TextChoices):
        PREVIEWING = "previewing", _("预检中")
        PREVIEWED = "previewed", _("待确认")
        APPLYING = "applying", _("导入中")
        APPLIED = "applied", _("已导入")
        FAILED = "failed", _("失败")

    #: States in which a worker is still on the list (the page keeps polling).
    RUNNING = (State.PREVIEWING, State.APPLYING)

    state = models.CharField(_("状态"), max_length=16, choices=State.choices, default=State.PREVIEWING)
    #: The importing school (null for a county): the scope filter with ``scope_code``.
    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    scope_code = models.CharField(max_length=6, db_index=True)
    file = models.FileField(_("文件"), upload_to=admission_upload_path, max_length=200)
    original_name = models.CharField(_("原文件名"), max_length=200, blank=True)
    #: Per row: ``{"row", "name", "school_code", "grade", "kind", "message", "problems": [...]}``.
    report = models.JSONField(default=list, blank=True)
    #: What applying wrote: ``{"rows": [...], "registered": [...], "progressions": [...]}``.
    applied = models.JSONField(default=dict, blank=True)
    #: The rows chosen for the apply under way (or last refused).
    chosen = models.JSONField(default=list, blank=True)
    #: Why the last step failed: ``{"code", "message", "details"}`` (``details``: the refused
    #: rows, ``[{"row", "code", "message"}]``, when an apply was refused).
    error = models.JSONField(null=True, blank=True)
    file_size = models.PositiveBigIntegerField(default=0)
    task_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)

    scope_paths = (("scope_code", "school"),)

    class Meta:
        verbose_name = _("招生名单")
        verbose_name_plural = _("招生名单")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.original_name or f"{_('招生名单')} {self.pk}"

    @property
    def is_running(self) -> bool:
        return self.state in self.RUNNING

    def count(self, kind: str) -> int:
        return sum(1 for row in self.report if row.get("kind") == kind)
