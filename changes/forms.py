"""Forms of the change pages: one request form whose fields depend on the kind."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from changes import members
from changes.models import ChangeRequest
from changes.rules import REASON_REQUIRED, RECORD_UPDATE_FIELDS, current_values, record_values
from registry import codes, fields
from registry.models import Guardian, Pupil

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
            payload_fields.update(_member_fields(pupil))
            for name, value in record_values(pupil).items():
                if name in payload_fields:
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
            return self._record_update_payload()
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


    def _record_update_payload(self) -> dict:
        # a record update may empty a field (a phone, the 户口所在地): compare, do not skip
        current = record_values(self.pupil)
        data = {}
        for name in self.fields:
            value = self.cleaned_data.get(name)
            parsed = members.parse_key(name)
            if name in current:
                if isinstance(value, bool) or isinstance(current[name], bool):
                    if bool(value) != bool(current[name]):
                        data[name] = bool(value)
                    continue
                text = value.isoformat() if hasattr(value, "isoformat") else str(value or "")
                if text != str(current[name] or ""):
                    data[name] = text
            elif parsed is not None and parsed[1] == members.REMOVE:
                if value:
                    data[name] = True
            elif parsed is not None and self.cleaned_data.get(members.member_key(parsed[0], "name")):
                data[name] = value.isoformat() if hasattr(value, "isoformat") else value  # the new member
        return data



class CorrectForm(ChangeRequestForm):
    """退回修改: the request's form filled with what it asks, to correct, and a note."""

    note = forms.CharField(label=_("修改说明（可选）"), max_length=200, required=False)

    def __init__(self, *args, request: ChangeRequest, **kwargs):
        kwargs.setdefault("initial", {**request.payload, "reason": request.reason})
        super().__init__(*args, kind=request.kind, pupil=request.pupil, **kwargs)
        del self.fields["draft"]


def _member_fields(pupil: Pupil) -> dict[str, forms.Field]:
    """A block per family member (its fields and 删除), and one for a new member while the
    pupil has fewer than ``members.MAX_MEMBERS``."""
    out: dict[str, forms.Field] = {}
    orders = [g.order for g in pupil.guardians.all()]
    free = [n for n in range(1, members.MAX_MEMBERS + 1) if n not in orders]
    for order in [*orders, *free[:1]]:
        new = order not in orders
        for field in members.MEMBER_FIELDS:
            out[members.member_key(order, field)] = _member_field(order, field, new=new)
        if not new:
            out[members.member_key(order, members.REMOVE)] = forms.BooleanField(
                label=_("删除家庭成员%(n)s") % {"n": order}, required=False)
    return out


def _member_field(order: int, field: str, *, new: bool) -> forms.Field:
    label = (_("新增家庭成员%(n)s：%(field)s") if new else _("家庭成员%(n)s：%(field)s")) % {
        "n": order, "field": members.MEMBER_LABELS[field]}
    if field == "is_guardian":
        return forms.BooleanField(label=label, required=False, initial=True)
    if field == "vital":
        return forms.ChoiceField(label=label, choices=Guardian.Vital.choices, initial=Guardian.Vital.ALIVE,
                                 required=False)
    if field in ("relation", "id_type"):
        return forms.ChoiceField(label=label, required=False, initial="1" if field == "id_type" else None,
                                 choices=lambda table=field: [("", "—"), *codes.choices(table)])
    if field == "police_date":
        return forms.DateField(label=label, required=False, **DATE)
    if field in fields.GUARDIAN_FIELD_BY_NAME:
        form_field = fields.form_field(fields.GUARDIAN_FIELD_BY_NAME[field])
        form_field.label = label
        return form_field
    return forms.CharField(label=label, required=False)


class RefuseForm(forms.Form):
    reason = forms.CharField(label=_("不通过理由"), max_length=500, required=False)


class EvidenceForm(forms.Form):
    file = forms.FileField(label=_("证明材料"))


class GraduationProposeForm(forms.Form):
    school_year = forms.IntegerField(label=_("毕业年份"), min_value=2000, max_value=2100)


class PromotionForm(forms.Form):
    school_year = forms.IntegerField(label=_("学年（开始年份）"), min_value=2000, max_value=2100)


class LeftBehindCampaignForm(forms.Form):
    school_year = forms.IntegerField(label=_("学年（开始年份）"), min_value=2000, max_value=2100)
    closes_on = forms.DateField(label=_("登记截止日期"), **DATE)
