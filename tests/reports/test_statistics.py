"""Statistics counts on the shared world, by unit, through the scope function."""

from __future__ import annotations

import datetime as dt

import pytest

from registry.models import Pupil
from reports import snapshot, statistics, units
from tests.factories import make_pupil

pytestmark = pytest.mark.django_db


def _table(tables, key):
    return next(t for t in tables if t.key == key)


def _rows(table) -> dict:
    return {row[0]: row[1:] for row in table.rows}


@pytest.fixture
def counted(world):
    """Extra pupils in county A: a migrant boarder, a 留守 pupil, a suspended one, a no-ID
    (无户籍) one, a deleted record (never counted) — and a pupil of county B."""
    make_pupil(world.school_a1, name="赵一", sex="1", grade=1, migrant="1", boarding="2")
    make_pupil(world.school_a1, name="钱二", sex="2", grade=1, left_behind="1", ethnicity="03")
    make_pupil(world.school_a2, name="孙三", sex="1", grade=7, status="suspended")
    make_pupil(world.school_a2, name="周四", sex="2", grade=8, id_number="")
    make_pupil(world.school_a2, name="吴五", sex="1", grade=8, status="deleted")
    make_pupil(world.school_b1, name="郑六", sex="1", grade=2)
    Pupil.objects.filter(name="赵一").update(identity_status="passed", photo="photos/x.jpg")
    Pupil.objects.filter(name="钱二").update(identity_status="failed")
    return world


def _county_a_checks(tables):
    status = _rows(_table(tables, "status"))
    assert status["在读"] == [4] and status["休学"] == [1]
    assert "已删除" not in status
    assert _rows(_table(tables, "stage")) == {"小学": [3], "初中": [1], "高中": [0]}
    assert _rows(_table(tables, "sex"))["男"][0] == 1 and _rows(_table(tables, "sex"))["女"][0] == 3
    assert _rows(_table(tables, "migrant"))["是"][0] == 1
    assert _rows(_table(tables, "left_behind"))["单亲留守儿童"][0] == 1
    assert _rows(_table(tables, "boarding"))["住校"][0] == 1
    assert _rows(_table(tables, "no_hukou"))["无户籍"][0] == 1
    assert _rows(_table(tables, "ethnicity"))["回族"][0] == 1
    completeness = _rows(_table(tables, "completeness"))
    assert completeness["照片已采集"][0] == 1
    assert completeness["身份核验通过"][0] == 1
    assert completeness["问题学籍（未处理）"][0] == 1
    children = _rows(_table(tables, "children"))
    assert set(children) == {"天河第一小学", "天河第二中学"}
    assert children["天河第一小学"][0] == 3 and children["天河第二中学"][0] == 1


def test_county_counts_live(counted):
    user = counted["county_a"].operator
    _county_a_checks(statistics.pupil_tables(user, units.unit_for(user)))


def test_county_counts_from_the_snapshot_agree_with_live(counted):
    user = counted["county_a"].operator
    taken = snapshot.pupil_counts_refresh()
    assert taken.pupils == Pupil.objects.exclude(status__in=statistics.NOT_COUNTED).count()
    unit = units.unit_for(user)
    assert statistics.uses_snapshot(unit)
    _county_a_checks(statistics.pupil_tables(user, unit))


def test_snapshot_is_as_of_its_refresh(counted):
    user = counted["county_a"].operator
    snapshot.pupil_counts_refresh()
    make_pupil(counted.school_a1, name="新生", grade=1)
    unit = units.unit_for(user)
    assert _rows(_table(statistics.pupil_tables(user, unit), "status"))["在读"] == [4]
    snapshot.pupil_counts_refresh()
    assert _rows(_table(statistics.pupil_tables(user, unit), "status"))["在读"] == [5]


def test_school_page_counts_live_by_class(counted):
    user = counted["a1"].operator
    snapshot.pupil_counts_refresh()
    unit = units.unit_for(user)
    assert unit.level == "school" and not statistics.uses_snapshot(unit)
    make_pupil(counted.school_a1, name="新生", grade=1, class_number=2)
    tables = statistics.pupil_tables(user, unit)
    children = _rows(_table(tables, "children"))
    assert children == {"1年级1班": [2, 1, 1, "50.0%", "50.0%", 0, 1], "3年级1班": [1, 0, 1, "0.0%", "0.0%", 0, 0],
                        "1年级2班": [1, 1, 0, "0.0%", "0.0%", 0, 0]}


