"""The registration page (新生注册)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.permissions import membership_of
from enrolment import registration
from enrolment.forms import PupilRegisterForm
from kernel.errors import RegistryError


@login_required
@require_http_methods(["GET", "POST"])
def pupil_register(request):
    membership = membership_of(request.user)
    if membership is None or not membership.school_id:
        return render(
            request, "registry/error.html", {"error": RegistryError(_("只有学校用户可以注册新生"), code="school_only")},
            status=403,
        )
    form = PupilRegisterForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            pupil = registration.pupil_register(
                user=request.user,
                data=form.to_record(school_code=membership.school.code),
                duplicate_reason=form.cleaned_data["duplicate_reason"],
            )
        except RegistryError as exc:
            error = exc
            _attach_errors(form, exc)
        else:
            messages.success(request, _("已建立学籍，全国学籍号 %(n)s") % {"n": pupil.national_number})
            return redirect("pupil_detail", national_number=pupil.national_number)
    return render(request, "enrolment/register.html", {"form": form, "error": error})


def _attach_errors(form, exc: RegistryError) -> None:
    details = exc.details if isinstance(exc.details, list) else [exc.as_dict()]
    for detail in details:
        field = (detail.get("field") or "") if isinstance(detail, dict) else ""
        if field.startswith("guardians["):
            index, _dot, sub = field[len("guardians[") :].partition("].")
            field = f"g{index}_{sub}"
        if field in form.fields and isinstance(detail, dict) and "message" in detail:
            form.add_error(field, detail["message"])
