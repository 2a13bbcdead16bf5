"""Pupils without household registration (无户籍): guardian rules, first
guardian and hukou, the refusal of a second record in the province, first-guardian change.

Tests assert on ``code`` and ``field``; wording is checked only where the rule is that the
message names something (a parent, a school).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from enrolment.registration import pupil_register
from kernel.errors import BusinessRefused, Forbidden, NotFound, ValidationFailed
from kernel.identity import id_check_char, validate_national_number
from provinces import divisions
from registry import nohukou
from registry.models import Guardian, HistoryEntry, Pupil, PupilStatus
from registry.records import GuardianData, PupilData
from registry.validation import pupil_problems
from tests.factories import make_pupil, resident_id

BIRTH = dt.date(2017, 6, 1)
FATHER_ID = resident_id(dt.date(1986, 3, 3), "1", region="440105", seq=101)
MOTHER_ID = resident_id(dt.date(1988, 4, 4), "2", region="440106", seq=102)
GRANNY_ID = resident_id(dt.date(1960, 5, 5), "2", region="440106", seq=103)
UNCLE_ID = resident_id(dt.date(1980, 6, 6), "1", region="440106", seq=104)


def father(**changes) -> GuardianData:
    base = GuardianData(
        name="林大海", relation="51", id_number=FATHER_ID, is_first_guardian=True, hukou_division_code="440105"
    )
    return dataclasses.replace(base, **changes)


def mother(**changes) -> GuardianData:
    base = GuardianData(name="陈小红", relation="52", id_number=MOTHER_ID, hukou_division_code="440106")
    return dataclasses.replace(base, **changes)


def no_id_record(school, *guardians: GuardianData, **changes) -> PupilData:
    """A no-ID pupil (ID type 其他, no number) of ``school``; both parents unless given."""
    base = PupilData(
        school_code=school.code,
        name="林小溪",
        sex="2",
        birth_date=BIRTH,
        grade=2,
        class_number=1,
        enrolled_on=dt.date(2023, 9, 1),
        id_type="Z",
        id_number="",
        guardians=list(guardians) if guardians else [father(), mother()],
        source="other",  # grade 2 is not an entry grade: the registration states source and reason
        source_reason="插班注册",
    )
    return dataclasses.replace(base, **changes)


def codes_of(data: PupilData, school=None) -> dict[str, str | None]:
    return {p.code: p.field for p in pupil_problems(data, school=school)}


def refusal(user, data: PupilData):
    with pytest.raises((ValidationFailed, BusinessRefused)) as caught:
        pupil_register(user=user, data=data)
    exc = caught.value
    return exc


def refused_codes(exc) -> set[str]:
    if exc.code == "invalid_record":
        return {d["code"] for d in exc.details}
    return {exc.code}


# Both parents ---------------------------------------------------------------------------


def test_no_id_pupil_with_both_parents_is_registered_with_a_j_number(world):
    pupil = pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1))
    assert pupil.national_number.startswith(f"J440106{BIRTH:%Y%m%d}")
    assert validate_national_number(pupil.national_number).kind == "J"
    assert pupil.id_type == "Z" and pupil.id_number == ""
    assert list(pupil.guardians.values_list("relation", flat=True)) == ["51", "52"]


@pytest.mark.parametrize(
    ("missing", "code"), [("father", "nohukou_father_required"), ("mother", "nohukou_mother_required")]
)
def test_each_parent_must_be_recorded(world, missing, code):
    keep = mother(is_first_guardian=True) if missing == "father" else father()
    problems = codes_of(no_id_record(world.school_a1, keep))
    assert problems == {code: "guardians"}


@pytest.mark.parametrize(
    ("who", "code"), [("father", "nohukou_father_id_required"), ("mother", "nohukou_mother_id_required")]
)
def test_each_living_parent_needs_a_resident_id_number(world, who, code):
    data = no_id_record(
        world.school_a1,
        father(id_number="") if who == "father" else father(),
        mother(id_number="") if who == "mother" else mother(),
    )
    index = 1 if who == "father" else 2
    exc = refusal(world["a1"].operator, data)
    assert (exc.code, exc.field) == (code, f"guardians[{index}].id_number")
    assert ("父亲" if who == "father" else "母亲") in str(exc.message)
    assert ("林大海" if who == "father" else "陈小红") in str(exc.message)


def test_a_parent_with_another_document_type_has_no_resident_id(world):
    data = no_id_record(world.school_a1, father(), mother(id_type="A", id_number="E12345678"))
    assert codes_of(data) == {"nohukou_mother_id_required": "guardians[2].id_number"}


def test_an_invented_parent_id_number_is_refused_once_by_its_check(world):
    bad = MOTHER_ID[:-1] + ("0" if MOTHER_ID[-1] != "0" else "1")
    problems = codes_of(no_id_record(world.school_a1, father(), mother(id_number=bad)))
    assert problems == {"id_check_char": "guardians[2].id_number"}


def test_step_and_adoptive_parents_count_as_father_and_mother(world):
    data = no_id_record(world.school_a1, father(relation="53"), mother(relation="54"))
    assert codes_of(data) == {}


# Exceptions: dead or missing -------------------------------------------------------------


def test_father_deceased_mother_only(world):
    data = no_id_record(
        world.school_a1, father(vital="deceased", id_number="", is_first_guardian=False), mother(is_first_guardian=True)
    )
    pupil = pupil_register(user=world["a1"].operator, data=data)
    assert pupil.hukou_division_id == "440106"


def test_mother_deceased_father_only(world):
    data = no_id_record(world.school_a1, father(), mother(vital="deceased", id_number=""))
    assert codes_of(data) == {}


def test_missing_parent_with_police_confirmation_is_excused(world):
    data = no_id_record(
        world.school_a1,
        father(vital="missing", id_number="", is_first_guardian=False, police_reference="穗公刑认字〔2023〕18号",
               police_date=dt.date(2023, 3, 1)),
        mother(is_first_guardian=True),
    )
    assert codes_of(data) == {}


def test_missing_parent_without_police_reference_is_refused(world):
    data = no_id_record(
        world.school_a1,
        father(vital="missing", id_number="", is_first_guardian=False, police_date=dt.date(2023, 3, 1)),
        mother(is_first_guardian=True),
    )
    exc = refusal(world["a1"].operator, data)
    assert (exc.code, exc.field) == ("guardian_missing_police_reference", "guardians[1].police_reference")
    assert "林大海" in str(exc.message)


def test_missing_parent_without_police_date_is_refused(world):
    data = no_id_record(
        world.school_a1,
        father(vital="missing", id_number="", is_first_guardian=False, police_reference="穗公认字18号"),
        mother(is_first_guardian=True),
    )
    assert codes_of(data) == {"guardian_missing_police_date": "guardians[1].police_date"}


def test_police_date_cannot_be_in_the_future(world):
    data = no_id_record(
        world.school_a1,
        father(vital="missing", id_number="", is_first_guardian=False, police_reference="穗公认字18号",
               police_date=dt.date.today() + dt.timedelta(days=3)),
        mother(is_first_guardian=True),
    )
    assert codes_of(data) == {"guardian_police_date_future": "guardians[1].police_date"}


def test_missing_without_confirmation_does_not_excuse_the_legal_guardian_rule(world):
    """Both 'missing' without police confirmation: refused for the references, not excused."""
    data = no_id_record(
        world.school_a1,
        father(vital="missing", id_number="", is_first_guardian=False),
        mother(vital="deceased", id_number=""),
        GuardianData(name="陈阿婆", relation="64", id_number=GRANNY_ID, is_first_guardian=True,
                     hukou_division_code="440106"),
    )
    problems = codes_of(data)
    assert "guardian_missing_police_reference" in problems
    assert "guardian_missing_police_date" in problems


def test_vital_status_must_be_known(world):
    data = no_id_record(world.school_a1, father(), mother(vital="divorced"))
    assert codes_of(data)["guardian_vital_unknown"] == "guardians[2].vital"


# Both parents dead or missing: one legal guardian -----------------------------------------


def orphan_record(school, *others: GuardianData) -> PupilData:
    return no_id_record(
        school,
        father(vital="deceased", id_number="", is_first_guardian=False),
        mother(vital="missing", id_number="", police_reference="穗公认字7号", police_date=dt.date(2022, 1, 5)),
        *others,
    )


def granny(**changes) -> GuardianData:
    base = GuardianData(name="陈阿婆", relation="64", id_number=GRANNY_ID, is_first_guardian=True,
                        hukou_division_code="440106")
    return dataclasses.replace(base, **changes)


def test_both_parents_gone_one_legal_guardian_is_enough(world):
    pupil = pupil_register(user=world["a1"].operator, data=orphan_record(world.school_a1, granny()))
    assert pupil.guardians.get(is_first_guardian=True).name == "陈阿婆"
    assert pupil.hukou_division_id == "440106"


def test_both_parents_gone_needs_a_legal_guardian(world):
    exc = refusal(world["a1"].operator, orphan_record(world.school_a1))
    assert "nohukou_legal_guardian_required" in refused_codes(exc)


def test_a_relative_not_marked_guardian_is_not_a_legal_guardian(world):
    problems = codes_of(orphan_record(world.school_a1, granny(is_guardian=False, is_first_guardian=False)))
    assert "nohukou_legal_guardian_required" in problems


def test_both_parents_gone_exactly_one_legal_guardian(world):
    uncle = GuardianData(name="林二海", relation="97", id_number=UNCLE_ID, hukou_division_code="440106")
    problems = codes_of(orphan_record(world.school_a1, granny(), uncle))
    assert problems == {"nohukou_one_legal_guardian": "guardians[4].is_guardian"}


def test_legal_guardian_needs_a_resident_id_number(world):
    problems = codes_of(orphan_record(world.school_a1, granny(id_number="")))
    assert problems == {"nohukou_legal_guardian_id_required": "guardians[3].id_number"}


def test_parents_alive_do_not_need_a_legal_guardian(world):
    uncle = GuardianData(name="林二海", relation="97", id_number="", hukou_division_code="440106")
    assert codes_of(no_id_record(world.school_a1, father(), mother(), uncle)) == {}


# First guardian and hukou ------------------------------------------------------------------


def test_divorced_parents_still_both_and_one_first_guardian(world):
    data = no_id_record(world.school_a1, father(is_first_guardian=False), mother())
    exc = refusal(world["a1"].operator, data)
    assert (exc.code, exc.field) == ("nohukou_first_guardian_required", "guardians")


def test_only_one_first_guardian(world):
    data = no_id_record(world.school_a1, father(), mother(is_first_guardian=True))
    assert codes_of(data) == {"first_guardian_not_unique": "guardians[2].is_first_guardian"}


def test_only_one_first_guardian_holds_for_pupils_with_an_id_too(world):
    data = no_id_record(world.school_a1, father(), mother(is_first_guardian=True), id_type="1",
                        id_number=resident_id(BIRTH, "2", seq=140))
    exc = refusal(world["a1"].operator, data)
    assert exc.code == "first_guardian_not_unique"


def test_divorced_mother_as_first_guardian_gives_her_hukou(world):
    data = no_id_record(world.school_a1, father(is_first_guardian=False), mother(is_first_guardian=True),
                        hukou_division_code="440105")
    pupil = pupil_register(user=world["a1"].operator, data=data)
    assert pupil.hukou_division_id == "440106"  # the mother's, not the typed-in 440105
    assert nohukou.hukou_authority(pupil).code == "440106"


def test_hukou_follows_the_first_guardian_not_the_input(world):
    data = no_id_record(world.school_a1, hukou_division_code="420102")
    pupil = pupil_register(user=world["a1"].operator, data=data)
    assert pupil.hukou_division_id == "440105"
    authority = nohukou.hukou_authority(Pupil.objects.get(pk=pupil.pk))
    assert authority.code == "440105" and authority.name == "海珠区"


def test_first_guardian_must_have_a_hukou_division(world):
    exc = refusal(world["a1"].operator, no_id_record(world.school_a1, father(hukou_division_code=""), mother()))
    assert (exc.code, exc.field) == ("nohukou_first_guardian_hukou_required", "guardians[1].hukou_division_code")


def test_first_guardian_hukou_must_name_a_county(world):
    problems = codes_of(no_id_record(world.school_a1, father(hukou_division_code="4401"), mother()))
    assert problems == {"nohukou_first_guardian_hukou_not_county": "guardians[1].hukou_division_code"}


def test_a_city_without_counties_is_its_own_hukou_authority(world):
    pupil = pupil_register(
        user=world["a1"].operator, data=no_id_record(world.school_a1, father(hukou_division_code="4419"), mother())
    )
    assert nohukou.hukou_authority(pupil).name == "东莞市"


def test_unknown_hukou_division_code_is_refused_for_any_guardian(world):
    data = no_id_record(world.school_a1, father(), mother(hukou_division_code="449999"))
    assert codes_of(data) == {"guardian_hukou_division_unknown": "guardians[2].hukou_division_code"}


def test_first_guardian_must_be_a_parent_when_a_parent_lives(world):
    data = no_id_record(world.school_a1, father(is_first_guardian=False), mother(), granny())
    assert codes_of(data) == {"nohukou_first_guardian_not_parent": "guardians[3].is_first_guardian"}


def test_a_deceased_parent_cannot_be_first_guardian(world):
    data = no_id_record(world.school_a1, father(vital="deceased", id_number=""), mother())
    assert codes_of(data) == {"nohukou_first_guardian_not_guardian": "guardians[1].is_first_guardian"}


# Who the rules apply to -------------------------------------------------------------------


def test_pupil_with_resident_id_needs_no_parents(world):
    data = no_id_record(
        world.school_a1, granny(is_first_guardian=False, hukou_division_code=""), id_type="1",
        id_number=resident_id(BIRTH, "2", seq=141),
    )
    pupil = pupil_register(user=world["a1"].operator, data=data)
    assert pupil.national_number.startswith("L")


def test_hong_kong_pupil_is_not_a_no_hukou_pupil(world):
    data = no_id_record(world.school_a1, granny(is_first_guardian=False, hukou_division_code=""), id_type="6",
                        id_number="", hmt="01")
    assert codes_of(data) == {}


def test_other_document_without_hukou_is_a_no_hukou_pupil(world):
    data = no_id_record(world.school_a1, granny(), id_type="A", id_number="E99887766")
    assert "nohukou_father_required" in codes_of(data)


# One record per child in the province --------------------------------------------------------


@pytest.fixture
def existing(world):
    """A no-ID pupil already registered at 海珠第一小学 (county 440105)."""
    return pupil_register(user=world["b1"].operator, data=no_id_record(world.school_b1))


def test_second_record_with_same_parents_and_name_is_refused(world, existing):
    data = no_id_record(world.school_a1, father(), mother(), birth_date=dt.date(2017, 7, 7))
    exc = refusal(world["a1"].operator, data)
    assert exc.code == "nohukou_existing_record"
    assert exc.status == 422
    assert "海珠第一小学" in str(exc.message) and "广东省广州市海珠区" in str(exc.message)
    assert "转学" in str(exc.message)
    assert exc.details == {"school_code": "4401050001", "county_code": "440105",
                           "national_number": existing.national_number, "multiple_birth_possible": False}
    assert not Pupil.objects.filter(school=world.school_a1, name="林小溪").exists()


def test_the_same_child_stays_refused_even_with_a_reason(world, existing):
    data = no_id_record(world.school_a1, father(), mother(), birth_date=dt.date(2017, 7, 7))
    with pytest.raises(BusinessRefused) as refused:
        pupil_register(user=world["a1"].operator, data=data, duplicate_reason="双胞胎")
    assert refused.value.code == "nohukou_existing_record"


def test_a_twin_is_registered_with_a_reason_and_the_county_verifies_the_pair(world, existing):
    from duplicates.models import DuplicateCase
    from duplicates.problems import pupil_problem_reasons

    twin = no_id_record(world.school_b1, name="林子涵")  # same parents, same birth date
    refused = refusal(world["b1"].operator, twin)
    assert refused.code == "nohukou_existing_record" and refused.details["multiple_birth_possible"]
    assert "多胞胎" in str(refused.message)
    pupil = pupil_register(user=world["b1"].operator, data=twin, duplicate_reason="双胞胎姐妹，出生医学证明两份")
    assert pupil.national_number.startswith("J") and pupil.national_number != existing.national_number
    case = DuplicateCase.objects.get(status=DuplicateCase.Status.OPEN)
    assert {case.pupil_low_id, case.pupil_high_id} == {existing.pk, pupil.pk}
    assert (case.kind, case.source, case.entry_reason) == ("multiple_birth", "entry", "双胞胎姐妹，出生医学证明两份")
    assert pupil_problem_reasons(pupil)  # a problem record until the county resolves the case
    assert pupil.history.filter(kind="duplicate_kept").exists()


def test_second_record_with_one_shared_parent_and_birth_date_is_refused(world, existing):
    other_father = resident_id(dt.date(1984, 1, 1), "1", seq=150)
    data = no_id_record(world.school_a2, father(id_number=other_father), mother(), name="林小河", grade=7)
    assert refusal(world["a2"].operator, data).code == "nohukou_existing_record"


def test_same_school_second_record_is_refused_too(world, existing):
    assert refusal(world["b1"].operator, no_id_record(world.school_b1)).code == "nohukou_existing_record"


def test_a_sibling_with_another_name_and_birth_date_is_registered(world, existing):
    data = no_id_record(world.school_a1, name="林小山", birth_date=dt.date(2018, 2, 2), grade=1)
    assert pupil_register(user=world["a1"].operator, data=data).national_number.startswith("J")


def test_same_name_and_birth_date_but_other_parents_is_registered(world, existing):
    data = no_id_record(
        world.school_a1,
        father(id_number=resident_id(dt.date(1983, 8, 8), "1", seq=151)),
        mother(id_number=resident_id(dt.date(1985, 9, 9), "2", seq=152)),
    )
    assert pupil_register(user=world["a1"].operator, data=data)


def test_a_record_in_another_province_does_not_block(world):
    other = make_pupil(world.school_x, name="林小溪", sex="2", birth_date=BIRTH, id_number="")
    Guardian.objects.filter(pupil=other).update(id_number=MOTHER_ID)
    assert pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1))


def test_a_deleted_record_does_not_block(world, existing):
    Pupil.objects.filter(pk=existing.pk).update(status=PupilStatus.DELETED)
    assert pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1))


@pytest.mark.parametrize(("status", "code"), [(PupilStatus.GRADUATED, "graduate_use_progression"),
                                              (PupilStatus.DECEASED, "likely_duplicate")])
def test_a_finished_record_blocks_and_a_dead_one_warns(world, existing, status, code):
    Pupil.objects.filter(pk=existing.pk).update(status=status)
    assert refusal(world["a1"].operator, no_id_record(world.school_a1)).code == code


def test_a_record_with_a_resident_id_is_not_the_no_hukou_refusal_but_a_likely_duplicate(world):
    """The no-hukou rule looks at no-ID records only; the same child's ID record is the
    duplicate check's business (the operator sees it and may still save with a reason)."""
    holder = make_pupil(world.school_b1, name="林小溪", sex="2", birth_date=BIRTH)
    Guardian.objects.filter(pupil=holder).update(id_number=FATHER_ID)
    assert nohukou.registration_problems(no_id_record(world.school_a1)) == []
    with pytest.raises(BusinessRefused) as refused:
        pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1))
    assert refused.value.code == "likely_duplicate"
    assert pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1), duplicate_reason="县局核实为两人")


