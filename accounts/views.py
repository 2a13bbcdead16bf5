"""Account pages: one's own password and API tokens (``/account/…``), and the accounts a unit
runs for the units below it (``/accounts/…``, ``accounts.services``)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.events import account_event_record
from accounts.forms import TokenIssueForm
from accounts.models import AccountEvent, ApiToken, Membership
from accounts.tokens import token_issue, token_revoke
from kernel.errors import RegistryError


class PasswordChange(auth_views.PasswordChangeView):
    """修改密码: the user's own password, under the password policy."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        response = super().form_valid(form)
        Membership.objects.filter(user=self.request.user).update(must_change_password=False)
        account_event_record(AccountEvent.Action.PASSWORD_CHANGED, user=self.request.user, actor=self.request.user)
        messages.success(self.request, _("密码已修改。"))
        target = self.request.POST.get("next") or self.request.GET.get("next")
        if target and url_has_allowed_host_and_scheme(target, allowed_hosts={self.request.get_host()}):
            return redirect(target)
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        membership = getattr(self.request.user, "membership", None)
        context["must_change"] = bool(membership and membership.must_change_password)
        context["next"] = self.request.GET.get("next", "")
        return context


@login_required
def tokens(request):
    """我的接口令牌: issue (access and days chosen here) and revoke one's own tokens."""
    raw = None
    form = TokenIssueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _token, raw = token_issue(user=request.user, actor=request.user, name=form.cleaned_data["name"],
                                      access=form.cleaned_data["access"], days=form.cleaned_data["days"])
        except RegistryError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            form = TokenIssueForm()
    return render(request, "accounts/tokens.html", {
        "form": form,
        "raw": raw,
        "tokens": ApiToken.objects.filter(user=request.user).order_by("-created_at"),
    }, status=422 if request.method == "POST" and raw is None else 200)


@login_required
@require_POST
def token_revoke_view(request, prefix: str):
    try:
        token_revoke(user=request.user, actor=request.user, prefix=prefix)
    except RegistryError as exc:
        return render(request, "registry/error.html", {"error": exc}, status=exc.status)
    messages.success(request, _("令牌已吊销。"))
    return redirect("accounts:tokens")
