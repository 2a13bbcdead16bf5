"""Province sweeps (全省查重): partitions run by Celery workers, each claimed by a conditional
update, resumable when a worker dies, with progress for the sweep page."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import current_app, group
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import acting_as
from accounts.permissions import require_province_admin
from duplicates.cases import create_cases, known_pairs
from duplicates.entry import matches_in_province
from duplicates.keys import (
    case_threshold,
    changed_records,
    match_keys_fill_missing,
    partition_records,
    phone_holders,
    province_records,
)
from duplicates.models import (
    CleanPair,
    DuplicateCase,
    DuplicateSweep,
    SweepPartition,
)
from duplicates.peers import sweep_ask_peers
from kernel import matching
from kernel.errors import Conflict, NotFound, ValidationFailed
from provinces.models import ProvincePolicy
from registry.models import ACTIVE_STATUSES, Pupil
from registry.validation import RESIDENT_ID

log = logging.getLogger(__name__)


DEFAULT_PARTITIONS = 8
STALE_AFTER = timedelta(minutes=30)


def sweep_start(*, user, province_code: str, partitions: int = DEFAULT_PARTITIONS, dispatch: bool = True,
                incremental: bool = False, ask_peers: bool = False) -> DuplicateSweep:
    """Start a province-wide sweep: one partition row per Celery task, dispatched on commit.

    ``incremental``: only the records whose matching keys changed since the previous sweep
    of the province started, each compared with the whole province through the indexed keys
    (``duplicates.entry.matches_in_province``); its time follows the changes, not the
    province. Needs an earlier sweep (``sweep_full_first``).

    ``ask_peers`` (or the province policy's ``full_sweep_asks_peers``): a full sweep also asks
    every peer registry about each active record with a resident ID or, without an ID number,
    its family (``full_sweep_peers``) — all the province's IDs to every peer, so off unless
    chosen. An incremental sweep always
    asks about its changed records.
    """
    # The admin's own province (an empty code means it; another province's is refused).
    province = require_province_admin(user, (province_code or "").strip()).division_id[:2]
    if not 1 <= partitions <= 256:
        raise ValidationFailed(_("分区数应在 1 到 256 之间"), code="invalid_partitions", field="partitions")
    since = None
    if incremental:
        previous = DuplicateSweep.objects.filter(province_id=province,
                                                 status=DuplicateSweep.Status.FINISHED).order_by("-started_at").first()
        if previous is None:
            raise Conflict(_("本省尚未完成过查重，请先进行一次全量查重"), code="sweep_full_first")
        since = previous.started_at
    try:
        with transaction.atomic(), acting_as(user):
            sweep = DuplicateSweep.objects.create(
                province_id=province, partitions_total=partitions, started_by=user, since=since,
                ask_peers=not incremental and (ask_peers or ProvincePolicy.for_province(province).full_sweep_asks_peers),
                mode=DuplicateSweep.Mode.INCREMENTAL if incremental else DuplicateSweep.Mode.FULL)
            SweepPartition.objects.bulk_create(SweepPartition(sweep=sweep, index=i) for i in range(partitions))
            if dispatch:
                transaction.on_commit(lambda: _dispatch(sweep.pk, list(range(partitions)), prepare=sweep.province_id))
    except IntegrityError as exc:
        if "one_running_sweep_per_province" in str(exc):
            raise Conflict(_("本省已有一次查重正在进行，请等待其完成或继续该次查重"), code="sweep_running") from exc
        raise
    log.info("sweep %s started by %s: %s partitions", sweep.pk, user, partitions)
    return sweep


def _dispatch(sweep_id: int, indexes: list[int], prepare: str = "") -> None:
    """Queue the partitions (and the key refresh) by task name: ``duplicates.tasks`` calls
    this module, so it is not imported here."""
    if prepare:
        current_app.signature("duplicates.tasks.sweep_prepare_task", args=(prepare,)).delay()
    group(current_app.signature("duplicates.tasks.sweep_partition_task", args=(sweep_id, index)) for index in indexes
          ).apply_async()


def sweep_resume(*, user, sweep_id: int, stale_after: timedelta = STALE_AFTER, dispatch: bool = True) -> list[int]:
    """Re-queue a sweep's unfinished partitions; a partition claimed longer than
    ``stale_after`` ago (its worker died) goes back to pending first. Returns the indexes."""
    membership = require_province_admin(user)
    # Another province's sweep answers as a missing one does: 404, never which.
    sweep = DuplicateSweep.objects.filter(pk=sweep_id, province_id=membership.division_id[:2]).first()
    if sweep is None:
        raise NotFound(_("未找到该查重批次，或不在您的管理范围内"), code="not_found")
    if sweep.status != DuplicateSweep.Status.RUNNING:
        raise Conflict(_("该次查重已完成，无需继续"), code="sweep_finished")
    with transaction.atomic(), acting_as(user):
        SweepPartition.objects.filter(
            sweep=sweep, status=SweepPartition.Status.RUNNING, claimed_at__lt=timezone.now() - stale_after
        ).update(status=SweepPartition.Status.PENDING, claimed_at=None)
        indexes = list(sweep.parts.filter(status=SweepPartition.Status.PENDING).values_list("index", flat=True))
        if dispatch and indexes:
            transaction.on_commit(lambda: _dispatch(sweep.pk, indexes))
    log.info("sweep %s resumed by %s: partitions %s", sweep.pk, user, indexes)
    return indexes


def sweep_run_partition(*, sweep_id: int, index: int, records: list[matching.PupilKey] | None = None,
                        keys_filled: bool = False) -> bool:
    """Run one partition: claim it (conditional update), read the records with a key in it
    (unless ``records``, the whole province, are given), score its blocks, open cases for
    new pairs, and finish the sweep when it was the last. False when someone else holds it.

    The keys of rows written in bulk are filled first, unless ``keys_filled`` (the caller
    has just done it, ``sweep_run_inline``): a look at every pupil of the province, ~1 s at
    a million, that would otherwise be an incremental partition's largest cost."""
    claimed = SweepPartition.objects.filter(
        sweep_id=sweep_id, index=index, status=SweepPartition.Status.PENDING,
        sweep__status=DuplicateSweep.Status.RUNNING,
    ).update(status=SweepPartition.Status.RUNNING, claimed_at=timezone.now())
    if not claimed:
        return False
    sweep = DuplicateSweep.objects.select_related("started_by").get(pk=sweep_id)
    province = sweep.province_id
    stats = matching.SweepStats()
    clean = {frozenset(p) for p in CleanPair.objects.filter(pupil_low__county_code__startswith=province)
             .values_list("pupil_low", "pupil_high")}
    if sweep.mode == DuplicateSweep.Mode.INCREMENTAL:
        matches = _incremental_matches(sweep, index, clean, stats, keys_filled=keys_filled)
    else:
        holders = None
        if records is None:
            # Only the records with a key in this partition, by their stored buckets; the
            # keys of rows written in bulk are filled first (the prepare task may still run).
            if not keys_filled:
                match_keys_fill_missing(province)
            records = partition_records(province, index, sweep.partitions_total)
            holders = phone_holders(province)
        matches = matching.sweep_partition(records, index, sweep.partitions_total, exclude_pairs=clean, stats=stats,
                                           phone_holders=holders)
        if sweep.ask_peers:
            full_sweep_peers(sweep, index)
    threshold = case_threshold(province)
    with transaction.atomic(), acting_as(sweep.started_by, sweep=sweep.pk, partition=index):
        part = SweepPartition.objects.select_for_update().get(sweep_id=sweep_id, index=index)
        if part.status != SweepPartition.Status.RUNNING:  # re-claimed after we were thought dead
            return False
        known = known_pairs(province)
        found = [((m.a_pk, m.b_pk), m.score, list(m.reasons), m.kind) for m in matches
                 if m.score >= threshold and (m.a_pk, m.b_pk) not in known]
        created = create_cases(province, found, source=DuplicateCase.Source.SWEEP, sweep=sweep)
        SweepPartition.objects.filter(pk=part.pk).update(
            status=SweepPartition.Status.DONE, finished_at=timezone.now(), records=stats.records,
            blocks=stats.blocks, pairs_scored=stats.pairs_scored, cases_found=created,
        )
        DuplicateSweep.objects.filter(pk=sweep_id).update(
            partitions_done=F("partitions_done") + 1, blocks_total=F("blocks_total") + stats.blocks,
            pairs_scored=F("pairs_scored") + stats.pairs_scored, cases_found=F("cases_found") + created,
        )
    _finish_if_done(sweep_id)
    log.info("sweep %s partition %s: %s records, %s pairs, %s new cases", sweep_id, index, stats.records,
             stats.pairs_scored, created)
    return True


def _incremental_matches(sweep: DuplicateSweep, index: int, clean: set, stats: matching.SweepStats, *,
                         keys_filled: bool = False) -> list:
    """Partition ``index`` of an incremental sweep: the changed records with ``pk % total ==
    index`` against the whole province; a pair of two changed records belongs to the
    partition of its lower pk, so no pair is scored into two partitions' cases."""
    if not keys_filled:
        match_keys_fill_missing(sweep.province_id)  # rows written in bulk without keys count as changed
    total = sweep.partitions_total
    changed = changed_records(sweep.province_id, sweep.since)
    changed_pks = {record.pk for record in changed}
    mine = [record for record in changed if record.pk % total == index]
    sweep_ask_peers(sweep, [record.pk for record in mine])  # 跨省在籍: the changed records held elsewhere
    matches = []
    for m in matches_in_province(sweep.province_id, mine, stats=stats):
        low_changed_elsewhere = m.a_pk in changed_pks and m.a_pk % total != index
        if frozenset((m.a_pk, m.b_pk)) not in clean and not low_changed_elsewhere:
            matches.append(m)
    stats.matches = len(matches)
    return matches


def full_sweep_peers(sweep: DuplicateSweep, index: int) -> int:
    """跨省在籍 in a full sweep that asks the peers: partition ``index`` asks about the
    province's active records with a resident ID or with no ID number (by family) whose
    ``pk % partitions == index`` (each record in one partition), through ``sweep_ask_peers``
    in its batches."""
    pks = (Pupil.objects.filter(Q(id_type=RESIDENT_ID) & ~Q(id_number="") | Q(id_number=""),
                                county_code__startswith=sweep.province_id, status__in=ACTIVE_STATUSES)
           .annotate(part=F("pk") % sweep.partitions_total).filter(part=index).values("pk"))
    return sweep_ask_peers(sweep, pks)


def _finish_if_done(sweep_id: int) -> None:
    unfinished = SweepPartition.objects.filter(sweep_id=sweep_id).exclude(status=SweepPartition.Status.DONE)
    if not unfinished.exists():
        DuplicateSweep.objects.filter(pk=sweep_id, status=DuplicateSweep.Status.RUNNING).update(
            status=DuplicateSweep.Status.FINISHED, finished_at=timezone.now())


def sweep_run_inline(*, user, province_code: str, partitions: int = DEFAULT_PARTITIONS,
                     incremental: bool = False, ask_peers: bool = False) -> DuplicateSweep:
    """A whole sweep in this process (``sweep_duplicates --inline``): the records are read
    once and the missing keys filled once, before the partitions."""
    match_keys_fill_missing(province_code)
    sweep = sweep_start(user=user, province_code=province_code, partitions=partitions, dispatch=False,
                        incremental=incremental, ask_peers=ask_peers)
    records = None if incremental else province_records(province_code)
    for index in range(partitions):
        sweep_run_partition(sweep_id=sweep.pk, index=index, records=records, keys_filled=True)
    sweep.refresh_from_db()
    return sweep


def sweeps_incremental_daily(*, dispatch: bool = True) -> list[int]:
    """The beat's daily incremental sweep of every province that has finished a sweep before
    and is not sweeping now, run in the name of the province's admin (audit). Returns the
    new sweeps' ids."""
    from accounts.models import Membership

    started = []
    provinces = set(DuplicateSweep.objects.filter(status=DuplicateSweep.Status.FINISHED)
                    .values_list("province_id", flat=True))
    running = set(DuplicateSweep.objects.filter(status=DuplicateSweep.Status.RUNNING)
                  .values_list("province_id", flat=True))
    for province in sorted(provinces - running):
        admin = (Membership.objects.select_related("user").filter(role=Membership.Role.ADMIN, division_id=province)
                 .order_by("pk").first())
        if admin is None:
            log.warning("incremental sweep of %s skipped: no province admin", province)
            continue
        try:
            sweep = sweep_start(user=admin.user, province_code=province, partitions=1, dispatch=dispatch,
                                incremental=True)
        except Conflict as exc:  # started meanwhile
            log.info("incremental sweep of %s not started: %s", province, exc.code)
            continue
        started.append(sweep.pk)
    return started
