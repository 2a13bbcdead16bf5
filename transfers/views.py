"""Transfer pages: 转学申请 (new), list (at my step / all visible), detail with the timeline,
one POST view per action, and the party-only attachment and snapshot views."""

from __future__ import annotations

import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import membership_of
from accounts.scope import get_in_scope
from kernel.errors import RegistryError
from registry.selectors import paginate
from transfers import cross_registry, lookup, search, selectors, services
from transfers.chain import TRANSFER
from transfers.forms import ApplyForm, CorrectForm, LookupForm
from transfers.models import CrossTransfer, TransferAttachment
from transfers.states import State
from workflow import engine


def _error(request, exc: RegistryError):
    return render(request, "registry/error.html", {"error": exc}, status=exc.status)


@login_required
def transfer_list(request):
    tab = request.GET.get("tab", "mine")
    filters = search.TransferFilter(
        at_my_step=tab == "mine", state=request.GET.get("state", ""), q=request.GET.get("q", "")
    )
    page = paginate(
        search.transfer_search(request.user, filters), page=_int(request.GET.get("page")) or 1, page_size=20
    )
    return render(
        request,
        "transfers/list.html",
        {"page": page, "tab": tab, "filters": filters, "states": State.choices,
         "mine_count": search.at_my_step_count(request.user)},
    )


@login_required
def transfer_new(request):
    """转学申请: choose the origin school, look the pupil up, confirm, fill in, save. A GET
    only shows the forms (a lookup leaves a record: it is a POST, ``transfer_lookup``)."""
    refused = _not_a_school(request)
    if refused is not None:
        return refused
    context = _new_context(request)
    if request.method == "POST":
        return _apply(request, context)
    origin_code = request.GET.get("origin", "")
    if origin_code:
        context["lookup_form"] = LookupForm(initial={"origin": origin_code, **{
            key: request.GET.get(key, "") for key in ("name", "id_number", "parent_id_number")}})
        context["origin_code"] = origin_code
    return render(request, "transfers/new.html", context)


@login_required
@require_POST
def transfer_lookup(request):
    """查询转出学生 (recorded): the minimal cards of the chosen origin school's matching pupils."""
    refused = _not_a_school(request)
    if refused is not None:
        return refused
    context = _new_context(request)
    form = LookupForm(request.POST)
    context["lookup_form"] = form
    context["origin_code"] = origin_code = request.POST.get("origin", "")
    if form.is_valid():
        try:
            context["result"] = lookup.transfer_lookup(
                user=request.user,
                origin_school_code=form.cleaned_data["origin"],
                name=form.cleaned_data["name"],
                id_number=form.cleaned_data["id_number"],
                parent_id_number=form.cleaned_data["parent_id_number"],
            )
        except RegistryError as exc:
            context["error"] = exc
        else:
            context["hint"] = context["result"].hint
            context["apply_form"] = ApplyForm(initial={"origin_school_code": origin_code})
    return render(request, "transfers/new.html", context, status=context["error"].status if context["error"] else 200)


def _not_a_school(request):
    """The refusal page for a user who is not a school's (only a destination school applies)."""
    membership = membership_of(request.user)
    if membership is None or not membership.school_id:
        return _error(request, RegistryError(_("只有学校用户可以办理转学申请"), code="school_only", status=403))
    return None


def _new_context(request) -> dict:
    keyword = request.GET.get("q", "").strip()
    return {"keyword": keyword, "error": None,
            "schools": selectors.origin_school_search(keyword) if keyword else []}


def _apply(request, context: dict):
    form = ApplyForm(request.POST)
    context["apply_form"] = form
    if form.is_valid():
        try:
            transfer = services.transfer_apply(
                user=request.user, attachments=request.FILES.getlist("attachments"), **form.cleaned_data
            )
        except RegistryError as exc:
            context["error"] = exc
        else:
            messages.success(request, _("转学申请已保存，请由学校学籍主管领导审核上报"))
            return redirect("transfers:detail", pk=transfer.pk)
    return render(request, "transfers/new.html", context, status=422 if context["error"] else 200)


@login_required
def transfer_detail(request, pk: int):
    try:
        transfer = selectors.transfer_get(request.user, pk)
    except RegistryError as exc:
        return _error(request, exc)
    return render(
        request,
        "transfers/detail.html",
        {
            "transfer": transfer,
            "progress": engine.progress(TRANSFER, transfer),
            "log": engine.timeline(TRANSFER, transfer),
            "attachments": selectors.transfer_attachments(transfer),
            "actions": services.actions_for(request.user, transfer),
            "action_labels": engine.action_labels(TRANSFER),
            "sent_back": engine.sent_back(TRANSFER, transfer),
            "has_snapshot": transfer.state == State.COMPLETED
            and selectors.snapshot_visible(request.user, transfer),
        },
    )


