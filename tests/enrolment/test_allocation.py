"""升学分配名单: a county says which graduates go where; good rows are offered to the schools,
bad rows are reported by row and column, nothing is half-written."""

from __future__ import annotations

import io

import openpyxl
import pytest

from enrolment import allocation, receiving
from enrolment.models import Allocation, Progression
from kernel.errors import Forbidden, ValidationFailed
from tests.enrolment.conftest import graduate
from tests.factories import make_pupil
from workflow.models import OpenBusiness, WorkItem


def xlsx(rows, header=("全国学籍号或身份证件号", "姓名", "接收学校标识码", "班号")) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_good_rows_are_offered_bad_rows_reported_by_row_and_column(world, graduates):
    first, second, third = graduates
    fourth, fifth = make_pupil(world.school_a1, name="毕业丁", grade=6), make_pupil(world.school_a1, name="毕业戊", grade=6)
    graduate(fourth, fifth)
    enrolled = world.pupils["a1"]
    content = xlsx([
        (first.national_number, first.name, world.school_a2.code, 2),
        (second.id_number, second.name, world.school_a2.code, None),
        (third.national_number, "别的名字", world.school_a2.code, None),  # name does not match
        (enrolled.national_number, enrolled.name, world.school_a2.code, None),  # not a graduate
        (first.national_number, first.name, world.school_a2.code, None),  # twice in the file
        ("L00000000000000000", "无此人", world.school_a2.code, None),
        (fourth.national_number, fourth.name, world.school_b2.code, None),  # school of another county
        (fifth.national_number, fifth.name, world.school_a2.code, "一班"),
    ])
    row = allocation.allocation_import(user=world["county_a"].operator, content=content, original_name="分配.xlsx")
    assert (row.rows, row.offered, row.refused) == (8, 2, 6)
    codes = {r["row"]: [e["code"] for e in r["errors"]] for r in row.report}
    assert codes == {4: ["pupil_unknown"], 5: ["not_a_graduate"], 6: ["duplicate_in_file"], 7: ["pupil_unknown"],
                     8: ["school_unknown"], 9: ["invalid_class_number"]}
    assert row.report[0]["errors"][0]["column"] == "全国学籍号或身份证件号"
    [offer] = row.progressions.all()
    assert offer.state == "offered" and offer.school == world.school_a2 and offer.grade == 7
    assert sorted(offer.entries.values_list("class_number", flat=True)) == [1, 2]
    assert WorkItem.objects.get(object_id=offer.pk, kind="progression", state="open").school == world.school_a2
    assert OpenBusiness.objects.filter(pupil__in=[first, second], kind="progression").count() == 2


def test_the_school_accepts_an_offer_and_the_chain_runs_to_the_county(world, graduates):
    content = xlsx([(p.national_number, p.name, world.school_a2.code, 1) for p in graduates])
    row = allocation.allocation_import(user=world["county_a"].operator, content=content)
    offer = row.progressions.get()
    receiving.progression_accept(user=world["a2"].operator, progression_id=offer.pk)
    receiving.progression_approve(user=world["a2"].approver, progression_id=offer.pk)
    receiving.progression_approve(user=world["county_a"].approver, progression_id=offer.pk)
    offer.refresh_from_db()
    assert offer.state == "approved" and offer.accepted_by == world["a2"].operator
    assert {p.school_id for p in (g.__class__.objects.get(pk=g.pk) for g in graduates)} == {world.school_a2.pk}


def test_whoever_allocated_cannot_approve_the_county_step(world, graduates):
    content = xlsx([(graduates[0].national_number, graduates[0].name, world.school_a2.code, 1)])
    offer = allocation.allocation_import(user=world["county_a"].approver, content=content).progressions.get()
    receiving.progression_accept(user=world["a2"].operator, progression_id=offer.pk)
    receiving.progression_approve(user=world["a2"].approver, progression_id=offer.pk)
    with pytest.raises(Forbidden) as refused:
        receiving.progression_approve(user=world["county_a"].approver, progression_id=offer.pk)
    assert refused.value.code == "two_person_rule"


