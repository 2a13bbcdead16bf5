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
