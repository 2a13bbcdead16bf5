"""The pupil-count snapshot (统计快照) behind the division pages: rebuilt whole, in one
transaction, by one ``INSERT … SELECT … GROUP BY`` over the pupil table.

Why a snapshot refreshed by a job, not counts kept current by every write: pupils change
through many paths (forms, roster imports, bulk promotions by ``UPDATE`` per class, raw
updates of the chain engine); a counter kept by each would be one more rule in each, and a
trigger one more write in each bulk path. A province dashboard may be minutes old — the page
says as of when — and a rebuild of 1,000,000 pupils takes seconds. Schools and classes are
small enough to be counted live, exactly.
"""

from __future__ import annotations

import logging
import time

from django.db import connection, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q
from django.utils import timezone

from registry.models import Pupil
from registry.nohukou import no_hukou_q
from reports.models import PupilCount, PupilCountSnapshot

logger = logging.getLogger("reports")

#: The snapshot's columns, in the order of the SELECT that fills them.
COLUMNS = ("county_code", "school_id", "status", "grade", "sex", "ethnicity", "migrant", "left_behind", "boarding",
           "no_hukou", "photo", "identity_status", "g_number", "n")


def _grouped_pupils():
    from reports.statistics import NOT_COUNTED

    return (
        Pupil.objects.exclude(status__in=NOT_COUNTED)
        .annotate(
            s_no_hukou=ExpressionWrapper(no_hukou_q(), output_field=BooleanField()),
            s_photo=ExpressionWrapper(~Q(photo=""), output_field=BooleanField()),
            s_g_number=ExpressionWrapper(Q(national_number__startswith="G"), output_field=BooleanField()),
            s_school=F("school_id"),
        )
        .values("county_code", "s_school", "status", "grade", "sex", "ethnicity", "migrant", "left_behind",
                "boarding", "s_no_hukou", "s_photo", "identity_status", "s_g_number")
        .annotate(s_n=Count("id"))
        .order_by()
    )


def pupil_counts_refresh() -> PupilCountSnapshot:
    """Rebuild the snapshot from the pupil table; readers see the old one until it commits."""
    started = time.perf_counter()
    sql, params = _grouped_pupils().query.sql_with_params()
    table = PupilCount._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")  # one rebuild at a time; reads go on
        cursor.execute(f"DELETE FROM {table}")
        cursor.execute(f"INSERT INTO {table} ({', '.join(COLUMNS)}) {sql}", params)
        rows = cursor.rowcount
        # The county rows: the same counts without the school, for city and province pages.
        rolled = [c for c in COLUMNS if c not in ("school_id", "n")]
        cursor.execute(f"INSERT INTO {table} ({', '.join(rolled)}, school_id, n) SELECT {', '.join(rolled)}, NULL, "
                       f"SUM(n) FROM {table} WHERE school_id IS NOT NULL GROUP BY {', '.join(rolled)}")
        rows += cursor.rowcount
        cursor.execute(f"SELECT COALESCE(SUM(n), 0) FROM {table} WHERE school_id IS NULL")
        pupils = cursor.fetchone()[0]
        snapshot = PupilCountSnapshot.objects.create(
            taken_at=timezone.now(), rows=rows, pupils=pupils, seconds=time.perf_counter() - started)
        PupilCountSnapshot.objects.exclude(pk=snapshot.pk).delete()
    logger.info("pupil counts refreshed: %s rows, %s pupils, %.1f s", rows, pupils, snapshot.seconds)
    return snapshot


def counts_for(queryset, unit):
    """The snapshot rows a unit's page sums: a county's school rows, else the county rows."""
    return queryset.filter(school__isnull=unit.level != "county")


def latest() -> PupilCountSnapshot | None:
    return PupilCountSnapshot.objects.order_by("-taken_at").first()