def test_a_school_may_decline_an_offer_with_a_reason(world, graduates):
    content = xlsx([(graduates[0].national_number, graduates[0].name, world.school_a2.code, 1)])
    offer = allocation.allocation_import(user=world["county_a"].operator, content=content).progressions.get()
    receiving.progression_decline(user=world["a2"].operator, progression_id=offer.pk, reason="非本校学区")
    offer.refresh_from_db()
    assert offer.state == "withdrawn" and offer.refusal_reason == "非本校学区"
    assert not OpenBusiness.objects.filter(pupil=graduates[0]).exists()


def test_keyed_in_lines_work_like_a_file(world, graduates):
    keyed = "\n".join(f"{p.national_number}\t{p.name}\t{world.school_a2.code}" for p in graduates[:2])
    row = allocation.allocation_import(user=world["county_a"].operator, keyed=keyed)
    assert (row.rows, row.offered) == (2, 2)


def test_a_city_allocates_across_its_counties_and_a_county_only_its_own(world, graduates):
    content = xlsx([(graduates[0].national_number, graduates[0].name, world.school_b2.code, 1)])
    assert allocation.allocation_import(user=world["city"].operator, content=content).offered == 1
    other = make_pupil(world.school_b1, name="海珠毕业", grade=6)
    graduate(other)
    content = xlsx([(other.national_number, other.name, world.school_a2.code, 1)])
    row = allocation.allocation_import(user=world["county_a"].operator, content=content)
    assert row.offered == 0 and row.report[0]["errors"][0]["code"] == "pupil_unknown"


def test_a_graduate_already_offered_is_refused_on_its_row(world, graduates):
    content = xlsx([(graduates[0].national_number, graduates[0].name, world.school_a2.code, 1)])
    allocation.allocation_import(user=world["county_a"].operator, content=content)
    again = allocation.allocation_import(user=world["city"].operator, content=content)
    assert again.offered == 0 and again.report[0]["errors"][0]["code"] == "progression_taken"


@pytest.mark.parametrize(("content", "code"), [
    (b"", "file_empty"),
    (b"%PDF-1.4 not a list", "file_format"),
    (b"PK\x03\x04broken", "file_corrupt"),
    ("姓名,接收学校标识码\n张三,4401060002\n".encode(), "missing_column"),
    ("全国学籍号或身份证件号,姓名,接收学校标识码\n".encode(), "no_rows"),
])
def test_a_bad_file_is_refused_with_the_reason_and_nothing_is_written(world, content, code):
    with pytest.raises(ValidationFailed) as refused:
        allocation.allocation_import(user=world["county_a"].operator, content=content)
    assert refused.value.code == code
    assert not Allocation.objects.exists() and not Progression.objects.exists()


def test_only_a_bureau_uploads_a_list(world):
    with pytest.raises(Forbidden) as refused:
        allocation.allocation_import(user=world["a2"].operator, keyed="x y z")
    assert refused.value.code == "bureau_only"


def test_the_template_has_the_columns(world):
    sheet = openpyxl.load_workbook(io.BytesIO(allocation.allocation_template())).active
    assert [c.value for c in sheet[1]] == ["全国学籍号或身份证件号", "姓名", "接收学校标识码", "班号"]


def test_the_allocation_pages(world, graduates, login):
    client = login(world["county_a"].operator)
    assert client.get("/progressions/allocations/").status_code == 200
    content = xlsx([(graduates[0].national_number, graduates[0].name, world.school_a2.code, 1),
                    ("L0", "无此人", world.school_a2.code, 1)])
    upload = io.BytesIO(content)
    upload.name = "list.xlsx"
    response = client.post("/progressions/allocations/", {"file": upload})
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "pupil_unknown" in page and "天河第二中学" in page
    assert login(world["county_b"].operator).get(response.url).status_code == 404
    assert client.get("/progressions/allocations/template.xlsx").status_code == 200
