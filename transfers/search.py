"""The transfer lists (转学列表): filters, and the transfers waiting for the user's own unit
(the chain engine's query on the transfer table)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from transfers.chain import TRANSFER
from transfers.models import Transfer
from transfers.selectors import transfers_visible_to
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
