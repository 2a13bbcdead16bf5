"""The portal's own record: the audit-trail export (审计记录导出) built by a worker."""

from __future__ import annotations

import uuid

import pghistory
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from schools.models import School


def audit_export_path(instance, filename: str) -> str:
    """A generated storage name: no unit code or filter in the path."""
    return f"audit/exports/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.xlsx"


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(condition=pghistory.AnyChange("status")),
    pghistory.DeleteEvent(),
    fields=["requested_by", "requested_by_name", "unit_code", "scope_code", "filters", "status", "total_rows"],
    model_name="AuditExportEvent",
)
class AuditExport(models.Model):
    """One export of the audit trail: who asked for which rows, and the workbook a worker built.

    Starting it is a write (the POST that records the request, kept by pghistory with the
    actor, unit and address); the worker reads the requester's scope as it stands then.
    The workbook is handed to the requester and the auditors of the same unit only.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("正在生成")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    RUNNING_STATES = (Status.QUEUED, Status.RUNNING)

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_by_name = models.CharField(_("导出人"), max_length=150)
    unit_code = models.CharField(_("单位代码"), max_length=10, db_index=True)
    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    scope_code = models.CharField(max_length=6, db_index=True)
    filters = models.JSONField(_("条件"), default=dict, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField(_("总行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已写入行数"), default=0)
    file = models.FileField(_("文件"), upload_to=audit_export_path, max_length=200, blank=True)
    file_name = models.CharField(_("下载文件名"), max_length=200, blank=True)
    error = models.TextField(_("错误"), blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    scope_paths = (("scope_code", "school"),)

    class Meta:
        verbose_name = _("审计记录导出")
        verbose_name_plural = _("审计记录导出")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.requested_by_name} {self.created_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def is_running(self) -> bool:
        return self.status in self.RUNNING_STATES

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 0 if self.is_running else 100
        return min(100, round(100 * self.processed_rows / self.total_rows))
