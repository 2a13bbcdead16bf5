"""Pupil photos (照片采集).

Terms of the national system, named once here:

- ``PhotoImport`` — 照片批量导入: one uploaded ZIP of pupil photos for one school
- ``PhotoImportEntry`` — one file of such a ZIP with its verdict (a line of the report)

The photo itself is ``Pupil.photo``; the rules (JPEG, colour, light-blue background, 26 × 32
mm at ≥ 150 dpi, < 60 KB by default) are ``photos.rules`` with the province's policy.
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.models import Pupil
from schools.models import School


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(condition=pghistory.AnyChange("state")),
    pghistory.DeleteEvent(),
    fields=["school", "created_by", "file_name", "state", "total", "accepted", "refused", "ignored", "unchanged"],
    model_name="PhotoImportEvent",
    meta={"db_table": "schools_photoimportevent"},
)
class PhotoImport(models.Model):
    """照片批量导入: one uploaded ZIP of pupil photos for one school, with its progress.

    Progress counters are bumped with ``F()`` by the parallel chunk tasks; only changes of
    ``state`` are audited (the counters would flood the audit log).
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("处理中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    school = models.ForeignKey(School, verbose_name=_("学校"), on_delete=models.CASCADE, related_name="photo_imports")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: The name the uploader gave the file: shown to people, never used to store anything.
    file_name = models.CharField(_("文件名"), max_length=255, blank=True)
    archive = models.FileField(_("压缩包"), max_length=200)
    archive_bytes = models.PositiveBigIntegerField(_("压缩包大小"), default=0)
    state = models.CharField(_("状态"), max_length=8, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(_("文件总数"), default=0)
    processed = models.PositiveIntegerField(_("已处理"), default=0)
    accepted = models.PositiveIntegerField(_("已接收"), default=0)
    unchanged = models.PositiveIntegerField(_("未变化"), default=0)
    refused = models.PositiveIntegerField(_("未通过"), default=0)
    ignored = models.PositiveIntegerField(_("已忽略"), default=0)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(_("上传时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    scope_paths = (("school__county__code", "school"),)

    class Meta:
        db_table = "schools_photoimport"  # moved from the schools app; the table kept its name
        verbose_name = _("照片批量导入")
        verbose_name_plural = _("照片批量导入")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.school} {self.file_name} ({self.get_state_display()})"

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.processed * 100 // self.total)

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)


class PhotoImportEntry(models.Model):
    """One file of a photo ZIP and its verdict (a line of the per-file report)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待处理")
        ACCEPTED = "accepted", _("已接收")
        REFUSED = "refused", _("未通过")
        IGNORED = "ignored", _("已忽略")

    job = models.ForeignKey(PhotoImport, on_delete=models.CASCADE, related_name="entries")
    index = models.PositiveIntegerField()  # position in the ZIP's central directory
    entry = models.CharField(_("文件"), max_length=500)
    status = models.CharField(_("结果"), max_length=8, choices=Status.choices, default=Status.PENDING)
    code = models.CharField(_("代码"), max_length=64, blank=True)
    message = models.CharField(_("说明"), max_length=500, blank=True)
    pupil = models.ForeignKey(Pupil, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    national_number = models.CharField(_("全国学籍号"), max_length=19, blank=True)
    pupil_name = models.CharField(_("姓名"), max_length=50, blank=True)
    photo = models.CharField(max_length=200, blank=True)  # storage name when accepted
    warnings = models.JSONField(default=list, blank=True)
    normalizable = models.BooleanField(default=False)

    scope_paths = (("job__school__county", "job__school"),)

    class Meta:
        db_table = "schools_photoimportentry"  # moved from the schools app; the table kept its name
        verbose_name = _("照片导入结果")
        verbose_name_plural = _("照片导入结果")
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="one_photo_entry_per_index")]
        indexes = [models.Index(fields=["job", "status"], name="photo_entry_job_status")]

    def __str__(self) -> str:
        return f"{self.entry}: {self.status}"
