"""Pages of status changes (学籍异动), graduation lists (毕业) and promotion (升级).

Each view parses input, calls one service or selector and renders; refusals are shown
with the service's message (the same text the API returns).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import FileResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import membership_of
from changes import graduations, left_behind, promotions, requests, selectors
from changes import resolution as resolution_services
from changes.forms import (
    ChangeRequestForm,
    CorrectForm,
    EvidenceForm,
    GraduationProposeForm,
    LeftBehindCampaignForm,
    PromotionForm,
    RefuseForm,
)
from changes.models import ChangeRequest, GraduationEntry, State
from kernel.errors import RegistryError
from registry import selectors as pupil_selectors


def _error(request, exc: RegistryError):
    return render(request, "registry/error.html", {"error": exc}, status=exc.status)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- change requests ----------------------------------------------------------------

@login_required
@require_GET
def change_list(request):
    filters = selectors.ChangeFilter(
        state=request.GET.get("state", ""), kind=request.GET.get("kind", ""), pupil=request.GET.get("pupil", "")
    )
    page = pupil_selectors.paginate(
        selectors.change_requests_visible_to(request.user, filters), page=_int(request.GET.get("page")) or 1
    )
    return render(request, "changes/list.html", {
        "page": page, "filters": filters, "states": State.choices, "kinds": ChangeRequest.Kind.choices,
    })


@login_required
def change_new(request):
    number = request.GET.get("pupil", "").strip()
    kind = request.GET.get("kind", "")
    try:
        pupil = pupil_selectors.pupil_get(request.user, number)
    except RegistryError as exc:
        return _error(request, exc)
    if kind not in ChangeRequest.Kind.values:
        return render(request, "changes/new_kind.html", {"pupil": pupil, "kinds": ChangeRequest.Kind.choices})
    form = ChangeRequestForm(request.POST or None, request.FILES or None, kind=kind, pupil=pupil)
    error = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data.get("evidence")
        try:
            change = requests.change_request_open(
                user=request.user, pupil=pupil, kind=kind, payload=form.payload(),
                reason=form.cleaned_data["reason"], evidence=[upload] if upload else [],
                submit=not form.cleaned_data["draft"],
            )
        except RegistryError as exc:
            error = exc
            if exc.field in form.fields:
                form.add_error(exc.field, str(exc.message))
        else:
            messages.success(request, _("已提交学籍异动申请") if change.state != State.DRAFT else _("已保存草稿"))
            return redirect("changes:detail", request_id=change.pk)
    return render(request, "changes/new.html", {
        "pupil": pupil, "kind": kind, "kind_label": ChangeRequest.Kind(kind).label, "form": form, "error": error,
    })


@login_required
@require_GET
def change_detail(request, request_id: int):
    try:
        change = selectors.change_request_get(request.user, request_id)
    except RegistryError as exc:
        return _error(request, exc)
    return render(request, "changes/detail.html", {
        "change": change,
        "payload": selectors.payload_rows(change),
        "events": selectors.timeline(change),
        "evidence": change.evidence.all(),
        "actions": selectors.actions_for(request.user, change),
        "sent_back": selectors.sent_back(change),
        "refuse_form": RefuseForm(),
        "evidence_form": EvidenceForm(),
    })


@login_required
def change_correct(request, request_id: int):
    """退回修改: the person who opened the request sees the reason, corrects it in the form it
    was filed with and submits it again (``requests.change_request_correct``)."""
    try:
        change = selectors.change_request_get(request.user, request_id)
    except RegistryError as exc:
        return _error(request, exc)
    if "submit" not in selectors.actions_for(request.user, change):
        messages.error(request, _("只有申请人可以修改退回的申请"))
        return redirect("changes:detail", request_id=request_id)
    form = CorrectForm(request.POST or None, request.FILES or None, request=change)
    error = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data.get("evidence")
        try:
            requests.change_request_correct(
                user=request.user, request_id=request_id, payload=form.payload(), reason=form.cleaned_data["reason"],
                evidence=[upload] if upload else [], note=form.cleaned_data["note"],
            )
        except RegistryError as exc:
            error = exc
            if exc.field in form.fields:
                form.add_error(exc.field, str(exc.message))
        else:
            messages.success(request, _("已修改并重新提交"))
            return redirect("changes:detail", request_id=request_id)
    return render(request, "changes/correct.html", {
        "change": change, "pupil": change.pupil, "kind": change.kind, "form": form, "error": error,
        "sent_back": selectors.sent_back(change),
    }, status=422 if error or form.errors else 200)


def _act(request, call, done_message, *, to: str, pk: int):
    try:
        call()
    except RegistryError as exc:
        messages.error(request, exc.as_html())
    else:
        messages.success(request, done_message)
    return redirect(to, pk)


@login_required
@require_POST
def change_submit(request, request_id: int):
    return _act(request, lambda: requests.change_request_submit(user=request.user, request_id=request_id),
                _("已提交"), to="changes:detail", pk=request_id)


@login_required
@require_POST
def change_approve(request, request_id: int):
    return _act(
        request,
        lambda: requests.change_request_approve(
            user=request.user, request_id=request_id, note=request.POST.get("note", ""),
            acknowledge_duplicates=request.POST.get("acknowledge_duplicates") == "on",
        ),
        _("已审核通过"), to="changes:detail", pk=request_id,
    )


@login_required
@require_POST
def change_send_back(request, request_id: int):
    return _act(
        request,
        lambda: requests.change_request_send_back(user=request.user, request_id=request_id,
                                                  reason=request.POST.get("reason", "")),
        _("已退回申请人修改"), to="changes:detail", pk=request_id,
    )


@login_required
@require_POST
def change_refuse(request, request_id: int):
    return _act(
        request,
        lambda: requests.change_request_refuse(user=request.user, request_id=request_id,
                                               reason=request.POST.get("reason", "")),
        _("已审核不通过"), to="changes:detail", pk=request_id,
    )


@login_required
@require_POST
def change_withdraw(request, request_id: int):
    return _act(request, lambda: requests.change_request_withdraw(user=request.user, request_id=request_id),
                _("已撤回"), to="changes:detail", pk=request_id)


@login_required
@require_POST
def evidence_upload(request, request_id: int):
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("请选择文件"))
        return redirect("changes:detail", request_id)
    return _act(request, lambda: requests.evidence_add(user=request.user, request_id=request_id, upload=upload),
                _("已上传证明材料"), to="changes:detail", pk=request_id)


@login_required
@require_GET
def evidence_download(request, evidence_id: int):
    try:
        item = selectors.evidence_get(request.user, evidence_id)
    except RegistryError as exc:
        return _error(request, exc)
    response = FileResponse(item.file.open("rb"), content_type=item.content_type)
    response["Content-Disposition"] = f'inline; filename="evidence-{item.pk}.{item.stored_name.rsplit(".", 1)[-1]}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def dropouts(request):
    return render(request, "changes/dropouts.html", {"items": selectors.dropout_followups(request.user)[:500]})


@login_required
@require_GET
def suspensions_overdue(request):
    today = timezone.localdate()
    items = list(selectors.overdue_suspensions(request.user, today=today)[:500])
    for pupil in items:
        pupil.days_overdue = (today - pupil.status_until).days
        pupil.pending_label = ChangeRequest.Kind(pupil.pending_kind).label if pupil.pending_kind else ""
    return render(request, "changes/suspensions_overdue.html", {"items": items})


# --- graduation ---------------------------------------------------------------------

@login_required
def graduation_list(request):
    form = GraduationProposeForm(request.POST or None, initial={"school_year": _default(graduations.default_graduation_year, request.user)})
    if request.method == "POST" and form.is_valid():
        try:
            graduation = graduations.graduation_propose(user=request.user, school_year=form.cleaned_data["school_year"])
        except RegistryError as exc:
            messages.error(request, exc.as_html())
        else:
            messages.success(request, _("已提交毕业名单"))
            return redirect("changes:graduation_detail", graduation.pk)
    membership = membership_of(request.user)
    return render(request, "changes/graduation_list.html", {
        "lists": selectors.graduation_lists_visible_to(request.user)[:100],
        "form": form,
        "can_propose": membership is not None and bool(membership.school_id),
    })


@login_required
@require_GET
def graduation_detail(request, graduation_id: int):
    try:
        graduation = selectors.graduation_get(request.user, graduation_id)
    except RegistryError as exc:
        return _error(request, exc)
    outcomes = dict(graduation.entries.values_list("outcome").annotate(n=Count("id")).order_by())
    return render(request, "changes/graduation_detail.html", {
        "graduation": graduation,
        "outcomes": [(label, outcomes.get(value, 0)) for value, label in GraduationEntry.Outcome.choices],
        "outcome_total": sum(outcomes.values()),
        "final_approval": graduation.state == State.COUNTY_REVIEW,
        "entries": graduation.entries.select_related("pupil__school_class").order_by("pupil__grade", "pupil__name"),
        "events": selectors.timeline(graduation),
        "actions": selectors.actions_for(request.user, graduation),
    })


@login_required
@require_POST
def graduation_approve(request, graduation_id: int):
    return _act(request, lambda: graduations.graduation_approve(user=request.user, graduation_id=graduation_id),
                _("已审核通过"), to="changes:graduation_detail", pk=graduation_id)


@login_required
@require_POST
def graduation_refuse(request, graduation_id: int):
    return _act(
        request,
        lambda: graduations.graduation_refuse(user=request.user, graduation_id=graduation_id,
                                           reason=request.POST.get("reason", "")),
        _("已审核不通过"), to="changes:graduation_detail", pk=graduation_id,
    )


@login_required
@require_POST
def graduation_withdraw(request, graduation_id: int):
    return _act(request, lambda: graduations.graduation_withdraw(user=request.user, graduation_id=graduation_id),
                _("已撤回"), to="changes:graduation_detail", pk=graduation_id)


# --- promotion ----------------------------------------------------------------------

@login_required
def promotion(request):
    """升级: 预览 (GET ``?school_year=``: counts per grade, read only), then 确认执行 (POST with
    ``confirm``); a POST without it goes back to the preview."""
    form = PromotionForm(request.POST or None, initial={"school_year": _default(graduations.default_school_year, request.user)})
    if request.method == "POST" and form.is_valid() and request.POST.get("confirm") != "yes":
        return redirect(f"{request.path}?school_year={form.cleaned_data['school_year']}")
    if request.method == "POST" and form.is_valid():
        try:
            run = promotions.promotion_start(user=request.user, school_year=form.cleaned_data["school_year"])
        except RegistryError as exc:
            messages.error(request, exc.as_html())
        else:
            messages.success(request, _("升级已开始"))
            return redirect(f"{request.path}?run={run.pk}")
    runs = list(selectors.promotion_runs_for(request.user)[:10])
    current = next((r for r in runs if str(r.pk) == request.GET.get("run")), runs[0] if runs else None)
    preview = None
    if request.method == "GET" and request.GET.get("school_year") and selectors.is_province_admin(request.user):
        form = PromotionForm(request.GET)
        if form.is_valid():
            try:
                preview = promotions.promotion_preview(user=request.user, school_year=form.cleaned_data["school_year"])
            except RegistryError as exc:
                messages.error(request, exc.as_html())
    return render(request, "changes/promotion.html", {
        "preview": preview,
        "form": form,
        "runs": runs,
        "current": current,
        "progress": selectors.promotion_progress(current) if current else None,
        "can_start": selectors.is_province_admin(request.user),
    })


@login_required
@require_GET
def promotion_progress(request, run_id: int):
    try:
        run = selectors.promotion_run_get(request.user, run_id)
    except RegistryError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    return JsonResponse(selectors.promotion_progress(run))


def _default(year_of, user) -> int:
    """A year field's first value; the current year for a user without a unit."""
    try:
        return year_of(user)
    except RegistryError:
        return timezone.localdate().year


