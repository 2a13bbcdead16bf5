"""The pupil registration form: fields of the national record, two family members."""

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


class PupilRegisterForm(forms.Form):
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

    GUARDIAN_FIELDS = (
        "name", "relation", "id_type", "id_number", "phone", "is_guardian",
        "vital", "police_reference", "police_date", "hukou_division_code", *fields.GUARDIAN_FIELD_NAMES,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        further = {spec.name: fields.form_field(spec) for spec in fields.PUPIL_FIELDS}
        names = list(self.fields)
        at = names.index("grade")  # the standard's further fields after the core ones
        self.fields = {**{k: self.fields[k] for k in names[:at]}, **further,
                       **{k: self.fields[k] for k in names[at:]}}
        for n in (1, 2):
            self.fields[f"g{n}_name"] = forms.CharField(label=_("家庭成员%(n)s姓名") % {"n": n}, required=n == 1)
            self.fields[f"g{n}_relation"] = _coded("relation", _("关系"), required=False)
            self.fields[f"g{n}_id_type"] = _coded("id_type", _("身份证件类型"), initial="1")
            self.fields[f"g{n}_id_number"] = forms.CharField(label=_("身份证件号"), required=False)
            self.fields[f"g{n}_phone"] = forms.CharField(label=_("联系电话"), required=False)
            self.fields[f"g{n}_is_guardian"] = forms.BooleanField(label=_("是否监护人"), required=False, initial=True)
            self.fields[f"g{n}_vital"] = forms.ChoiceField(
                label=_("状况"), choices=Guardian.Vital.choices, initial=Guardian.Vital.ALIVE
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

    def county_divisions(self) -> list[tuple[str, str]]:
        """The options of the 户口所在地 picker (the server checks the code again)."""
        return county_divisions()

    def main_fields(self):
        return [self[name] for name in self.fields if not name.startswith(("g1_", "g2_"))]

    def guardian_rows(self):
        return [[self[f"g{n}_{f}"] for f in self.GUARDIAN_FIELDS] for n in (1, 2)]

    def to_record(self, *, school_code: str) -> PupilData:
        data = dict(self.cleaned_data)
        data.pop("duplicate_reason")
        guardians = []
        for n in (1, 2):
            values = {f: data.pop(f"g{n}_{f}") for f in self.GUARDIAN_FIELDS}
            if values["name"]:
                guardians.append(GuardianData(**values, is_first_guardian=n == 1))
        return PupilData(school_code=school_code, guardians=guardians, **data)
