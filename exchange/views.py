"""The page of the province's exchange (省际交换): outbox by state with retry, inbox,
refused incoming messages, questions asked and answered."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from exchange import selectors, services
from exchange.models import OutboxMessage
from kernel.errors import RegistryError


@login_required
@require_GET
def exchange_page(request):
    state = request.GET.get("state", "")
    try:
        context = selectors.exchange_overview(request.user, state=state)
    except RegistryError as exc:
        return render(request, "registry/error.html", {"error": exc}, status=exc.status)
    states = [(value, label, context["counts"][value]) for value, label in OutboxMessage.State.choices]
    return render(request, "exchange/messages.html", {**context, "state": state, "states": states})


@login_required
@require_POST
def message_retry(request, message_id: int):
    try:
        services.message_retry(user=request.user, message_id=message_id)
    except RegistryError as exc:
        messages.error(request, exc.as_html())
    else:
        messages.success(request, _("消息已重新排队发送"))
    return redirect("exchange:messages")


@login_required
@require_POST
def peer_echo(request, peer_id: int):
    try:
        answer = services.peer_echo(user=request.user, peer_id=peer_id)
    except RegistryError as exc:
        messages.error(request, exc.as_html())
    else:
        if answer.answer is not None:
            messages.success(request, _("与%(peer)s学籍系统连接正常") % {"peer": answer.peer.name})
        else:
            messages.error(request, _("无法连接%(peer)s学籍系统：%(error)s") % {"peer": answer.peer.name,
                                                                          "error": answer.error})
    return redirect("exchange:messages")
