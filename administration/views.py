"""The province policy page (省级政策) with the holiday calendar (节假日调整)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from administration import services
from administration.forms import CalendarOverrideForm, ProvincePolicyForm
from kernel.errors import RegistryError


def _error(request, exc: RegistryError):
    return render(request, "registry/error.html", {"error": exc}, status=exc.status)


@login_required
def policy_edit(request):
    try:
        policy = services.policy_for_admin(user=request.user)
    except RegistryError as exc:
        return _error(request, exc)
    form = ProvincePolicyForm(request.POST or None, instance=policy)
    day_form = CalendarOverrideForm(request.POST or None, prefix="day")
    if request.method == "POST":
        try:
            if "save_day" in request.POST and day_form.is_valid():
                services.calendar_override_set(user=request.user, **day_form.cleaned_data)
                messages.success(request, _("已保存节假日调整"))
                return redirect("administration:policy")
            if "save_policy" in request.POST and form.is_valid():
                services.policy_save(user=request.user, form=form)
                messages.success(request, _("已保存省级政策"))
                return redirect("administration:policy")
        except RegistryError as exc:
            return _error(request, exc)
    overrides = services.calendar_overrides_of(user=request.user)
    return render(request, "administration/policy.html", {"form": form, "day_form": day_form, "overrides": overrides})