def test_a_shared_relative_who_is_not_a_guardian_does_not_match(world):
    first = no_id_record(world.school_b1, father(), mother(), granny(is_guardian=False, is_first_guardian=False))
    pupil_register(user=world["b1"].operator, data=first)
    cousin = no_id_record(
        world.school_a1,
        father(id_number=resident_id(dt.date(1983, 8, 8), "1", seq=157)),
        mother(id_number=resident_id(dt.date(1985, 9, 9), "2", seq=158)),
        granny(is_guardian=False, is_first_guardian=False),
        name="周小溪",
    )
    assert nohukou.registration_problems(cousin) == []
    cousin.guardians[2].is_guardian = True
    assert [p.code for p in nohukou.registration_problems(cousin)] == ["nohukou_existing_record"]


def test_existing_record_check_is_one_query(world, existing, django_assert_max_num_queries):
    data = no_id_record(world.school_a1)
    divisions.division_table()  # reference data: read once per process, not per check
    with django_assert_max_num_queries(2):  # the school, then one indexed guardian lookup
        problems = nohukou.registration_problems(data)
    assert [p.code for p in problems] == ["nohukou_existing_record"]


# J numbers -----------------------------------------------------------------------------------


def test_j_numbers_are_sequenced_per_county_and_birth_date(world):
    first = pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1))
    second = pupil_register(
        user=world["a2"].operator,
        data=no_id_record(
            world.school_a2,
            father(id_number=resident_id(dt.date(1983, 8, 8), "1", seq=153)),
            mother(id_number=resident_id(dt.date(1985, 9, 9), "2", seq=154)),
            name="周小宇", sex="1", grade=7,
        ),
    )
    third = pupil_register(
        user=world["b1"].operator,
        data=no_id_record(
            world.school_b1,
            father(id_number=resident_id(dt.date(1983, 8, 9), "1", seq=155)),
            mother(id_number=resident_id(dt.date(1985, 9, 10), "2", seq=156)),
            name="吴小雨",
        ),
    )
    body = f"440106{BIRTH:%Y%m%d}"
    assert first.national_number == f"J{body}001{id_check_char(body + '001')}"
    assert second.national_number == f"J{body}002{id_check_char(body + '002')}"
    assert third.national_number[1:18] == f"440105{BIRTH:%Y%m%d}001"  # another county starts again


