"""Duplicate detection (查重) and problem records (问题学籍).

Terms of the national system, named once here:

- ``DuplicateSweep`` / ``SweepPartition`` — 查重批次: a province-wide sweep, cut into
  partitions run by Celery workers
- ``DuplicateCase`` / ``CaseMember`` — 疑似重复学籍: two records that are probably one child,
  for the counties of its members; resolved by 佐证 (evidence: both real), 变更 (correct key
  fields) or 删除 (soft-delete the wrong record)
- ``CleanPair`` — a pair ruled 佐证: never flagged again
- ``IdentityCheckRun`` — 身份核验 against the population registry (人口信息库); its
  ``IdentityCheckChange`` rows keep the previous statuses for an undo
- ``PromotionRun`` — L→G 转正 (临时学籍号转正式学籍号) of many pupils, run in batches
- ``DeletionRequest`` — 删除学籍申请: a case's 删除, proposed by one person and approved by another
- ``PupilMatchKey`` — the indexed matching keys of one pupil (at-entry check)
- ``PeerHolding`` — 跨省在籍: an active record whose resident ID an active record in another
  province's registry also holds, found by an incremental sweep asking the peers

A pupil with an open case, an open ``PeerHolding`` or a failed identity check is a problem record (问题学籍,
``duplicates.problems``): it blocks transfers and L→G promotion.
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from provinces.models import Division
from registry.models import Pupil


class PupilMatchKey(models.Model):
    """Indexed matching keys of one pupil, for the at-entry candidate query (查重).

    Maintained by ``duplicates.keys.match_keys_refresh``: on every save of a pupil (a
    signal) and, for rows written in bulk, by every sweep. Guardian and ID lookups use the
    existing indexes of ``Pupil``/``Guardian``; this table adds what they cannot: the name
    sound keys qualified by the birth year, and the ID-neighbour keys of IDs failing their
    check char; and for the sweeps, the buckets of the pupil's sweep keys (which partitions
    read it).
    """

    pupil = models.OneToOneField(Pupil, primary_key=True, on_delete=models.CASCADE, related_name="match_key")
    province_code = models.CharField(max_length=2)
    birth_year = models.PositiveSmallIntegerField()
    # Qualified by the birth year (``keys.year_keys``: ``2016:wang-zi-xuan``): a probe meets
    # the children of one year only.
    sound_keys = ArrayField(models.TextField(), default=list)
    id_keys = ArrayField(models.CharField(max_length=40), default=list)
    # The buckets of every sweep key (``matching.record_buckets``): a sweep partition reads
    # only the pupils having one of its buckets. Null until computed (``match_keys_fill_missing``).
    sweep_buckets = ArrayField(models.SmallIntegerField(), null=True)
    # When the keys were last written: an incremental sweep takes the pupils changed since
    # the previous sweep started (every save of a pupil or family member, every bulk write).
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "provinces_pupilmatchkey"  # moved from the provinces app; the table kept its name
        indexes = [
            models.Index(fields=["province_code", "birth_year"], name="matchkey_province_year"),
            models.Index(fields=["province_code", "changed_at"], name="matchkey_province_changed"),
            # No pending list (fastupdate off): after a bulk write (a roster, the keys of a
            # whole province) every lookup would scan the unmerged entries until a vacuum
            # (milliseconds per probe instead of microseconds).
            GinIndex(fields=["sound_keys"], name="matchkey_sound_gin", fastupdate=False),
            GinIndex(fields=["id_keys"], name="matchkey_id_gin", fastupdate=False),
            GinIndex(fields=["sweep_buckets"], name="matchkey_buckets_gin", fastupdate=False),
        ]


class DuplicateSweep(models.Model):
    """One province-wide duplicate sweep (查重批次), cut into partitions run by Celery workers."""

    class Status(models.TextChoices):
        RUNNING = "running", _("进行中")
        FINISHED = "finished", _("已完成")

    class Mode(models.TextChoices):
        FULL = "full", _("全量查重")
        INCREMENTAL = "incremental", _("增量查重")

    province = models.ForeignKey(Division, verbose_name=_("省"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.RUNNING)
    mode = models.CharField(_("方式"), max_length=16, choices=Mode.choices, default=Mode.FULL)
    # Incremental: the records whose keys changed from this moment on (the previous sweep's start).
    since = models.DateTimeField(_("增量起点"), null=True, blank=True)
    #: A full sweep that also asks the peers (跨省在籍) about every active record with a
    #: resident ID: chosen at start or by the province policy. An incremental sweep always asks.
    ask_peers = models.BooleanField(_("询问外省学籍系统"), default=False)
    partitions_total = models.PositiveIntegerField(_("分区总数"))
    partitions_done = models.PositiveIntegerField(_("已完成分区"), default=0)
    blocks_total = models.PositiveBigIntegerField(_("分块数"), default=0)
    pairs_scored = models.PositiveBigIntegerField(_("已比对记录对"), default=0)
    cases_found = models.PositiveIntegerField(_("新立案件"), default=0)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        db_table = "provinces_duplicatesweep"  # moved from the provinces app; the table kept its name
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
        db_table = "provinces_sweeppartition"  # moved from the provinces app; the table kept its name
        ordering = ["sweep", "index"]
        constraints = [models.UniqueConstraint(fields=["sweep", "index"], name="one_row_per_sweep_partition")]


@pghistory.track(meta={"db_table": "provinces_duplicatecaseevent"})
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
    pupil_low = models.ForeignKey(Pupil, on_delete=models.PROTECT, related_name="+")
    pupil_high = models.ForeignKey(Pupil, on_delete=models.PROTECT, related_name="+")
    members = models.ManyToManyField(Pupil, through="CaseMember", related_name="duplicate_cases")
    score = models.FloatField(_("相似度"))
    reasons = models.JSONField(_("理由"), default=list)
    kind = models.CharField(_("类型"), max_length=16, blank=True)
    source = models.CharField(_("来源"), max_length=8, choices=Source.choices)
    sweep = models.ForeignKey(DuplicateSweep, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    entry_reason = models.CharField(_("录入理由"), max_length=500, blank=True)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.OPEN)
    resolution = models.CharField(_("处理方式"), max_length=8, choices=Resolution.choices, blank=True)
    #: The key change (``changes.ChangeRequest``) the case waits on while its 变更 is being
    #: approved. A plain id, not a foreign key: the chains live in a layer above this app
    #: and tell the case when the change is decided (``duplicates.cases.case_change_decided``).
    change_request_id = models.BigIntegerField(_("变更申请"), null=True, blank=True)
    #: The change was approved: the pair is to be matched again.
    recheck_due = models.BooleanField(_("待复核"), default=False)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    note = models.CharField(_("处理说明"), max_length=500, blank=True)
    evidence = models.FileField(_("佐证材料"), upload_to="duplicate-evidence/", blank=True, max_length=200)
    evidence_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    scope_paths = (("memberships__county_code", "memberships__pupil__school"),)

    class Meta:
        db_table = "provinces_duplicatecase"  # moved from the provinces app; the table kept its name
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


@pghistory.track()
class CaseMember(models.Model):
    """A pupil of a case with the county that acts on it: the pupil's county when the case
    was opened, moved to the pupil's new county while the case is open and the pupil moves
    (转学, 升学: ``duplicates.cases.cases_follow_pupils``)."""

    case = models.ForeignKey(DuplicateCase, on_delete=models.CASCADE, related_name="memberships")
    pupil = models.ForeignKey(Pupil, on_delete=models.PROTECT, related_name="case_memberships")
    county_code = models.CharField(max_length=6)

    scope_paths = (("county_code", "pupil__school"),)

    class Meta:
        db_table = "provinces_casemember"  # moved from the provinces app; the table kept its name
        constraints = [models.UniqueConstraint(fields=["case", "pupil"], name="one_membership_per_case_pupil")]
        indexes = [models.Index(fields=["county_code"], name="casemember_county", opclasses=["varchar_pattern_ops"])]


@pghistory.track(meta={"db_table": "provinces_cleanpairevent"})
class CleanPair(models.Model):
    """A pair ruled 佐证 (both real): never flagged again."""

    pupil_low = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="+")
    pupil_high = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(DuplicateCase, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "provinces_cleanpair"  # moved from the provinces app; the table kept its name
        constraints = [
            models.UniqueConstraint(fields=["pupil_low", "pupil_high"], name="one_clean_pair"),
            models.CheckConstraint(name="clean_pair_ordered", condition=models.Q(pupil_low__lt=models.F("pupil_high"))),
        ]


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(condition=pghistory.AnyChange("status")),
    pghistory.DeleteEvent(),
    meta={"db_table": "provinces_identitycheckrunevent"},
)
class IdentityCheckRun(models.Model):
    """身份核验: one check of the province's IDs against a population-registry extract.

    A job: the extract's shape is checked in the request, then a worker matches it
    (``checking``); an extract that matches under the policy's share waits for the admin's
    confirmation (``preview``); applying writes in batches (``applying`` → ``done``); on the
    same day it can be undone (``undoing`` → ``undone``: the previous statuses restored).
    Only changes of ``status`` are audited (the counters would flood the audit log).
    """

    class Status(models.TextChoices):
        CHECKING = "checking", _("比对中")
        PREVIEW = "preview", _("待确认")
        APPLYING = "applying", _("写入中")
        DONE = "done", _("已完成")
        UNDOING = "undoing", _("撤销中")
        UNDONE = "undone", _("已撤销")
        FAILED = "failed", _("失败")

    province = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    source_name = models.CharField(max_length=200, blank=True)
    extract = models.FileField(max_length=200, blank=True)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.DONE)
    extract_rows = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(_("待核验"), default=0)
    processed = models.PositiveIntegerField(_("已处理"), default=0)
    checked = models.PositiveIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    not_found = models.PositiveIntegerField(default=0)
    mismatched = models.PositiveIntegerField(default=0)
    threshold = models.FloatField(_("匹配比例下限"), default=0)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    error_code = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "provinces_identitycheckrun"  # moved from the provinces app; the table kept its name
        ordering = ["-created_at", "-id"]

    @property
    def match_share(self) -> float:
        """The share of the checked pupils the extract holds (found, whether the name agrees or not)."""
        return 1.0 if not self.checked else (self.passed + self.mismatched) / self.checked


class IdentityCheckChange(models.Model):
    """The status a pupil had before an identity check wrote it: what an undo restores."""

    run = models.ForeignKey(IdentityCheckRun, on_delete=models.CASCADE, related_name="changes")
    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="+")
    status_before = models.CharField(max_length=16)
    note_before = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "pupil"], name="one_identity_change_per_run_pupil")]


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(condition=pghistory.AnyChange("status")),
    fields=["province", "started_by", "status", "total", "promoted_count", "refused_count"],
    model_name="PromotionRunEvent",
)
class PromotionRun(models.Model):
    """L→G 转正 of many pupils: a job run by a worker in short batches, with its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("处理中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    province = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    #: The national numbers asked for; null = every eligible pupil of the province.
    requested = models.JSONField(null=True, blank=True)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    promoted_count = models.PositiveIntegerField(default=0)
    refused_count = models.PositiveIntegerField(default=0)
    #: The first promotions (before → after; the pupils' history has every one).
    promoted = models.JSONField(default=list)
    refused = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class DeletionState(models.TextChoices):
    COUNTY_REVIEW = "county_review", _("待区县审核")
    APPROVED = "approved", _("已删除")
    REFUSED = "refused", _("已拒绝")
    WITHDRAWN = "withdrawn", _("已撤回")


@pghistory.track()
class DeletionRequest(models.Model):
    """删除学籍申请: the 删除 resolution of a duplicate case, proposed by one person of the
    member's county and approved by an approver of that county (another person: 谁批准、谁负责);
    a chain of ``workflow.engine`` (``duplicates.deletion``). Until the province's
    retention period (``deletion_undo_days``) ends, an approver of the county can undo it."""

    case = models.ForeignKey(DuplicateCase, verbose_name=_("案件"), on_delete=models.PROTECT, related_name="deletions")
    pupil = models.ForeignKey(Pupil, verbose_name=_("学生"), on_delete=models.PROTECT, related_name="+")
    county_code = models.CharField(_("所在区县代码"), max_length=6)
    note = models.CharField(_("删除理由"), max_length=500)
    state = models.CharField(_("状态"), max_length=16, choices=DeletionState.choices,
                             default=DeletionState.COUNTY_REVIEW)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    refusal_reason = models.CharField(max_length=500, blank=True)
    status_before = models.CharField(max_length=16, blank=True)
    #: The cases the deletion resolved (reopened by an undo).
    resolved_cases = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")

    scope_paths = (("county_code", "pupil__school"),)

    class Meta:
        verbose_name = _("删除学籍申请")
        verbose_name_plural = _("删除学籍申请")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=models.Q(state="county_review"),
                                    name="one_open_deletion_per_case"),
        ]


