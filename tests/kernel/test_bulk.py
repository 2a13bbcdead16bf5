"""Writing many rows at once (``kernel.bulk``): ids in order, field defaults filled, JSON
written as JSON, and statements split below PostgreSQL's parameter limit."""

from __future__ import annotations

import pytest

from kernel import bulk
from registry.models import HistoryEntry

pytestmark = pytest.mark.django_db


def test_rows_get_their_ids_in_order_and_the_model_s_defaults(world, monkeypatch):
    monkeypatch.setattr(bulk, "MAX_PARAMETERS", 40)  # a few rows per statement
    pupil = world.pupils["a1"]
    rows = [{"pupil_id": pupil.pk, "kind": "note", "summary": f"第{n}条", "data": {"n": n, "名": "李"}}
            for n in range(12)]
    ids = bulk.insert_rows(HistoryEntry, rows)
    assert len(ids) == 12 and ids == sorted(ids)
    stored = HistoryEntry.objects.in_bulk(ids)
    assert [stored[pk].summary for pk in ids] == [f"第{n}条" for n in range(12)]
    assert stored[ids[3]].data == {"n": 3, "名": "李"}
    assert stored[ids[0]].at is not None  # the field's default


def test_objects_get_their_pks(world):
    entries = [HistoryEntry(pupil=world.pupils["a1"], kind="note", summary=name) for name in ("一", "二")]
    bulk.insert_objects(entries)
    assert all(e.pk for e in entries) and not entries[0]._state.adding
    assert HistoryEntry.objects.get(pk=entries[1].pk).summary == "二"
