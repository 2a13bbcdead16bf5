"""Reference data read once per process (divisions) and the server's warm start."""

from __future__ import annotations

import pytest

from kernel import matching, workdays
from provinces import divisions
from provinces.models import Division
from registry import codes


@pytest.fixture
def fresh_tables():
    codes.clear_cache()
    divisions.clear_cache()
    yield
    codes.clear_cache()  # the test's writes are rolled back without a signal
    divisions.clear_cache()


def test_full_name_comes_from_the_division_table(db, fresh_tables, django_assert_num_queries):
    county = Division.objects.get(code="440106")
    divisions.division_table()
    with django_assert_num_queries(0):
        assert county.full_name() == "广东省广州市天河区"
        assert divisions.division_full_name("4401") == "广东省广州市"
    assert divisions.division_full_name("999999") is None


def test_saving_a_division_refreshes_the_table(db, fresh_tables):
    assert divisions.division_full_name("440106") == "广东省广州市天河区"
    city = Division.objects.get(code="4401")
    city.name = "新广州市"
    city.save()
    assert Division.objects.get(code="440106").full_name() == "广东省新广州市天河区"
    Division.objects.create(code="440199", name="新区", level="county", parent=city)
    assert "440199" in divisions.division_codes()
    Division.objects.get(code="440199").delete()
    assert "440199" not in divisions.division_codes()


def test_the_wsgi_application_starts_warm():
    workdays._year_table.cache_clear()
    matching.names.lookalike_tables.cache_clear()
    from config import wsgi

    wsgi._warm()
    assert workdays._year_table.cache_info().currsize >= 2
    assert matching.names.lookalike_tables.cache_info().currsize == 1
