"""Celery tasks of duplicate detection: thin wrappers that take IDs and call a service."""

from __future__ import annotations

from celery import shared_task

from duplicates import cases, identity, keys, promotion, sweeps


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


@shared_task(bind=True, max_retries=2, default_retry_delay=5)
def identity_check_prepare_task(self, run_id: int) -> str:
    """身份核验, first half: match the extract (then apply it, or stop as a preview)."""
    try:
        return identity.identity_check_prepare(run_id=run_id).status
    except OSError as exc:  # storage hiccup before anything was written
        raise self.retry(exc=exc) from exc
    except Exception:
        identity.identity_check_fail(run_id=run_id)
        raise


@shared_task
def identity_check_apply_task(run_id: int) -> str:
    """身份核验 confirmed after its preview: write the statuses in batches."""
    try:
        return identity.identity_check_apply(run_id=run_id).status
    except Exception:
        identity.identity_check_fail(run_id=run_id)
        raise


@shared_task
def identity_check_restore_task(run_id: int) -> str:
    """Undo a 身份核验: the previous statuses back, in batches."""
    return identity.identity_check_restore(run_id=run_id).status


@shared_task
def promotion_run_task(run_id: int) -> str:
    """L→G promotion of many pupils, in batches."""
    try:
        return promotion.promotion_run(run_id=run_id).status
    except Exception:
        promotion.promotion_fail(run_id=run_id)
        raise
