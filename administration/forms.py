from django import forms

from provinces.models import CalendarOverride, ProvincePolicy


class ProvincePolicyForm(forms.ModelForm):
    class Meta:
        model = ProvincePolicy
        exclude = ("province",)


class CalendarOverrideForm(forms.ModelForm):
    class Meta:
        model = CalendarOverride
        fields = ("day", "is_working_day", "note")
        widgets = {"day": forms.DateInput(attrs={"type": "date"})}