# Changing the first guardian -------------------------------------------------------------------


@pytest.fixture
def registered(world):
    return pupil_register(user=world["a1"].operator, data=no_id_record(world.school_a1))


def test_changing_first_guardian_moves_the_hukou(world, registered):
    new_first = registered.guardians.get(relation="52")
    nohukou.guardian_set_first(user=world["a1"].operator, pupil=registered, guardian=new_first)
    registered.refresh_from_db()
    assert registered.hukou_division_id == "440106"
    assert nohukou.hukou_authority(registered).code == "440106"
    assert list(registered.guardians.filter(is_first_guardian=True).values_list("name", flat=True)) == ["陈小红"]
    entry = HistoryEntry.objects.get(pupil=registered, kind="first_guardian_changed")
    assert "陈小红" in entry.summary and entry.data["old_hukou_division"] == "440105"
    audit = Pupil.pgh_event_model.objects.filter(pgh_obj=registered).order_by("-pgh_id").first()
    assert audit.hukou_division_id == "440106"
    assert audit.pgh_context.metadata["username"] == world["a1"].operator.username


def test_changing_first_guardian_twice_changes_nothing_more(world, registered):
    new_first = registered.guardians.get(relation="52")
    for _attempt in range(2):
        nohukou.guardian_set_first(user=world["a1"].operator, pupil=registered.national_number, guardian=new_first.pk)
    assert HistoryEntry.objects.filter(pupil=registered, kind="first_guardian_changed").count() == 1


