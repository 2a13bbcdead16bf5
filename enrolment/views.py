"""The registration page (新生注册) and the review of registrations (新生注册审核)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import membership_of
from enrolment import registration, selectors
from enrolment.chains import REGISTRATION
from enrolment.forms import PupilRegisterForm, RegistrationCorrectForm
from enrolment.models import RegistrationState, StudentSource
from kernel.errors import RegistryError
from workflow import engine


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
            messages.success(request, _("已建立学籍，全国学籍号 %(n)s；待审核，审核通过后学籍生效")
                             % {"n": pupil.national_number})
            for warning in getattr(pupil, "entry_warnings", ()):
                messages.warning(request, warning)
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


@login_required
@require_GET
def registration_list(request):
    """新生注册审核: the registrations waiting for the user's unit, then all of the scope."""
    state = request.GET.get("state", "")
    rows = list(selectors.registrations_visible_to(request.user, state=state, open_only=not state)[:200])
    current = engine.current_steps(REGISTRATION, rows)
    waiting = set(selectors.registrations_visible_to(request.user, waiting=True).filter(
        pk__in=[r.pk for r in rows]).values_list("pk", flat=True))
    for row in rows:
        row.current = current[row.pk]
        row.waiting_here = row.pk in waiting
    return render(request, "enrolment/registrations.html", {
        "rows": rows, "states": RegistrationState.choices, "state": state,
    })


@login_required
@require_GET
def registration_detail(request, registration_id: int):
    try:
        row = selectors.registration_get(request.user, registration_id)
    except RegistryError as exc:
        return render(request, "registry/error.html", {"error": exc}, status=exc.status)
    return render(request, "enrolment/registration_detail.html", {
        "row": row,
        "pupil": row.pupil,
        "guardians": row.pupil.guardians.all(),
        "actions": engine.actions_for(REGISTRATION, request.user, row),
        "sources": StudentSource.choices,
        "progress": engine.progress(REGISTRATION, row),
        "current": engine.current_steps(REGISTRATION, [row])[row.pk],
        "log": engine.timeline(REGISTRATION, row),
        "sent_back": engine.sent_back(REGISTRATION, row),
        "correct_form": RegistrationCorrectForm(initial=RegistrationCorrectForm.initial_for(row)),
    })


def _resubmit(request, registration_id: int, correct_form: RegistrationCorrectForm | None):
    """The page's form sends the record's and the registration's fields to correct (an older
    page only 学生来源 and 注册原因); without them, resubmitted unchanged."""
    if correct_form is not None:
        return registration.registration_correct(user=request.user, registration_id=registration_id,
                                                 **correct_form.correction())
    if "source" in request.POST:
        return registration.registration_correct(
            user=request.user, registration_id=registration_id, source=request.POST["source"],
            source_reason=request.POST.get("source_reason", ""), note=request.POST.get("reason", ""))
    return registration.registration_resubmit(user=request.user, registration_id=registration_id,
                                              reason=request.POST.get("reason", ""))


@login_required
@require_POST
def registration_act(request, registration_id: int, action: str):
    correct_form = RegistrationCorrectForm(request.POST) if "name" in request.POST else None
    if action == engine.RESUBMIT and correct_form is not None and not correct_form.is_valid():
        for field, errors in correct_form.errors.items():
            label = correct_form.fields[field].label if field in correct_form.fields else ""
            messages.error(request, f"{label}：{'；'.join(errors)}" if label else "；".join(errors))
        return redirect("registration_detail", registration_id)
    services = {
        "approve": lambda: registration.registration_approve(user=request.user, registration_id=registration_id),
        "refuse": lambda: registration.registration_refuse(user=request.user, registration_id=registration_id,
                                                           reason=request.POST.get("reason", "")),
        engine.SEND_BACK: lambda: registration.registration_send_back(
            user=request.user, registration_id=registration_id, reason=request.POST.get("reason", "")),
        engine.RESUBMIT: lambda: _resubmit(request, registration_id, correct_form),
    }
    if action not in services:
        raise Http404
    try:
        row = services[action]()
    except RegistryError as exc:
        messages.error(request, f"{exc.message}（{exc.code}）")
    else:
        messages.success(request, _("已审核不通过，学籍注册未通过") if action == "refuse"
                         else _("已退回注册人修改") if action == engine.SEND_BACK
                         else _("已重新提交学校审核") if action == engine.RESUBMIT
                         else _("已审核通过，学籍生效") if row.state == RegistrationState.APPROVED
                         else _("已审核通过，待区县审核"))
    return redirect("registration_detail", registration_id)
