"""Forms of the transfer pages: they parse input; the rules are in ``transfers.services``."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LookupForm(forms.Form):
    origin = forms.CharField(label=_("转出学校标识码"), max_length=10)
    name = forms.CharField(label=_("学生姓名"), max_length=50, required=False)
    id_number = forms.CharField(label=_("身份证件号（知道时填写）"), max_length=32, required=False)
    parent_id_number = forms.CharField(
        label=_("父母（或法定监护人）身份证号（无身份证号的学生）"), max_length=32, required=False
    )


class ApplyForm(forms.Form):
    origin_school_code = forms.CharField(widget=forms.HiddenInput, max_length=10)
    pupil_ref = forms.CharField(widget=forms.HiddenInput, required=False)
    dest_grade = forms.IntegerField(label=_("转入年级"), min_value=1, max_value=12)
    dest_class_number = forms.IntegerField(label=_("转入班号"), min_value=1, max_value=99)
    transfer_date = forms.DateField(
        label=_("异动日期"), initial=timezone.localdate, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    reason = forms.CharField(label=_("转学原因"), max_length=200, widget=forms.Textarea(attrs={"rows": 2}))


class CorrectForm(ApplyForm):
    """退回修改: the fields of the application as filled in, to correct, and a note."""

    origin_school_code = None
    pupil_ref = None
    note = forms.CharField(label=_("修改说明（可选）"), max_length=200, required=False)
