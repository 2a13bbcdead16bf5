"""Small builders for test data: valid resident IDs, pupils, users of a unit."""

from __future__ import annotations

import datetime as dt
import itertools

from django.contrib.auth import get_user_model

from accounts.models import Membership
from kernel.identity import id_check_char
from registry.models import Guardian, Pupil
from schools.models import SchoolClass

PASSWORD = "test-pass-123"
_sequence = itertools.count(1)


def resident_id(birth_date: dt.date, sex: str = "1", region: str = "440106", seq: int | None = None) -> str:
    """A valid 18-character resident ID agreeing with ``birth_date`` and ``sex``."""
    n = seq if seq is not None else next(_sequence) % 500
    third = n * 2 + (1 if sex == "1" else 0)  # odd = male, even = female
    third = third % 1000
    if (third % 2 == 1) != (sex == "1"):
        third = (third + 1) % 1000
    body = f"{region}{birth_date:%Y%m%d}{third:03d}"
    return body + id_check_char(body)


def make_user(username: str, *, role: str, school=None, division=None):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    Membership.objects.create(user=user, role=role, school=school, division=division)
    return user


def make_pupil(school, *, name: str = "张三", sex: str = "1", birth_date=dt.date(2015, 3, 8), grade: int = 3,
               class_number: int = 1, id_number: str | None = None, status: str = "enrolled", **extra) -> Pupil:
    n = next(_sequence)
    if id_number is None:
        id_number = resident_id(birth_date, sex, seq=n)
    school_class, _ = SchoolClass.objects.get_or_create(school=school, grade=grade, number=class_number)
    prefix = "L" if id_number else "J"
    number = f"{prefix}{school.county_id}{birth_date:%Y%m%d}{n % 10000:04d}"
    pupil = Pupil.objects.create(
        national_number=number,
        name=name,
        sex=sex,
        birth_date=birth_date,
        id_type="1" if id_number else "Z",
        id_number=id_number,
        school=school,
        school_class=school_class,
        grade=grade,
        status=status,
        county_code=school.county_id,
        enrolled_on=dt.date(birth_date.year + 6, 9, 1),
        **extra,
    )
    Guardian.objects.create(pupil=pupil, name="张父", relation="51", id_number=resident_id(dt.date(1985, 1, 1), "1"),
                            is_first_guardian=True)
    return pupil


def admit(*pupils) -> None:
    """Approve the registration review (新生注册审核) of newly registered pupils through the
    chain, as an approver of the school and, when the policy asks, of the county would."""
    from enrolment import registration
    from enrolment.models import Registration

    users = get_user_model().objects.filter(membership__role=Membership.Role.APPROVER)
    for row in Registration.objects.filter(pupil__in=[p.pk for p in pupils], state="school_review"):
        registration.registration_approve(user=users.filter(membership__school=row.school_id).first(),
                                          registration_id=row.pk)
        if row.county_review:
            registration.registration_approve(user=users.filter(membership__division_id=row.county_code).first(),
                                              registration_id=row.pk)
    for pupil in pupils:
        pupil.refresh_from_db()


def policy_form_data(**overrides) -> dict:
    """The province policy form as submitted with every field at its default, then
    ``overrides`` (a new policy field needs no change to the form tests)."""
    from administration.forms import ProvincePolicyForm
    from provinces.models import ProvincePolicy

    form = ProvincePolicyForm(instance=ProvincePolicy(province_id="44"))
    data = {}
    for name in form.fields:
        value = form.initial.get(name)
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    data.update({"save_policy": "1", **overrides})
    return data
