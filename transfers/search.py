"""The transfer lists (转学列表): filters, the transfers waiting for the user's own unit
(the chain engine's query on the transfer table), and the closed cross-province transfers
across registries (已办结的跨省转学)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.scope import restrict
from kernel.errors import ValidationFailed
from transfers.chain import TRANSFER
from transfers.models import CrossTransfer, Transfer
from transfers.selectors import transfers_visible_to
from transfers.states import CLOSED_STATES
from workflow import engine


@dataclass
class TransferFilter:
    at_my_step: bool = False
    state: str = ""
    school: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    q: str = ""


def transfer_search(user, filters: TransferFilter) -> QuerySet[Transfer]:
    transfers = transfers_visible_to(user).select_related(
        "pupil", "origin_school__county", "dest_school__county"
    )
    if filters.at_my_step:
        transfers = transfers.filter(engine.waiting_for(TRANSFER, user))
    if filters.state:
        transfers = transfers.filter(state=filters.state)
    if filters.school:
        code = filters.school.strip()
        transfers = transfers.filter(Q(origin_school__code=code) | Q(dest_school__code=code))
    if filters.date_from:
        transfers = transfers.filter(created_at__date__gte=filters.date_from)
    if filters.date_to:
        transfers = transfers.filter(created_at__date__lte=filters.date_to)
    if filters.q.strip():
        transfers = transfers.filter(pupil__name__startswith=filters.q.strip())
    return transfers.order_by("-id")


def at_my_step_count(user) -> int:
    return transfers_visible_to(user).filter(engine.waiting_for(TRANSFER, user)).count()


def cross_closed_search(user, *, state: str = "") -> QuerySet[CrossTransfer]:
    """已办结的跨省转学: this registry's side of the cross-registry transfers in the user's
    scope that completed, were refused or were cancelled, newest first (by when they
    closed); ``state`` one of those three, or empty for all — any other is refused
    (``state_unknown``, 422)."""
    state = (state or "").strip()
    if state and state not in CLOSED_STATES:
        raise ValidationFailed(_("状态“%(state)s”无效，应为已完成、已拒绝或已撤销") % {"state": state[:32]},
                               code="state_unknown", field="state")
    rows = restrict(CrossTransfer.objects.all(), user).filter(state__in=[state] if state else CLOSED_STATES)
    return rows.order_by(F("closed_at").desc(nulls_last=True), "-id")


#: The states of the closed list's filter, with their labels.
CROSS_CLOSED_STATES = [(state.value, state.label) for state in CLOSED_STATES]