def test_first_guardian_change_is_for_the_school_operator(world, registered):
    new_first = registered.guardians.get(relation="52")
    with pytest.raises(Forbidden):
        nohukou.guardian_set_first(user=world["county_a"].operator, pupil=registered, guardian=new_first)
    with pytest.raises(Forbidden):
        nohukou.guardian_set_first(user=world["a1"].approver, pupil=registered, guardian=new_first)


@pytest.mark.parametrize("who", ["b1", "county_b", "other_province"])
def test_first_guardian_change_outside_scope_is_not_found(world, registered, who):
    new_first = registered.guardians.get(relation="52")
    with pytest.raises(NotFound):
        nohukou.guardian_set_first(user=world[who].operator, pupil=registered, guardian=new_first)
    assert Pupil.objects.get(pk=registered.pk).hukou_division_id == "440105"


def test_guardian_of_another_pupil_is_not_found(world, registered):
    stranger = world.pupils["a1"].guardians.first()
    with pytest.raises(NotFound):
        nohukou.guardian_set_first(user=world["a1"].operator, pupil=registered, guardian=stranger)


def test_new_first_guardian_needs_a_hukou_division(world, registered):
    new_first = registered.guardians.get(relation="52")
    Guardian.objects.filter(pk=new_first.pk).update(hukou_division=None)
    with pytest.raises(BusinessRefused) as caught:
        nohukou.guardian_set_first(user=world["a1"].operator, pupil=registered, guardian=new_first)
    assert caught.value.code == "nohukou_first_guardian_hukou_required"
    assert registered.guardians.get(is_first_guardian=True).relation == "51"


