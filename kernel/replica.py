"""Reads that may go to a read replica (exports, statistics), and the router that sends them.

With ``DATABASE_REPLICA_URL`` set, settings define a second database alias, ``replica``
(a PostgreSQL streaming standby). Code that reads much and can live with data a few
seconds old wraps the read in ``replica_reads()``; everything else, and every write, stays
on ``default``. Inside a transaction on ``default`` reads stay there too, so a request never
reads a replica that has not yet seen its own writes. Without the alias, nothing changes.
"""

from __future__ import annotations

import contextlib
import contextvars

from django.conf import settings
from django.db import connections

REPLICA = "replica"
_replica_reads: contextvars.ContextVar[bool] = contextvars.ContextVar("replica_reads", default=False)


@contextlib.contextmanager
def replica_reads():
    """Send the ORM reads inside the block to the read replica, when there is one."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if not _replica_reads.get() or REPLICA not in settings.DATABASES:
            return None
        if connections["default"].in_atomic_block:
            return None
        return REPLICA

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the same rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA
