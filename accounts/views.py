"""Account pages: one's own password and API tokens (``/account/…``), and the accounts a unit
runs for the units below it (``/accounts/…``, ``accounts.services``)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import otp, services
from accounts.events import account_event_record
from accounts.forms import AccountForm, TokenIssueForm
from accounts.login import is_locked
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


# --- 账号管理: the accounts of the units below ------------------------------------------

def _refused(request, exc: RegistryError):
    return render(request, "registry/error.html", {"error": exc}, status=exc.status)


@login_required
def account_list(request):
    try:
        found = services.accounts_managed_by(request.user)
    except RegistryError as exc:
        return _refused(request, exc)
    query = (request.GET.get("q") or "").strip()[:150]
    if query:
        found = found.filter(
            Q(username__icontains=query) | Q(membership__school__code=query) | Q(membership__division_id=query)
            | Q(membership__school__name__icontains=query) | Q(first_name__icontains=query)
        )
    role = request.GET.get("role") or ""
    if role in Membership.Role.values:
        found = found.filter(membership__role=role)
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    return render(request, "accounts/list.html", {
        "page": page, "q": query, "role": role, "roles": Membership.Role.choices,
        "locked": {u.username for u in page if is_locked(u.username)},
    })


@login_required
def account_new(request):
    try:
        services.accounts_managed_by(request.user)
    except RegistryError as exc:
        return _refused(request, exc)
    form = AccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, password = services.account_create(actor=request.user, **form.cleaned_data)
        except RegistryError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            return render(request, "accounts/detail.html", _detail_context(request, user, password=password))
    return render(request, "accounts/new.html", {"form": form}, status=422 if form.errors else 200)


def _detail_context(request, account, *, password: str | None = None) -> dict:
    return {
        "account": account,
        "password": password,
        "locked": is_locked(account.username),
        "roles": [(v, label) for v, label in Membership.Role.choices],
        "events": AccountEvent.objects.filter(user=account)[:50],
    }


@login_required
def account_detail(request, pk: int):
    try:
        account = services.account_get(request.user, pk)
    except RegistryError as exc:
        return _refused(request, exc)
    return render(request, "accounts/detail.html", _detail_context(request, account))


def _account_action(service, done_message):
    @login_required
    @require_POST
    def view(request, pk: int):
        try:
            service(actor=request.user, pk=pk)
        except RegistryError as exc:
            return _refused(request, exc)
        messages.success(request, done_message())
        return redirect("accounts:detail", pk=pk)

    return view


account_disable = _account_action(services.account_disable, lambda: _("账号已停用。"))
account_enable = _account_action(services.account_enable, lambda: _("账号已启用。"))
account_unlock = _account_action(services.account_unlock, lambda: _("已解除登录锁定。"))


@login_required
@require_POST
def account_role(request, pk: int):
    try:
        services.account_role_set(actor=request.user, pk=pk, role=request.POST.get("role", ""))
    except RegistryError as exc:
        return _refused(request, exc)
    messages.success(request, _("角色已变更。"))
    return redirect("accounts:detail", pk=pk)


@login_required
@require_POST
def account_password_reset(request, pk: int):
    try:
        account, password = services.account_password_reset(actor=request.user, pk=pk)
    except RegistryError as exc:
        return _refused(request, exc)
    return render(request, "accounts/detail.html", _detail_context(request, account, password=password))


# --- 动态口令 (TOTP) ---------------------------------------------------------------------

def _next_or_home(request):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("home")


@login_required
def otp_enrol(request):
    """绑定动态口令: the first POST makes the key to scan; the next, with a code, confirms it."""
    device = error = None
    bound = otp.confirmed_device(request.user) is not None
    if request.method == "POST" and not bound:
        device = otp.pending_device(request.user)
        if request.POST.get("token"):
            try:
                otp.totp_confirm(request, request.POST["token"])
            except RegistryError as exc:
                error = exc
            else:
                messages.success(request, _("动态口令已绑定。"))
                return _next_or_home(request)
    return render(request, "accounts/otp_enrol.html", {
        "device": device, "secret": otp.secret_of(device) if device else "", "error": error,
        "next": request.GET.get("next") or request.POST.get("next") or "",
        "bound": bound,
    }, status=422 if error else 200)


@login_required
def otp_verify(request):
    """输入动态口令: the code of the bound device, after the password."""
    error = None
    if request.method == "POST":
        try:
            otp.totp_verify(request, request.POST.get("token", ""))
        except RegistryError as exc:
            error = exc
        else:
            return _next_or_home(request)
    return render(request, "accounts/otp_verify.html", {"error": error, "next": request.GET.get("next", "")},
                  status=422 if error else 200)


account_totp_reset = _account_action(services.account_totp_reset, lambda: _("已解绑动态口令。"))