def test_a_deceased_guardian_cannot_become_first(world, registered):
    new_first = registered.guardians.get(relation="52")
    Guardian.objects.filter(pk=new_first.pk).update(vital="deceased")
    with pytest.raises(BusinessRefused) as caught:
        nohukou.guardian_set_first(user=world["a1"].operator, pupil=registered, guardian=new_first)
    assert caught.value.code == "nohukou_first_guardian_not_guardian"


def test_a_relative_cannot_become_first_while_a_parent_lives(world, registered):
    aunt = Guardian.objects.create(pupil=registered, name="林阿姨", relation="97", id_number=UNCLE_ID,
                                   hukou_division_id="440106", order=3)
    with pytest.raises(BusinessRefused) as caught:
        nohukou.guardian_set_first(user=world["a1"].operator, pupil=registered, guardian=aunt)
    assert caught.value.code == "nohukou_first_guardian_not_parent"


def test_locked_basic_data_refuses_the_change(world, registered):
    Pupil.objects.filter(pk=registered.pk).update(basic_data_locked=True)
    with pytest.raises(BusinessRefused) as caught:
        nohukou.guardian_set_first(
            user=world["a1"].operator, pupil=registered, guardian=registered.guardians.get(relation="52")
        )
    assert caught.value.code == "pupil_basic_data_locked"


def test_pupil_with_an_id_keeps_its_own_hukou(world):
    pupil = world.pupils["a1"]
    Pupil.objects.filter(pk=pupil.pk).update(hukou_division_id="440106")
    mother_row = Guardian.objects.create(pupil=pupil, name="李母", relation="52", id_number=MOTHER_ID,
                                         hukou_division_id="420102", order=2)
    nohukou.guardian_set_first(user=world["a1"].operator, pupil=pupil, guardian=mother_row)
    assert Pupil.objects.get(pk=pupil.pk).hukou_division_id == "440106"
    assert Guardian.objects.get(pk=mother_row.pk).is_first_guardian
