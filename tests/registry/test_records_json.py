"""A checked record kept as JSON between a roster's dry run and its import comes back equal."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from registry.records import GuardianData, PupilData, record_as_json, record_from_json


def test_a_record_comes_back_from_json_equal_with_its_dates_distance_and_family():
    record = PupilData(
        school_code="4401060001", name="黄小梅", sex="2", birth_date=dt.date(2016, 3, 9), grade=1, class_number=2,
        enrolled_on=dt.date(2022, 9, 1), commute_distance=Decimal("2.5"), current_address="天河路1号",
        guardians=[GuardianData(name="黄大强", relation="51", police_date=dt.date(2020, 1, 1), vital="missing"),
                   GuardianData(name="林小芳", relation="52", phone="13800138000")],
    )
    again = record_from_json(json.loads(json.dumps(record_as_json(record))))
    assert again == record
    assert isinstance(again.commute_distance, Decimal) and isinstance(again.guardians[0], GuardianData)


def test_a_record_without_dates_or_distance_comes_back_equal():
    record = PupilData(school_code="4401060001", name="周", sex="1", birth_date=None, grade=None, class_number=None,
                       enrolled_on=None)
    assert record_from_json(json.loads(json.dumps(record_as_json(record)))) == record


def test_a_history_summary_longer_than_its_column_is_cut_not_refused(world):
    from registry.history import SUMMARY_MAX, record_event

    entry = record_event(world.pupils["a1"], kind="note", summary="理" * (SUMMARY_MAX + 50))
    entry.refresh_from_db()
    assert len(entry.summary) == SUMMARY_MAX and entry.summary.endswith("…")
