"""Classes (班级) as the chains use them: a pupil's class is found or opened by grade and
class number (班号) when a registration, transfer, promotion or status change puts a pupil
into it. The caller's transaction and audit context cover the write."""

from __future__ import annotations

from schools.models import School, SchoolClass


def class_for(school: School, grade: int, number: int) -> SchoolClass:
    school_class, _created = SchoolClass.objects.get_or_create(school=school, grade=grade, number=number)
    return school_class
