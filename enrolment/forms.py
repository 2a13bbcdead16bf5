"""The pupil registration form: fields of the national record, up to four family members
(``registry.fields.MAX_MEMBERS``, the roster's and 信息维护's limit). Members 3 and 4 are
optional (the page folds them away); an empty member is left out."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from enrolment.models import StudentSource
from provinces.divisions import county_divisions
from registry import codes, fields
from registry.models import Guardian
from registry.records import GuardianData, PupilData


def _coded(table: str, label, *, required: bool = True, initial: str | None = None,
           blank: str | None = None) -> forms.ChoiceField:
    """A choice of a code table; ``blank`` puts an empty first choice so nothing is preselected."""
    return forms.ChoiceField(
        label=label,
        choices=lambda: ([("", blank or "—")] if blank or not required else []) + codes.choices(table),
        required=required,
        initial=initial,
    )


class MembersMixin:
    """The family members of a form (``g<n>_<field>``), the first required."""

    #: The members the form takes; those after ``SHOWN_MEMBERS`` are folded away on the page.
    MEMBER_NUMBERS = tuple(range(1, fields.MAX_MEMBERS + 1))
    SHOWN_MEMBERS = 2

    GUARDIAN_FIELDS = (
        "name", "relation", "id_type", "id_number", "phone", "is_guardian",
        "vital", "police_reference", "police_date", "hukou_division_code", *fields.GUARDIAN_FIELD_NAMES,
    )

    def add_member_fields(self) -> None:
        for n in self.MEMBER_NUMBERS:
            self.fields[f"g{n}_name"] = forms.CharField(label=_("家庭成员%(n)s姓名") % {"n": n}, required=n == 1)
            self.fields[f"g{n}_relation"] = _coded("relation", _("关系"), required=False)
            self.fields[f"g{n}_id_type"] = _coded("id_type", _("身份证件类型"), initial="1", required=n == 1)
            self.fields[f"g{n}_id_number"] = forms.CharField(label=_("身份证件号"), required=False)
            self.fields[f"g{n}_phone"] = forms.CharField(label=_("联系电话"), required=False)
            self.fields[f"g{n}_is_guardian"] = forms.BooleanField(label=_("是否监护人"), required=False, initial=True)
            self.fields[f"g{n}_vital"] = forms.ChoiceField(
                label=_("状况"), choices=Guardian.Vital.choices, initial=Guardian.Vital.ALIVE, required=n == 1
            )
            self.fields[f"g{n}_police_reference"] = forms.CharField(
                label=_("公安机关失踪证明编号"), required=False, max_length=64
            )
            self.fields[f"g{n}_police_date"] = forms.DateField(
                label=_("证明日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
            )
            self.fields[f"g{n}_hukou_division_code"] = forms.CharField(
                label=_("户籍所在地（区县代码）"), required=False, max_length=6
            )
            for spec in fields.GUARDIAN_FIELDS:
                self.fields[f"g{n}_{spec.name}"] = fields.form_field(spec)

    def main_fields(self):
        members = tuple(f"g{n}_" for n in self.MEMBER_NUMBERS)
        return [self[name] for name in self.fields if not name.startswith(members)]

    def guardian_rows(self):
        return [[self[f"g{n}_{f}"] for f in self.GUARDIAN_FIELDS] for n in self.MEMBER_NUMBERS]

    def member_blocks(self):
        """The members for the page: ``(n, fields, folded, filled)``; a folded member opens
        when it holds a value or an error."""
        blocks = []
        for n, row in zip(self.MEMBER_NUMBERS, self.guardian_rows(), strict=True):
            filled = self.is_bound and (bool(self.data.get(f"g{n}_name")) or any(f.errors for f in row))
            blocks.append((n, row, n > self.SHOWN_MEMBERS, filled))
        return blocks

    def members_of(self, data: dict) -> list[GuardianData]:
        """The filled members of ``data`` (the cleaned data; their fields popped), the first
        the first guardian."""
        guardians = []
        for n in self.MEMBER_NUMBERS:
            values = {f: data.pop(f"g{n}_{f}") for f in self.GUARDIAN_FIELDS}
            values["id_type"] = values["id_type"] or "1"
            values["vital"] = values["vital"] or Guardian.Vital.ALIVE
            if values["name"]:
                guardians.append(GuardianData(**values, is_first_guardian=n == 1))
        return guardians


class PupilRegisterForm(MembersMixin, forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50)
    former_name = forms.CharField(label=_("曾用名"), max_length=50, required=False)
    sex = _coded("sex", _("性别"), blank=_("请选择"))  # required, and never preselected
    birth_date = forms.DateField(label=_("出生日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    id_type = _coded("id_type", _("身份证件类型"), initial="1")
    id_number = forms.CharField(label=_("身份证件号"), max_length=32, required=False)
    ethnicity = _coded("ethnicity", _("民族"), initial="01")
    nationality = _coded("nationality", _("国籍/地区"), initial="CHN")
    hmt = _coded("hmt", _("港澳台侨外"), initial="00")
    hukou_division_code = forms.CharField(
        label=_("户口所在地（区县代码）"), required=False, max_length=6,
        widget=forms.TextInput(attrs={"list": "county-divisions", "autocomplete": "off"}),
        help_text=_("输入区县名称或代码后从列表中选择"),
    )
    hukou_nature = _coded("hukou_nature", _("户口性质"), required=False)
    health = _coded("health", _("健康状况"), initial="10")
    boarding = _coded("boarding", _("就读方式"), initial="1")
    left_behind = _coded("left_behind", _("是否留守儿童"), initial="0")
    migrant = _coded("migrant", _("是否随迁子女"), initial="0")
    grade = forms.IntegerField(label=_("年级"), min_value=1, max_value=12)
    class_number = forms.IntegerField(label=_("班号"), min_value=1, max_value=99)
    enrolled_on = forms.DateField(label=_("入学年月"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    source = forms.ChoiceField(
        label=_("学生来源"), required=False, choices=lambda: [("", "—"), *StudentSource.choices],
        help_text=_("非起始年级（1、7、10年级以外）必填"),
    )
    source_reason = forms.CharField(
        label=_("注册原因"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("非起始年级必填"),
    )
    duplicate_reason = forms.CharField(
        label=_("确认不是同一学生的理由"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        further = {spec.name: fields.form_field(spec) for spec in fields.PUPIL_FIELDS}
        names = list(self.fields)
        at = names.index("grade")  # the standard's further fields after the core ones
        self.fields = {**{k: self.fields[k] for k in names[:at]}, **further,
                       **{k: self.fields[k] for k in names[at:]}}
        self.add_member_fields()

    def county_divisions(self) -> list[tuple[str, str]]:
        """The options of the 户口所在地 picker (the server checks the code again)."""
        return county_divisions()

    def to_record(self, *, school_code: str) -> PupilData:
        data = dict(self.cleaned_data)
        data.pop("duplicate_reason")
        guardians = self.members_of(data)
        return PupilData(school_code=school_code, guardians=guardians, **data)


class RegistrationCorrectForm(MembersMixin, forms.Form):
    """退回修改 answered on the page: the record's key fields and family members, 学生来源 and
    注册原因, filled with the record's values (``initial_for``)."""

    name = forms.CharField(label=_("姓名"), max_length=50)
    sex = _coded("sex", _("性别"))
    birth_date = forms.DateField(label=_("出生日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    id_type = _coded("id_type", _("身份证件类型"))
    id_number = forms.CharField(label=_("身份证件号"), max_length=32, required=False)
    source = forms.ChoiceField(label=_("学生来源"), required=False,
                               choices=lambda: [("", "—"), *StudentSource.choices])
    source_reason = forms.CharField(label=_("注册原因"), required=False, max_length=500,
                                    widget=forms.Textarea(attrs={"rows": 2}))
    duplicate_reason = forms.CharField(label=_("确认不是同一学生的理由"), required=False,
                                       widget=forms.Textarea(attrs={"rows": 2}))
    reason = forms.CharField(label=_("修改说明（可选）"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_member_fields()

    @staticmethod
    def initial_for(row) -> dict:
        pupil = row.pupil
        initial = {"name": pupil.name, "sex": pupil.sex, "birth_date": pupil.birth_date, "id_type": pupil.id_type,
                   "id_number": pupil.id_number, "source": row.source, "source_reason": row.source_reason}
        for n, g in enumerate(sorted(pupil.guardians.all(), key=lambda g: g.order), start=1):
            initial.update({f"g{n}_{f}": getattr(g, f) for f in MembersMixin.GUARDIAN_FIELDS
                            if f != "hukou_division_code"})
            initial[f"g{n}_hukou_division_code"] = g.hukou_division_id or ""
        return initial

    def correction(self) -> dict:
        """The keyword arguments of ``registration.registration_correct``."""
        data = dict(self.cleaned_data)
        guardians = self.members_of(data)
        return {
            "source": data["source"], "source_reason": data["source_reason"], "note": data["reason"],
            "duplicate_reason": data["duplicate_reason"], "guardians": guardians,
            "record": {name: data[name] for name in ("name", "sex", "birth_date", "id_type", "id_number")},
        }
