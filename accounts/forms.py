"""Forms of the login and account pages."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiToken, Membership
from accounts.passwords import is_demo_password


class LoginForm(AuthenticationForm):
    """The login form; outside development a login with the demo password must change it first."""

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        password = self.cleaned_data.get("password") or ""
        if user is not None and settings.FORCE_DEMO_PASSWORD_CHANGE and is_demo_password(password):
            Membership.objects.filter(user=user).update(must_change_password=True)
        return cleaned


class TokenIssueForm(forms.Form):
    name = forms.CharField(label=_("用途"), max_length=64, required=False)
    access = forms.ChoiceField(label=_("权限"), choices=ApiToken.Access.choices, initial=ApiToken.Access.READ)
    days = forms.IntegerField(label=_("有效天数"), min_value=1, max_value=settings.API_TOKEN_MAX_DAYS,
                              initial=settings.API_TOKEN_DEFAULT_DAYS)


class AccountForm(forms.Form):
    unit_code = forms.CharField(label=_("单位代码"), max_length=10,
                                help_text=_("学校为 10 位学校标识码，教育行政部门为区划代码"))
    username = forms.CharField(label=_("用户名"), max_length=150, help_text=_("例如 4401060001.operator2"))
    full_name = forms.CharField(label=_("姓名"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("角色"), choices=Membership.Role.choices)
