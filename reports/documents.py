"""Documents issued for a pupil: 学生学籍信息表 (the record: photo, fields, family, history) and
在读证明 (certificate of enrolment), each with an issue number and a verification code.

Issuing is a write (``IssuedDocument``, the audit row, with who, which unit and the request);
the printable page and the PDF read the issued row. The verification code is the row's id
signed with the project's secret (``django.core.signing``): the public page checks the
signature and shows only the masked name, the school, the status at issue and the date.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.permissions import membership_of, require_membership
from accounts.scope import get_in_scope, restrict
from enrolment.models import Registration
from kernel.errors import BusinessRefused, Forbidden, NotFound, ValidationFailed
from registry import codes, fields, selectors
from registry.models import Guardian, Pupil, PupilStatus
from reports.models import IssuedDocument
from schools.models import SchoolClass

SALT = "reports.documents.verify"
NUMBER_PREFIX = {IssuedDocument.Kind.RECORD: "XJB", IssuedDocument.Kind.ENROLMENT: "ZDZM"}
#: The largest class batch issued at once.
MAX_BATCH = 80


def verification_code(document: IssuedDocument) -> str:
    return signing.dumps(document.pk, salt=SALT, compress=True)


def document_for_code(code: str) -> IssuedDocument:
    """The issued document a verification code names, or ``NotFound`` (a forged or altered
    code says nothing more)."""
    try:
        pk = signing.loads(code, salt=SALT)
    except signing.BadSignature:
        pk = None
    document = (IssuedDocument.objects.select_related("school").filter(pk=pk).first()
                if isinstance(pk, int) else None)
    if document is None:
        raise NotFound(gettext("验证码无效：该文书不是本系统开具的，或验证码有误"), code="document_unknown")
    return document


def masked_name(name: str) -> str:
    """张三丰 → 张**: the public page shows only the first character."""
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def _kind(value: str) -> str:
    if value not in IssuedDocument.Kind.values:
        raise ValidationFailed(gettext("文书类型应为 record（学籍表）或 enrolment（在读证明）"),
                               code="document_kind_invalid", field="kind")
    return value


def _check_may_issue(user, pupil: Pupil, kind: str) -> None:
    membership = require_membership(user)
    if kind == IssuedDocument.Kind.ENROLMENT:
        if membership.school_id != pupil.school_id:
            raise Forbidden(_("在读证明由学生所在学校开具"), code="school_only")
        if pupil.status != PupilStatus.ENROLLED:
            raise BusinessRefused(
                gettext("该学生当前学籍状态为“%(status)s”，不能开具在读证明") % {"status": pupil.get_status_display()},
                code="pupil_not_enrolled", field="pupil")


def _unit_code(user) -> str:
    membership = membership_of(user)
    if membership is None:
        return ""
    return membership.school.code if membership.school_id else membership.division_id


def _issue(user, pupil: Pupil, kind: str, request_id: str) -> IssuedDocument:
    document = IssuedDocument.objects.create(
        kind=kind, number=f"tmp-{pupil.pk}-{timezone.now().timestamp()}", pupil=pupil, school_id=pupil.school_id,
        county_code=pupil.county_code, status=pupil.status, issued_by=user, issued_by_name=user.get_username(),
        unit_code=_unit_code(user), request_id=request_id)
    document.number = f"{NUMBER_PREFIX[kind]}{document.issued_at:%Y%m%d}{document.pk:08d}"
    document.save(update_fields=["number"])
    return document


def document_issue(*, user, national_number: str, kind: str, request_id: str = "") -> IssuedDocument:
    """Issue one document for a pupil the user may see (在读证明: only the pupil's school, only
    for a pupil 在读)."""
    kind = _kind(kind)
    pupil = selectors.pupil_get(user, national_number)
    _check_may_issue(user, pupil, kind)
    with transaction.atomic():
        return _issue(user, pupil, kind, request_id)


def documents_issue_for_class(*, user, class_id: int, kind: str = IssuedDocument.Kind.RECORD,
                              request_id: str = "") -> list[IssuedDocument]:
    """One document per pupil 在读 of a class (in name order), issued together."""
    kind = _kind(kind)
    school_class = get_in_scope(SchoolClass.objects.all(), user, pk=class_id)
    pupils = list(restrict(Pupil.objects.filter(school_class=school_class, status=PupilStatus.ENROLLED), user)
                  .order_by("name", "pk"))
    if not pupils:
        raise BusinessRefused(gettext("该班级没有在读学生"), code="class_empty", field="class")
    if len(pupils) > MAX_BATCH:
        raise ValidationFailed(gettext("一次最多开具 %(max)s 份") % {"max": MAX_BATCH}, code="batch_too_large",
                               field="class")
    for pupil in pupils:
        _check_may_issue(user, pupil, kind)
    with transaction.atomic():
        return [_issue(user, pupil, kind, request_id) for pupil in pupils]


def document_get(user, number: str) -> IssuedDocument:
    """An issued document the user may see: issued in the user's scope, and its pupil still in
    it (the record a document shows is the pupil's as it stands; a school the pupil has left
    sees no more of it)."""
    document = get_in_scope(IssuedDocument.objects.select_related("pupil", "school__county"), user, number=number)
    selectors.pupil_get(user, document.pupil.national_number)
    return document


@dataclass
class RecordSheet:
    """What a document shows, read once for the page and the PDF.

    ``sections`` follow the national 学生基本信息表 (the collection form of the national
    system): 学生个人基础信息, 学生学籍基本信息, 学生个人联系信息, 学生个人扩展信息,
    学生上下学交通方式, each a list of (label, value) in the form's order, for every field the
    record holds (an empty field is a blank box); then the family (家庭成员或监护人信息, one
    row per member in ``GUARDIAN_COLUMNS`` order) and the status history. Codes are shown by
    their names (``registry.fields.shown``, as on the pupil's page).
    """

    document: IssuedDocument
    pupil: Pupil
    sections: list[tuple[str, list[tuple[str, str]]]]
    guardians: list[list[str]]
    history: list[tuple[str, str]]

    @property
    def fields(self) -> list[tuple[str, str]]:
        return [item for _title, items in self.sections for item in items]


#: The family table's columns: the national form's (姓名 … 职务), then the record's own
#: (状况, 第一监护人, the police certificate of a member dead or missing).
GUARDIAN_COLUMNS = (_("姓名"), _("关系"), _("关系说明"), _("民族"), _("工作单位"), _("现住址"), _("户口所在地"),
                    _("联系电话"), _("是否监护人"), _("身份证件类型"), _("身份证件号"), _("职务"), _("状况"),
                    _("第一监护人"), _("公安机关证明编号"), _("公安机关证明日期"))

def _division_name(division) -> str:
    return division.full_name() if division is not None else ""


def _further(pupil: Pupil, name: str) -> tuple[str, str]:
    """A further field as (label, value in words), blank when empty."""
    spec = fields.PUPIL_FIELD_BY_NAME[name]
    value = getattr(pupil, name)
    return str(spec.verbose_name), "" if value in (None, "") else fields.shown(spec, value)


def _member_further(guardian: Guardian, name: str) -> str:
    value = getattr(guardian, name)
    return "" if value in (None, "") else fields.shown(fields.GUARDIAN_FIELD_BY_NAME[name], value)


def _yes_no(value: bool) -> str:
    return gettext("是") if value else gettext("否")


def _guardian_row(g: Guardian) -> list[str]:
    label = codes.label
    return [g.name, label("relation", g.relation) if g.relation else "", _member_further(g, "relation_note"),
            _member_further(g, "ethnicity"), _member_further(g, "employer"), _member_further(g, "address"),
            _division_name(g.hukou_division), g.phone, _yes_no(g.is_guardian),
            label("id_type", g.id_type) if g.id_type else "", g.id_number, _member_further(g, "job_title"),
            g.get_vital_display(), _yes_no(g.is_first_guardian), g.police_reference,
            g.police_date.isoformat() if g.police_date else ""]


def _student_source(pupil: Pupil) -> str:
    """学生来源, recorded by the pupil's registration (blank for a record that had none)."""
    registration = Registration.objects.filter(pupil=pupil).only("source").first()
    return registration.get_source_display() if registration is not None else ""


def record_sheet(document: IssuedDocument) -> RecordSheet:
    pupil = Pupil.objects.select_related("school__county", "school_class", "hukou_division").get(pk=document.pupil_id)

    def label(table: str, code: str) -> str:
        return codes.label(table, code) if code else ""

    f = functools.partial(_further, pupil)
    basic = [
        (gettext("姓名"), pupil.name), (gettext("性别"), label("sex", pupil.sex)),
        (gettext("出生日期"), pupil.birth_date.isoformat()), f("birthplace"), f("native_place"),
        (gettext("民族"), label("ethnicity", pupil.ethnicity)),
        (gettext("国籍/地区"), label("nationality", pupil.nationality)),
        (gettext("身份证件类型"), label("id_type", pupil.id_type)), (gettext("身份证件号"), pupil.id_number),
        f("id_valid_until"), (gettext("港澳台侨外"), label("hmt", pupil.hmt)), f("political_status"),
        (gettext("健康状况"), label("health", pupil.health)), (gettext("曾用名"), pupil.former_name),
        (gettext("户口所在地"), _division_name(pupil.hukou_division)),
        (gettext("户口性质"), label("hukou_nature", pupil.hukou_nature)), f("specialty"),
    ]
    status = [
        (gettext("全国学籍号"), pupil.national_number), (gettext("学籍状态"), pupil.get_status_display()),
        (gettext("年级"), str(pupil.grade)),
        (gettext("班级"), str(pupil.school_class.number) if pupil.school_class_id else ""), f("class_seat"),
        (gettext("入学年月"), f"{pupil.enrolled_on:%Y-%m}"), f("enrolment_mode"),
        (gettext("就读方式"), label("boarding", pupil.boarding)), (gettext("学生来源"), _student_source(pupil)),
    ]
    contact = [f("current_address"), f("postal_address"), f("home_address"), f("phone"), f("postcode")]
    extended = [
        f("only_child"), f("preschool"), (gettext("是否留守儿童"), label("left_behind", pupil.left_behind)),
        (gettext("是否进城务工人员随迁子女"), label("migrant", pupil.migrant)), f("orphan"), f("martyr_child"),
        f("disability"), f("needs_aid"), f("one_subsidy"),
    ]
    transport = [f("commute_distance"), f("commute_mode"), f("school_bus")]
    sections = [(gettext("一、学生个人基础信息"), basic), (gettext("二、学生学籍基本信息"), status),
                (gettext("三、学生个人联系信息"), contact), (gettext("四、学生个人扩展信息"), extended),
                (gettext("五、学生上下学交通方式"), transport)]
    guardians = [_guardian_row(g) for g in pupil.guardians.select_related("hukou_division").order_by("order", "pk")]
    history = [(timezone.localtime(e.at).strftime("%Y-%m-%d"), e.summary)
               for e in selectors.pupil_history(pupil).order_by("at")[:40]]
    return RecordSheet(document, pupil, sections, guardians, history)


@dataclass
class Verification:
    kind: str
    number: str
    name: str
    school: str
    status: str
    issued_on: str


def document_verify(code: str) -> Verification:
    """What the public page shows for a verification code: nothing else about the pupil."""
    document = document_for_code(code)
    return Verification(
        kind=str(IssuedDocument.Kind(document.kind).label), number=document.number,
        name=masked_name(Pupil.objects.values_list("name", flat=True).get(pk=document.pupil_id)),
        school=document.school.name, status=str(PupilStatus(document.status).label),
        issued_on=timezone.localtime(document.issued_at).date().isoformat())
