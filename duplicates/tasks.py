"""Celery tasks of duplicate detection: thin wrappers that take IDs and call a service."""

from __future__ import annotations

from celery import shared_task

from duplicates import cases, keys, sweeps


@shared_task(acks_late=True)
def sweep_partition_task(sweep_id: int, index: int) -> bool:
    """One partition of a duplicate sweep (claimed by a conditional update in the service)."""
    return sweeps.sweep_run_partition(sweep_id=sweep_id, index=index)


@shared_task
def sweep_prepare_task(province_code: str) -> int:
    """Matching keys for pupils written in bulk since the last sweep."""
    return keys.match_keys_fill_missing(province_code)


@shared_task
def sweeps_incremental_daily_task() -> list[int]:
    """The beat's daily incremental sweep (records written since the last sweep) per province."""
    return sweeps.sweeps_incremental_daily()


@shared_task
def case_recheck_task(case_id: int) -> bool:
    """Match the pair of one case again after its key change was approved."""
    case = cases.case_recheck(case_id=case_id)
    return case is not None


@shared_task
def cases_recheck_due_task() -> int:
    """The beat's safety net: every case still due a re-check (a lost task, a worker down)."""
    return cases.cases_recheck_due()
