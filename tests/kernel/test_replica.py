"""The read-replica router: reads inside ``replica_reads()`` go to the replica when one is
configured, never inside a transaction on default; writes and migrations never do."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import transaction

from kernel.replica import ReplicaRouter, replica_reads
from registry.models import Pupil
from tests.conftest import _database_url

pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")

router = ReplicaRouter()


@pytest.fixture
def with_replica(settings):
    settings.DATABASES = {**settings.DATABASES, "replica": {**settings.DATABASES["default"]}}


def test_without_a_replica_every_read_stays_on_default():
    with replica_reads():
        assert router.db_for_read(Pupil) is None


def test_reads_in_replica_reads_go_to_the_replica(with_replica):
    assert router.db_for_read(Pupil) is None
    with replica_reads():
        assert router.db_for_read(Pupil) == "replica"
    assert router.db_for_read(Pupil) is None


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_stay_with_its_writes(with_replica):
    with replica_reads(), transaction.atomic():
        assert router.db_for_read(Pupil) is None


def test_writes_and_migrations_never_go_to_the_replica(with_replica):
    with replica_reads():
        assert router.db_for_write(Pupil) == "default"
    assert router.allow_migrate("replica", "registry") is False
    assert router.allow_migrate("default", "registry") is True


@pytest.mark.slow
def test_a_roster_export_reads_from_the_configured_replica(transactional_db, world):
    """End to end in a process configured with DATABASE_REPLICA_URL (here the same database):
    the export's pupil query runs on the replica connection, its audit row on default."""
    url = _database_url(settings.DATABASES["default"])
    code = """
import sys
import django; django.setup()
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.contrib.auth import get_user_model
from rosters.exporting import roster_export
from rosters.exporting import RosterFilter
user = get_user_model().objects.get(pk=int(sys.argv[1]))
with CaptureQueriesContext(connections["replica"]) as replica, CaptureQueriesContext(connections["default"]) as default:
    content, name, count = roster_export(user=user, filters=RosterFilter(school=sys.argv[2]))
print(count, any("registry_pupil" in q["sql"] for q in replica.captured_queries),
      any("rosters_rosterexport" in q["sql"] or "schools_rosterexport" in q["sql"] for q in default.captured_queries),
      any("registry_pupil" in q["sql"] for q in default.captured_queries))
"""
    env = dict(os.environ, DATABASE_URL=url, DATABASE_REPLICA_URL=url, DJANGO_SETTINGS_MODULE="config.settings.development")
    result = subprocess.run([sys.executable, "-c", code, str(world["a1"].operator.pk), world.school_a1.code], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    count, on_replica, audit_on_default, pupils_on_default = result.stdout.split()
    assert int(count) >= 1
    assert (on_replica, audit_on_default, pupils_on_default) == ("True", "True", "False")