def test_province_drills_down_to_cities_then_counties(counted):
    user = counted["province"].operator
    tables = statistics.pupil_tables(user, units.unit_for(user))
    assert _rows(_table(tables, "children")) .keys() == {"广州市"}
    assert _table(tables, "children").links == ["d:4401"]
    city = statistics.pupil_tables(user, units.unit_for(user, "d:4401"))
    assert set(_rows(_table(city, "children"))) == {"天河区", "海珠区"}
    assert _rows(_table(city, "status"))["在读"] == [6]  # the neighbour province's pupil is not there


def test_open_duplicate_case_members_are_problem_records(counted):
    from duplicates.models import CaseMember, DuplicateCase

    a, b = counted.pupils["a1"], Pupil.objects.get(name="赵一")
    case = DuplicateCase.objects.create(province=counted.province, pupil_low=a, pupil_high=b, score=0.9, reasons=[], source="sweep")
    for p in (a, b):
        CaseMember.objects.create(case=case, pupil=p, county_code=p.county_code)
    user = counted["county_a"].operator
    tables = statistics.pupil_tables(user, units.unit_for(user))
    assert _rows(_table(tables, "completeness"))["问题学籍（未处理）"][0] == 3
    assert _rows(_table(tables, "children"))["天河第一小学"][6] == 3
    workflow = statistics.workflow_tables(user, units.unit_for(user))
    assert _table(workflow, "cases").rows == [["未处理案件", 1]]
    assert _table(statistics.workflow_tables(counted["county_b"].operator, units.unit_for(counted["county_b"].operator)),
                  "cases").rows == [["未处理案件", 0]]


def test_flow_matrix_counts_completed_transfers_in_the_period(counted):
    from transfers.models import Transfer

    now = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
    pupil = counted.pupils["b1"]

    def transfer(origin, dest, state, closed):
        return Transfer.objects.create(
            pupil=pupil, origin_school=origin, dest_school=dest, origin_county_code=origin.county_id,
            dest_county_code=dest.county_id, origin_grade=2, dest_grade=2, dest_class_number=1,
            transfer_date=now.date(), reason="搬家", state=state, closed_at=closed,
            applied_by=counted["a1"].operator)

    transfer(counted.school_b1, counted.school_a1, "completed", now)
    transfer(counted.school_b1, counted.school_a1, "completed", now - dt.timedelta(days=400))  # before the period
    transfer(counted.school_a1, counted.school_b2, "refused", now)
    user = counted["city"].operator
    matrix = statistics.flow_matrix(user, units.unit_for(user), dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert matrix.columns[1:] == ["天河区", "转出合计"]
    assert matrix.rows == [["海珠区", 1, 1], ["合计", 1, 1]]
    county = counted["county_a"].operator
    assert statistics.flow_matrix(county, units.unit_for(county), dt.date(2026, 1, 1),
                                  dt.date(2026, 3, 31)).rows[-1][-1] == 1


def test_ranking_orders_counties_by_completeness_with_overdue_steps(counted):
    import datetime as dt

    from django.contrib.contenttypes.models import ContentType

    from workflow.models import WorkItem

    Pupil.objects.filter(county_code="440105").update(identity_status="passed", photo="photos/y.jpg")
    pupil = counted.pupils["a1"]
    WorkItem.objects.create(
            school=counted.school_a1, scope_code="440106", role="approver", kind="transfer", title="t", url="/",
            content_type=ContentType.objects.get_for_model(Pupil), object_id=pupil.pk,
            opened_on=dt.date(2026, 1, 5), due_on=dt.date(2026, 1, 19))
    for refresh in (False, True):
        if refresh:
            snapshot.pupil_counts_refresh()
        user = counted["province"].operator
        ranking = statistics.county_ranking(user, units.unit_for(user), today=dt.date(2026, 2, 1))
        assert [r[:2] for r in ranking.rows] == [["海珠区", 1], ["天河区", 2]]
        assert ranking.rows[0][3:5] == ["100.0%", "100.0%"]
        assert ranking.rows[1][5:] == [1, 1]  # a failed identity check; one overdue step
        assert ranking.links == ["d:440105", "d:440106"]


def test_the_snapshot_task_rebuilds_the_counts(counted):
    from django.db.models import Sum

    from reports.models import PupilCount
    from reports.tasks import pupil_counts_refresh

    result = pupil_counts_refresh()
    assert result["pupils"] == 8  # 3 of the world and 5 made here (the deleted record never counts)
    assert PupilCount.objects.filter(county_code="440106", school__isnull=False).aggregate(n=Sum("n"))["n"] == 5
    assert PupilCount.objects.filter(county_code="440106", school__isnull=True).aggregate(n=Sum("n"))["n"] == 5
