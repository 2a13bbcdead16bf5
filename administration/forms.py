from django import forms
from django.utils.translation import gettext_lazy as _

from provinces.models import CalendarOverride, ProvincePolicy

#: The policy page in sections: (title, fields). A field in no section is shown under 其他.
POLICY_SECTIONS = (
    (_("转学"), ("transfer_refuse_suspended", "transfer_same_grade_only", "transfer_refuse_graduating",
               "transfer_cross_province_province_step", "foreign_lookups_per_hour")),
    (_("升级冻结期"), ("freeze_enabled", "freeze_start", "freeze_end")),
    (_("办理时限"), ("step_working_days", "reminder_working_days")),
    (_("学籍异动、升级与毕业"), ("forbid_repeat_in_compulsory", "refuse_suspension_last_semester", "promotion_date",
                        "graduation_opens", "graduation_deadline", "unreceived_graduates_day")),
    (_("新生注册"), ("registration_county_review_all",)),
    (_("学生照片"), ("photo_max_kb", "photo_min_width", "photo_min_height", "photo_aspect_tolerance",
                 "photo_background_refuses")),
    (_("查重与删除"), ("duplicate_case_threshold", "identity_min_match_share", "deletion_undo_days",
                       "full_sweep_asks_peers")),
)


class ProvincePolicyForm(forms.ModelForm):
    """The province policy; the photo size limit is entered in KB (stored in bytes)."""

    photo_max_kb = forms.IntegerField(
        label=_("照片文件上限（KB，不含）"), min_value=1, max_value=10 * 1024,
        help_text=_("1 KB = 1024 字节；国家标准为 60 KB"),
    )

    class Meta:
        model = ProvincePolicy
        exclude = ("province", "photo_max_bytes")
        widgets = {name: forms.TextInput(attrs={"placeholder": "MM-DD", "size": 6}) for name in (
            "freeze_start", "freeze_end", "promotion_date", "graduation_opens", "graduation_deadline",
            "unreceived_graduates_day")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("photo_max_kb", (self.instance.photo_max_bytes or 0) // 1024)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("photo_max_kb"):
            self.instance.photo_max_bytes = cleaned["photo_max_kb"] * 1024
        return cleaned

    def sections(self):
        """[(title, [bound fields])] in the page's order, the remaining fields last."""
        placed = set()
        result = []
        for title, names in POLICY_SECTIONS:
            fields = [self[name] for name in names if name in self.fields]
            placed.update(names)
            result.append((title, fields))
        rest = [self[name] for name in self.fields if name not in placed]
        if rest:
            result.append((_("其他"), rest))
        return result


class CalendarOverrideForm(forms.ModelForm):
    class Meta:
        model = CalendarOverride
        fields = ("day", "is_working_day", "note")
        widgets = {"day": forms.DateInput(attrs={"type": "date"})}
