"""Schools (学校) and their classes (班级).

A school carries the 10-digit national school code (学校标识码) and its county; its stage
(学段) decides which grades it may have. Grades are stored as 1..12: 1–6 primary (小学),
7–9 junior secondary (初中), 10–12 senior secondary (高中).
"""

from __future__ import annotations

import pghistory
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from provinces.models import Division

PRIMARY = range(1, 7)
JUNIOR = range(7, 10)
SENIOR = range(10, 13)


def stage_of_grade(grade: int) -> str:
    """小学 / 初中 / 高中 for a grade 1..12."""
    if grade in PRIMARY:
        return "primary"
    if grade in JUNIOR:
        return "junior"
    return "senior"


#: The first grades of the stages (起始年级): where new pupils normally enter.
ENTRY_GRADES = (1, 7, 10)
#: The first grade of the next stage after a finished one: 小升初 6 → 7, 初升高 9 → 10.
NEXT_STAGE_ENTRY = {6: 7, 9: 10}

GRADE_NAMES = {
    1: _("一年级"), 2: _("二年级"), 3: _("三年级"), 4: _("四年级"), 5: _("五年级"), 6: _("六年级"),
    7: _("初一"), 8: _("初二"), 9: _("初三"), 10: _("高一"), 11: _("高二"), 12: _("高三"),
}


@pghistory.track()
class School(models.Model):
    """A school (学校) with its national school code (学校标识码)."""

    class Stage(models.TextChoices):
        PRIMARY = "primary", _("小学")
        JUNIOR = "junior", _("初中")
        SENIOR = "senior", _("高中")
        NINE_YEAR = "nine_year", _("九年一贯制")
        COMPLETE_MIDDLE = "complete_middle", _("完全中学")
        TWELVE_YEAR = "twelve_year", _("十二年一贯制")

    GRADES = {
        Stage.PRIMARY: PRIMARY,
        Stage.JUNIOR: JUNIOR,
        Stage.SENIOR: SENIOR,
        Stage.NINE_YEAR: range(1, 10),
        Stage.COMPLETE_MIDDLE: range(7, 13),
        Stage.TWELVE_YEAR: range(1, 13),
    }

    code = models.CharField(
        _("学校标识码"),
        max_length=10,
        unique=True,
        validators=[RegexValidator(r"^\d{10}$", _("学校标识码应为10位数字"))],
    )
    name = models.CharField(_("学校名称"), max_length=100)
    county = models.ForeignKey(
        Division,
        verbose_name=_("所在区县"),
        on_delete=models.PROTECT,
        limit_choices_to={"level": Division.Level.COUNTY},
        related_name="schools",
    )
    stage = models.CharField(_("学段"), max_length=16, choices=Stage.choices)

    scope_paths = (("county__code", "pk"),)

    class Meta:
        verbose_name = _("学校")
        verbose_name_plural = _("学校")
        ordering = ["code"]
        indexes = [models.Index(fields=["county", "name"])]

    def __str__(self) -> str:
        return self.name

    @property
    def grades(self) -> range:
        return self.GRADES[self.stage]

    def next_grade(self, grade: int) -> int | None:
        """The grade a pupil of this school is promoted into, or ``None`` when it graduates.

        Grades 9 (初中毕业: entry to 高中 is a new stage, even within a 完全中学 or
        十二年一贯制 school) and 12 always graduate. Any other grade moves up when the
        school teaches the next one: a 小学 graduates its 六年级, while a 九年一贯制 school
        moves 6 → 7 within compulsory education, without a graduation (and so its grade 6
        is not a graduating grade for the 毕业年级不得转学 policy either).
        """
        if grade in (9, 12) or grade + 1 not in self.grades:
            return None
        return grade + 1

    def graduating_grades(self) -> set[int]:
        """Grades whose pupils graduate from this school (毕业年级): the one rule for
        graduation lists, promotion, the 毕业年级 transfer policy and the last-semester rule."""
        return {g for g in self.grades if self.next_grade(g) is None}


@pghistory.track()
class SchoolClass(models.Model):
    """A class (班级): grade + class number (班号) within a school."""

    school = models.ForeignKey(School, verbose_name=_("学校"), on_delete=models.CASCADE, related_name="classes")
    grade = models.PositiveSmallIntegerField(_("年级"))
    number = models.PositiveSmallIntegerField(_("班号"))
    name = models.CharField(_("班级名称"), max_length=32, blank=True)

    scope_paths = (("school__county__code", "school"),)

    class Meta:
        verbose_name = _("班级")
        verbose_name_plural = _("班级")
        ordering = ["school", "grade", "number"]
        constraints = [
            models.UniqueConstraint(fields=["school", "grade", "number"], name="one_class_number_per_grade"),
            models.CheckConstraint(name="class_grade_1_12", condition=models.Q(grade__gte=1, grade__lte=12)),
        ]

    def __str__(self) -> str:
        return self.name or f"{GRADE_NAMES.get(self.grade, self.grade)}（{self.number}）班"