@pghistory.track()
class PeerHolding(models.Model):
    """跨省在籍: an active record of this registry whose resident ID is also held by an active
    record in another province's registry (``exchange``), as that registry answered a sweep
    (``duplicates.peers.sweep_ask_peers``; a full one only when it asks): a problem record for its county
    while open; resolved when a later sweep's answer no longer holds it, or by the county's
    approver with a reason (``duplicates.peers.peer_holding_resolve``, 已处理)."""

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        RESOLVED = "resolved", _("已处理")

    pupil = models.ForeignKey(Pupil, verbose_name=_("学生"), on_delete=models.PROTECT, related_name="peer_holdings")
    county_code = models.CharField(_("所在区县代码"), max_length=6)
    peer_name = models.CharField(_("外省学籍系统"), max_length=100)
    #: The peer's minimal card of its holder: province, school code and name, status.
    card = models.JSONField(_("外省在籍信息"))
    sweep = models.ForeignKey(DuplicateSweep, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="peer_holdings")
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.OPEN)
    found_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    #: Who resolved it by hand and why (empty when a sweep's answer resolved it).
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("处理人"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    resolution_reason = models.CharField(_("处理理由"), max_length=200, blank=True)

    scope_paths = (("county_code", "pupil__school"),)

    class Meta:
        verbose_name = _("跨省在籍")
        verbose_name_plural = _("跨省在籍")
        ordering = ["-found_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["pupil", "peer_name"], condition=models.Q(status="open"),
                                    name="one_open_peer_holding_per_pupil_and_peer"),
        ]
