"""Forms of the change pages: one request form whose fields depend on the kind."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from changes.models import ChangeRequest
from changes.rules import REASON_REQUIRED, RECORD_UPDATE_FIELDS, current_values, guardian_phone_key, record_values
from registry import codes, fields
from registry.models import Pupil

DATE = {"widget": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}


def _fields() -> dict[str, forms.Field]:
    return {
        "start": forms.DateField(label=_("休学开始日期"), **DATE),
        "until": forms.DateField(label=_("截止日期"), **DATE),
        "date": forms.DateField(label=_("日期"), **DATE),
        "destination": forms.CharField(label=_("出境目的地（国家/地区）"), max_length=100),
        "grade": forms.IntegerField(label=_("年级"), min_value=1, max_value=12, required=False),
        "class_number": forms.IntegerField(label=_("班号"), min_value=1, max_value=99, required=False),
        "name": forms.CharField(label=_("姓名"), max_length=50, required=False),
        "sex": forms.ChoiceField(label=_("性别"), choices=lambda: codes.choices("sex"), required=False),
        "birth_date": forms.DateField(label=_("出生日期"), required=False, **DATE),
        "id_type": forms.ChoiceField(label=_("身份证件类型"), choices=lambda: codes.choices("id_type"), required=False),
        "id_number": forms.CharField(label=_("身份证件号"), max_length=32, required=False),
        "left_behind": forms.ChoiceField(label=_("是否留守儿童"), choices=lambda: codes.choices("left_behind")),
        "migrant": forms.ChoiceField(label=_("是否随迁子女"), choices=lambda: codes.choices("migrant")),
        "health": forms.ChoiceField(label=_("健康状况"), choices=lambda: codes.choices("health")),
        "boarding": forms.ChoiceField(label=_("就读方式"), choices=lambda: codes.choices("boarding")),
        "hukou_nature": forms.ChoiceField(label=_("户口性质"), required=False,
                                          choices=lambda: [("", "—"), *codes.choices("hukou_nature")]),
        "hukou_division_code": forms.CharField(label=_("户口所在地（区划代码）"), max_length=6, required=False),
        **{spec.name: fields.form_field(spec) for spec in fields.PUPIL_FIELDS},
    }


#: The payload fields of each kind, in form order.
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "suspend": ("start", "until"),
    "suspend_extend": ("until",),
    "resume": ("grade", "class_number"),
    "repeat": ("class_number",),
    "skip": ("class_number",),
    "drop_out": ("date",),
    "withdrawal": ("date",),
    "abroad": ("date", "destination"),
    "death": ("date",),
    "reinstate": ("grade", "class_number"),
    "key_change": ("name", "sex", "birth_date", "id_type", "id_number", "grade", "class_number"),
    # 信息维护; the family members' phones (guardian<n>_phone) are added per pupil
    "record_update": RECORD_UPDATE_FIELDS,
}


class ChangeRequestForm(forms.Form):
    reason = forms.CharField(label=_("申请理由"), max_length=500, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))
    evidence = forms.FileField(label=_("证明材料（JPG/PNG/PDF，不超过2MB）"), required=False)
    draft = forms.BooleanField(label=_("仅保存草稿，暂不提交"), required=False)

    def __init__(self, *args, kind: str, pupil: Pupil, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.pupil = pupil
        available = _fields()
        payload_fields = {name: available[name] for name in KIND_FIELDS[kind]}
        if kind == ChangeRequest.Kind.KEY_CHANGE:
            for name, value in current_values(pupil).items():
                payload_fields[name].initial = value
        if kind == ChangeRequest.Kind.RECORD_UPDATE:
            for guardian in pupil.guardians.all():
                payload_fields[guardian_phone_key(guardian.order)] = forms.CharField(
                    label=_("%(name)s（家庭成员%(n)s）联系电话") % {"name": guardian.name, "n": guardian.order},
                    max_length=20, required=False,
                )
            for name, value in record_values(pupil).items():
                payload_fields[name].initial = value
        self.fields = {**payload_fields, **self.fields}
        if kind in REASON_REQUIRED:
            self.fields["reason"].required = True
            self.fields["reason"].label = _("%(kind)s原因") % {"kind": ChangeRequest.Kind(kind).label}

    def payload(self) -> dict:
        """The request payload: for a key change or a record update, only the fields that differ."""
        data = {}
        current = current_values(self.pupil) if self.kind == ChangeRequest.Kind.KEY_CHANGE else {}
        if self.kind == ChangeRequest.Kind.RECORD_UPDATE:
            current = record_values(self.pupil)
            names = [name for name in self.fields if name in current]
            # a record update may empty a field (a phone, the 户口所在地): compare, do not skip
            return {name: self.cleaned_data.get(name) or "" for name in names
                    if str(self.cleaned_data.get(name) or "") != str(current[name] or "")}
        for name in KIND_FIELDS[self.kind]:
            value = self.cleaned_data.get(name)
            if value in (None, ""):
                continue
            if hasattr(value, "isoformat"):
                value = value.isoformat()
            if current and str(value) == str(current.get(name, "")):
                continue
            data[name] = value
        return data


class RefuseForm(forms.Form):
    reason = forms.CharField(label=_("不通过理由"), max_length=500, required=False)


class EvidenceForm(forms.Form):
    file = forms.FileField(label=_("证明材料"))


class GraduationProposeForm(forms.Form):
    school_year = forms.IntegerField(label=_("毕业年份"), min_value=2000, max_value=2100)


class PromotionForm(forms.Form):
    school_year = forms.IntegerField(label=_("学年（开始年份）"), min_value=2000, max_value=2100)
