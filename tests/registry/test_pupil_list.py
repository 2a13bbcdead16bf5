"""The pupil list: a total, sortable columns, filters kept across pages, a school picker
for counties, closed and deleted records behind a filter, and the export of what it shows."""

from __future__ import annotations

import datetime as dt
import re

from registry import selectors
from tests.factories import make_pupil


def _names(html: str) -> list[str]:
    body = html[html.index('data-testid="pupil-table"'):]
    return re.findall(r'/pupils/[GLJ]\d+/">([^<]+)</a>', body)


def test_total_and_sort_by_name_both_ways(world, login):
    for name in ("丙同学", "甲同学", "乙同学"):
        make_pupil(world.school_a1, name=name)
    client = login(world["a1"].operator)
    page = client.get("/pupils/", {"sort": "name"}).content.decode()
    assert "共 4 名学生" in page
    names = _names(page)
    assert names == sorted(names)
    assert _names(client.get("/pupils/", {"sort": "-name"}).content.decode()) == sorted(names, reverse=True)
    # an unknown sort key is the default order, not an error
    assert client.get("/pupils/", {"sort": "password"}).status_code == 200


def test_filters_survive_paging_and_sorting(world, login):
    for i in range(25):
        make_pupil(world.school_a1, name=f"分页{i:02d}", grade=4)
    page = login(world["a1"].operator).get("/pupils/", {"grade": "4", "sort": "name"}).content.decode()
    assert "共 25 名学生" in page
    assert re.search(r'href="\?[^"]*grade=4[^"]*page=2"', page)
    assert re.search(r'href="\?[^"]*grade=4[^"]*sort=-name"', page)


def test_closed_and_deleted_records_are_behind_the_filter(world, login):
    make_pupil(world.school_a1, name="已毕业生", status="graduated")
    make_pupil(world.school_a1, name="已删除生", status="deleted")
    client = login(world["a1"].operator)
    default = _names(client.get("/pupils/").content.decode())
    assert "李娜" in default and "已毕业生" not in default and "已删除生" not in default
    everything = _names(client.get("/pupils/", {"closed": "1"}).content.decode())
    assert {"李娜", "已毕业生", "已删除生"} <= set(everything)
    assert _names(client.get("/pupils/", {"status": "deleted"}).content.decode()) == ["已删除生"]


def test_county_picks_a_school_from_its_own_schools_only(world, login):
    page = login(world["county_a"].operator).get("/pupils/").content.decode()
    picker = page[page.index('data-testid="school-picker"'):page.index("</select>", page.index('data-testid="school-picker"'))]
    assert world.school_a1.name in picker and world.school_a2.name in picker
    assert world.school_b1.name not in picker and world.school_x.name not in picker
    school_page = login(world["a1"].operator).get("/pupils/").content.decode()
    assert 'data-testid="school-picker"' not in school_page
    assert '<select name="school"' not in school_page and '<input name="school"' not in school_page


def test_export_button_posts_the_audited_roster_export_of_the_filter(world, login):
    page = login(world["a1"].operator).get("/pupils/", {"grade": "3"}).content.decode()
    form = page[page.index('id="roster-export"'):page.index("</form>", page.index('id="roster-export"'))]
    assert 'method="post" action="/schools/roster/export/"' in page
    assert f'name="school" value="{world.school_a1.code}"' in form and 'name="grade" value="3"' in form
    county = login(world["county_a"].operator).get("/pupils/").content.decode()
    assert 'name="county" value="440106"' in county


def test_count_is_capped_until_the_exact_count_is_asked_for(world, login):
    for i in range(3):
        make_pupil(world.school_a1, name=f"计数{i}", birth_date=dt.date(2015, 1, 1 + i))
    pupils = selectors.pupil_search(world["a1"].operator, selectors.PupilFilter())
    assert selectors.count_capped(pupils, cap=2) == (2, False)
    assert selectors.count_capped(pupils, cap=2, exact=True) == (4, True)
    assert selectors.count_capped(pupils) == (4, True)


def test_past_the_cap_the_list_shows_the_planners_estimate(world, login, monkeypatch):
    from django.db import connection

    for i in range(3):
        make_pupil(world.school_a1, name=f"估算{i}", birth_date=dt.date(2015, 2, 1 + i))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE registry_pupil")
    pupils = selectors.pupil_search(world["county_a"].operator, selectors.PupilFilter())
    assert selectors.count_estimate(pupils) >= 1  # EXPLAIN only: the planner's rows
    monkeypatch.setattr(selectors, "count_capped", lambda queryset, exact=False: (
        (queryset.count(), True) if exact else (2, False)))
    page = login(world["county_a"].operator).get("/pupils/").content.decode()
    assert 'data-testid="count-estimate"' in page and "约" in page and 'data-testid="exact-count"' in page
    exact = login(world["county_a"].operator).get("/pupils/", {"exact": "1"}).content.decode()
    assert 'data-testid="count-estimate"' not in exact and "共" in exact
