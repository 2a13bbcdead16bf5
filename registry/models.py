"""The pupil record (学籍) and the registry-wide pieces every app shares.

Terms of the national system, named once here:

- ``Pupil`` — 学生学籍 (one record per pupil, one lifelong national student number 全国学籍号)
- ``Guardian`` — 家庭成员/监护人
- ``CodeItem`` — 代码表 entries (sex, ethnicity GB 3304, ID types …)
- ``OpenBusiness`` — 在办业务: at most one open business (transfer, status change,
  key-field change) per pupil, enforced by a unique constraint
- ``WorkItem`` — 待办: an open step of any chain, owned by one unit, with its deadline
- ``HistoryEntry`` — 学籍档案 history entries in words; field-level audit is pghistory's
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from provinces.models import Division
from schools.models import School, SchoolClass


class CodeItem(models.Model):
    """One entry of a national code table (代码表), loaded from ``fixtures/codes.json``."""

    table = models.CharField(_("代码表"), max_length=32)
    code = models.CharField(_("代码"), max_length=8)
    name = models.CharField(_("名称"), max_length=64)

    class Meta:
        verbose_name = _("代码表条目")
        verbose_name_plural = _("代码表")
        ordering = ["table", "code"]
        constraints = [models.UniqueConstraint(fields=["table", "code"], name="one_code_per_table")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PupilStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    ENROLLED = "enrolled", _("在读")
    SUSPENDED = "suspended", _("休学")
    DROPPED_OUT = "dropped_out", _("辍学")
    ABROAD = "abroad", _("出境学习")
    WITHDRAWN = "withdrawn", _("退学")
    GRADUATED = "graduated", _("毕业")
    COMPLETED = "completed", _("结业")
    INCOMPLETE = "incomplete", _("肄业")
    DECEASED = "deceased", _("死亡")
    DELETED = "deleted", _("已删除")
    NOT_ADMITTED = "not_admitted", _("注册未通过")
    #: 转出: moved to another province's registry (跨省转学); the record stays here read-only.
    TRANSFERRED_OUT = "transferred_out", _("转出")


#: A record in one of these states holds its ID number: a second active record is refused.
#: A registration under review (待审核) holds it too.
ACTIVE_STATUSES = (
    PupilStatus.PENDING,
    PupilStatus.ENROLLED,
    PupilStatus.SUSPENDED,
    PupilStatus.DROPPED_OUT,
    PupilStatus.ABROAD,
)
#: A stage finished (毕业, 结业, 肄业): the record is closed but it is still the child's, who
#: continues on it to the next stage by 升学 — never on a second record.
FINISHED_STATUSES = (PupilStatus.GRADUATED, PupilStatus.COMPLETED, PupilStatus.INCOMPLETE)
#: The records every "same child" check looks at (ID held, no-hukou family, entry
#: duplicates, sweeps): the active, the finished, the withdrawn (退学: a senior-secondary
#: pupil who comes back is the same child) and the dead (reported, not ignored).
#: Deleted records and registrations that were not admitted never count.
SAME_CHILD_STATUSES = (*ACTIVE_STATUSES, *FINISHED_STATUSES, PupilStatus.WITHDRAWN, PupilStatus.DECEASED)

#: Key fields (关键字段) change only through an approved change request.
KEY_FIELDS = ("name", "sex", "birth_date", "id_type", "id_number", "grade", "school_class")


@pghistory.track()
class Pupil(models.Model):
    """学生学籍: the pupil record with its national student number (全国学籍号)."""

    class IdentityStatus(models.TextChoices):
        UNCHECKED = "unchecked", _("未核验")
        PASSED = "passed", _("核验通过")
        FAILED = "failed", _("核验未通过")

    national_number = models.CharField(_("全国学籍号"), max_length=19, unique=True)
    name = models.CharField(_("姓名"), max_length=50)
    former_name = models.CharField(_("曾用名"), max_length=50, blank=True)
    sex = models.CharField(_("性别"), max_length=1)
    birth_date = models.DateField(_("出生日期"))
    ethnicity = models.CharField(_("民族"), max_length=2, default="01")
    nationality = models.CharField(_("国籍/地区"), max_length=3, default="CHN")
    id_type = models.CharField(_("身份证件类型"), max_length=1, default="1")
    id_number = models.CharField(_("身份证件号"), max_length=32, blank=True)
    hmt = models.CharField(_("港澳台侨外"), max_length=2, default="00")
    hukou_division = models.ForeignKey(
        Division,
        verbose_name=_("户口所在地"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    hukou_nature = models.CharField(_("户口性质"), max_length=1, blank=True)
    health = models.CharField(_("健康状况"), max_length=2, default="10")
    boarding = models.CharField(_("就读方式"), max_length=1, default="1")
    left_behind = models.CharField(_("是否留守儿童"), max_length=1, default="0")
    migrant = models.CharField(_("是否随迁子女"), max_length=1, default="0")
    enrolled_on = models.DateField(_("入学年月"))
    # the standard's further fields (registry.fields.PUPIL_FIELDS)
    birthplace = models.CharField(_("出生地"), max_length=6, blank=True)
    native_place = models.CharField(_("籍贯"), max_length=6, blank=True)
    political_status = models.CharField(_("政治面貌"), max_length=2, default="13")
    id_valid_until = models.CharField(_("身份证件有效期"), max_length=40, blank=True)
    specialty = models.CharField(_("特长"), max_length=100, blank=True)
    class_seat = models.CharField(_("班内学号"), max_length=20, blank=True)
    enrolment_mode = models.CharField(_("入学方式"), max_length=2, blank=True)
    current_address = models.CharField(_("现住址"), max_length=200, blank=True)
    postal_address = models.CharField(_("通信地址"), max_length=200, blank=True)
    home_address = models.CharField(_("家庭住址"), max_length=200, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    postcode = models.CharField(_("邮政编码"), max_length=6, blank=True)
    only_child = models.CharField(_("是否独生子女"), max_length=1, default="0")
    preschool = models.CharField(_("是否受过学前教育"), max_length=1, default="0")
    orphan = models.CharField(_("是否孤儿"), max_length=1, default="0")
    martyr_child = models.CharField(_("是否烈士或优抚子女"), max_length=1, default="0")
    needs_aid = models.CharField(_("是否需要申请资助"), max_length=1, default="0")
    one_subsidy = models.CharField(_("是否享受一补"), max_length=1, default="0")
    disability = models.CharField(_("残疾人类型"), max_length=1, default="0")
    commute_distance = models.DecimalField(
        _("上下学距离（公里）"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    commute_mode = models.CharField(_("上下学方式"), max_length=1, blank=True)
    school_bus = models.CharField(_("是否需要乘坐校车"), max_length=1, default="0")
    school = models.ForeignKey(School, verbose_name=_("学校"), on_delete=models.PROTECT, related_name="pupils")
    school_class = models.ForeignKey(
        SchoolClass, verbose_name=_("班级"), null=True, blank=True, on_delete=models.PROTECT, related_name="pupils"
    )
    grade = models.PositiveSmallIntegerField(_("年级"))
    status = models.CharField(_("学籍状态"), max_length=16, choices=PupilStatus.choices, default=PupilStatus.ENROLLED)
    status_until = models.DateField(_("状态截止日期"), null=True, blank=True)
    county_code = models.CharField(_("所在区县代码"), max_length=6, editable=False)
    identity_status = models.CharField(
        _("身份核验"), max_length=16, choices=IdentityStatus.choices, default=IdentityStatus.UNCHECKED
    )
    identity_note = models.CharField(_("核验说明"), max_length=200, blank=True)
    basic_data_locked = models.BooleanField(_("基础信息已锁定"), default=False)
    photo = models.FileField(_("照片"), blank=True, max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_paths = (("county_code", "school"),)

    class Meta:
        verbose_name = _("学生学籍")
        verbose_name_plural = _("学生学籍")
        constraints = [
            models.UniqueConstraint(
                fields=["id_number"],
                condition=~Q(id_number="") & Q(status__in=ACTIVE_STATUSES),
                name="one_active_pupil_per_id_number",
                violation_error_message=_("该身份证件号已被在籍学生使用"),
            ),
            models.CheckConstraint(name="pupil_sex_1_2", condition=Q(sex__in=("1", "2"))),
            models.CheckConstraint(name="pupil_grade_1_12", condition=Q(grade__gte=1, grade__lte=12)),
            models.CheckConstraint(
                name="pupil_number_shape", condition=Q(national_number__regex=r"^[GLJ][0-9]{17}[0-9X]$")
            ),
        ]
        indexes = [
            models.Index(
                fields=["county_code", "-id"], name="pupil_scope_recent", opclasses=["varchar_pattern_ops", "int8_ops"]
            ),
            models.Index(fields=["name"], name="pupil_name_prefix", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["id_number"], name="pupil_id_number"),
            models.Index(fields=["school", "grade", "school_class", "name"], name="pupil_school_roster"),
            models.Index(fields=["birth_date", "sex"], name="pupil_birth_sex"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.national_number}）"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def has_id(self) -> bool:
        return bool(self.id_number)


@pghistory.track()
class Guardian(models.Model):
    """家庭成员: a parent or guardian of a pupil."""

    class Vital(models.TextChoices):
        ALIVE = "alive", _("健在")
        DECEASED = "deceased", _("死亡")
        MISSING = "missing", _("失踪")

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="guardians")
    name = models.CharField(_("姓名"), max_length=50)
    relation = models.CharField(_("关系"), max_length=2)
    id_type = models.CharField(_("身份证件类型"), max_length=1, default="1")
    id_number = models.CharField(_("身份证件号"), max_length=32, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    is_guardian = models.BooleanField(_("是否监护人"), default=True)
    is_first_guardian = models.BooleanField(_("第一监护人"), default=False)
    vital = models.CharField(_("状况"), max_length=8, choices=Vital.choices, default=Vital.ALIVE)
    police_reference = models.CharField(_("公安机关证明编号"), max_length=64, blank=True)
    police_date = models.DateField(_("公安机关证明日期"), null=True, blank=True)
    hukou_division = models.ForeignKey(
        Division, verbose_name=_("户籍所在地"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # the standard's further fields (registry.fields.GUARDIAN_FIELDS)
    relation_note = models.CharField(_("关系说明"), max_length=20, blank=True)
    ethnicity = models.CharField(_("民族"), max_length=2, blank=True)
    employer = models.CharField(_("工作单位"), max_length=100, blank=True)
    address = models.CharField(_("现住址"), max_length=200, blank=True)
    job_title = models.CharField(_("职务"), max_length=50, blank=True)
    order = models.PositiveSmallIntegerField(default=1)

    scope_paths = (("pupil__county_code", "pupil__school"),)

    class Meta:
        verbose_name = _("家庭成员")
        verbose_name_plural = _("家庭成员")
        ordering = ["pupil", "order"]
        indexes = [models.Index(fields=["id_number"], name="guardian_id_number")]
        constraints = [
            models.UniqueConstraint(
                fields=["pupil"], condition=Q(is_first_guardian=True), name="one_first_guardian_per_pupil"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.relation}）"


class HistoryEntry(models.Model):
    """One entry of a pupil's history in words (registered, transferred, number changed…)."""

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="history")
    kind = models.CharField(max_length=32)
    summary = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)
    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_name = models.CharField(max_length=150, blank=True)
    unit_code = models.CharField(max_length=10, blank=True)
    at = models.DateTimeField(default=timezone.now)

    scope_paths = (("pupil__county_code", "pupil__school"),)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["pupil", "-at"])]

    def __str__(self) -> str:
        return self.summary


class NumberSequence(models.Model):
    """The last J sequence issued for one county and birth date (``J`` + county + YYYYMMDD).

    J numbers are given in sequence; this row remembers the last one issued even after that
    pupil became a G number or left, so a number once issued is never issued again.
    """

    prefix = models.CharField(max_length=15, primary_key=True)
    last = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.prefix}: {self.last}"


class RetiredNumber(models.Model):
    """A national student number a pupil no longer carries (an L or J number that became G):
    still issued, so never given to anyone else."""

    number = models.CharField(_("全国学籍号"), max_length=19, primary_key=True)
    pupil = models.ForeignKey(Pupil, on_delete=models.PROTECT, related_name="retired_numbers")
    retired_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.number