@login_required
def transfer_correct(request, pk: int):
    """退回修改: the person who filled it in sees the reason, corrects the application and
    resubmits it (the form of the application, the rules of ``services.transfer_correct``)."""
    try:
        transfer = selectors.transfer_get(request.user, pk)
    except RegistryError as exc:
        return _error(request, exc)
    if engine.RESUBMIT not in services.actions_for(request.user, transfer):
        messages.error(request, _("只有申请人可以修改退回的申请"))
        return redirect("transfers:detail", pk=pk)
    error = None
    if request.method == "POST":
        form = CorrectForm(request.POST)
        if form.is_valid():
            try:
                services.transfer_correct(user=request.user, transfer_id=pk,
                                          attachments=request.FILES.getlist("attachments"), **form.cleaned_data)
            except RegistryError as exc:
                error = exc
            else:
                messages.success(request, _("已修改并重新提交学校审核"))
                return redirect("transfers:detail", pk=pk)
    else:
        form = CorrectForm(initial={name: getattr(transfer, name) for name in services.CORRECTABLE})
    return render(request, "transfers/correct.html", {
        "transfer": transfer, "form": form, "error": error, "sent_back": engine.sent_back(TRANSFER, transfer),
        "attachments": selectors.transfer_attachments(transfer),
    }, status=422 if error or form.errors else 200)


def _act(request, pk: int, action: str):
    reason = request.POST.get("reason", "")
    service = {
        "submit": lambda: services.transfer_submit(user=request.user, transfer_id=pk),
        "approve": lambda: services.transfer_approve(user=request.user, transfer_id=pk, reason=reason),
        "refuse": lambda: services.transfer_refuse(user=request.user, transfer_id=pk, reason=reason),
        "cancel": lambda: services.transfer_cancel(user=request.user, transfer_id=pk, reason=reason),
        engine.SEND_BACK: lambda: services.transfer_send_back(user=request.user, transfer_id=pk, reason=reason),
        engine.RESUBMIT: lambda: services.transfer_resubmit(user=request.user, transfer_id=pk, reason=reason),
    }[action]
    try:
        transfer = service()
    except RegistryError as exc:
        messages.error(request, exc.as_html())
        if exc.status == 404:
            return _error(request, exc)
    else:
        messages.success(
            request, _("%(action)s：当前状态“%(state)s”") % {"action": engine.action_labels(TRANSFER)[action],
                                                          "state": State(transfer.state).label}
        )
    return redirect("transfers:detail", pk=pk)


@login_required
@require_POST
def transfer_submit(request, pk: int):
    return _act(request, pk, "submit")


@login_required
@require_POST
def transfer_approve(request, pk: int):
    return _act(request, pk, "approve")


@login_required
@require_POST
def transfer_refuse(request, pk: int):
    return _act(request, pk, "refuse")


@login_required
@require_POST
def transfer_cancel(request, pk: int):
    return _act(request, pk, "cancel")


def attachment_response(attachment: TransferAttachment) -> FileResponse:
    """Stream a stored proof file under a neutral name with its checked content type."""
    content_type = mimetypes.types_map.get(f".{attachment.kind}", "application/octet-stream")
    response = FileResponse(
        default_storage.open(attachment.file.name, "rb"),
        content_type="image/jpeg" if attachment.kind == "jpg" else content_type,
        as_attachment=attachment.kind == "pdf",
        filename=f"transfer-{attachment.transfer_id}-{attachment.pk}.{attachment.kind}",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def attachment_download(request, pk: int, attachment_id: int):
    try:
        attachment = selectors.attachment_get(request.user, pk, attachment_id)
    except RegistryError as exc:
        return _error(request, exc)
    return attachment_response(attachment)


@login_required
def snapshot(request, pk: int):
    try:
        snap = selectors.snapshot_get(request.user, pk)
    except RegistryError as exc:
        return _error(request, exc)
    return render(request, "transfers/snapshot.html", {"snapshot": snap, "transfer": snap.transfer,
                                                       "record": snap.data})


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
@require_POST
def transfer_send_back(request, pk: int):
    return _act(request, pk, engine.SEND_BACK)


@login_required
@require_POST
def transfer_resubmit(request, pk: int):
    return _act(request, pk, engine.RESUBMIT)


@login_required
@require_GET
def remote_closed(request):
    """已办结的跨省转学: the closed cross-registry transfers in the user's scope, newest first,
    20 to a page, filtered by ``?state=`` (an unknown state is refused with 422)."""
    try:
        rows = search.cross_closed_search(request.user, state=request.GET.get("state", ""))
    except RegistryError as exc:
        return _error(request, exc)
    page = paginate(rows, page=_int(request.GET.get("page")) or 1, page_size=20)
    return render(request, "transfers/remote_closed.html", {
        "page": page, "state": request.GET.get("state", "").strip(), "states": search.CROSS_CLOSED_STATES})


@login_required
def remote_detail(request, pk: int):
    """跨省转学: this registry's side of one application, with where the whole chain stands
    (the other registry's steps as its messages reported them)."""
    try:
        row = get_in_scope(CrossTransfer.objects.all(), request.user, pk=pk)
    except RegistryError as exc:
        return _error(request, exc)
    chain = cross_registry.CROSS_TRANSFER
    return render(request, "transfers/remote_detail.html", {
        "row": row, "progress": engine.progress(chain, row), "log": engine.timeline(chain, row),
        "actions": engine.actions_for(chain, request.user, row), "action_labels": engine.action_labels(chain),
    })


@login_required
@require_POST
def remote_act(request, pk: int, action: str):
    try:
        row = cross_registry.cross_transfer_move(user=request.user, pk=pk, action=action,
                                                 reason=request.POST.get("reason", ""))
    except RegistryError as exc:
        messages.error(request, exc.as_html())
        if exc.status == 404:
            return _error(request, exc)
    else:
        messages.success(request, _("%(action)s：当前状态“%(state)s”") % {
            "action": engine.action_labels(cross_registry.CROSS_TRANSFER)[action], "state": State(row.state).label})
    return redirect("transfers:remote_detail", pk=pk)