@login_required
@require_POST
def case_resolve(request, case_id: int):
    """The county resolves a duplicate case from its page (佐证, 变更 or 删除)."""
    resolution = request.POST.get("resolution")
    note = request.POST.get("note", "")
    pupil = request.POST.get("pupil", "")
    fields = {k: request.POST[k] for k in ("name", "sex", "birth_date", "id_number") if request.POST.get(k)}
    try:
        resolution_services.case_resolve(user=request.user, case_id=case_id, resolution=resolution or "",
                                         pupil=pupil, note=note, payload=fields, evidence=request.FILES.get("evidence"))
    except RegistryError as exc:
        return _error(request, exc)
    messages.success(request, _("已处理"))
    return redirect("duplicates:case_detail", case_id=case_id)


# --- 留守儿童/随迁子女年度登记 --------------------------------------------------------------

@login_required
def left_behind_list(request):
    """The campaigns the unit sees; a county opens its campaign for a school year here."""
    form = LeftBehindCampaignForm(request.POST or None, initial={"school_year": timezone.localdate().year})
    if request.method == "POST" and form.is_valid():
        try:
            campaign = left_behind.left_behind_campaign_open(user=request.user, **form.cleaned_data)
        except RegistryError as exc:
            messages.error(request, exc.as_html())
        else:
            messages.success(request, _("已开启留守儿童/随迁子女年度登记，本区县各校的待办中已有该事项"))
            return redirect("changes:left_behind_detail", campaign.pk)
    return render(request, "changes/left_behind_list.html", {
        "campaigns": left_behind.left_behind_campaigns_for(request.user)[:50],
        "form": form,
        "membership": membership_of(request.user),
    })


@login_required
def left_behind_detail(request, campaign_id: int):
    """A county: each school's progress and who is not yet confirmed; a school: its pupils
    still to confirm, with their answers and a link to 信息维护."""
    try:
        campaign = left_behind.left_behind_campaign_get(request.user, campaign_id)
    except RegistryError as exc:
        return render(request, "registry/error.html", {"error": exc}, status=exc.status)
    school = request.GET.get("school", "")
    return render(request, "changes/left_behind_detail.html", {
        "campaign": campaign,
        "progress": left_behind.left_behind_progress(request.user, campaign),
        "pupils": left_behind.left_behind_unconfirmed(request.user, campaign, school_code=school)[:500],
        "membership": membership_of(request.user),
    })


@login_required
@require_POST
def left_behind_confirm(request, campaign_id: int):
    try:
        count = left_behind.left_behind_confirm(user=request.user, campaign_id=campaign_id,
                                                national_numbers=request.POST.getlist("pupil"))
    except RegistryError as exc:
        messages.error(request, exc.as_html())
    else:
        messages.success(request, _("已确认%(n)s名学生") % {"n": count})
    return redirect("changes:left_behind_detail", campaign_id)
