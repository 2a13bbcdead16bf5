"""How long a transfer waits for the person who filled it in: a draft not submitted, or an
application sent back (退回修改) and not resubmitted, within 10 working days of reaching
that state expires (the nightly ``transfers.services.transfer_drafts_expire``)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from provinces import calendar
from transfers.models import Transfer
from transfers.states import State

#: A draft or a sent-back application waits this many working days (the step time of the chain).
DRAFT_WORKING_DAYS = 10
#: The states that wait for the destination school itself and expire.
EXPIRING_STATES = (State.DRAFT, State.RETURNED)


def waiting_since(transfer: Transfer) -> dt.date:
    """The day the transfer reached its current state (filled in, sent back, resubmitted)."""
    last = transfer.log.order_by("-at", "-pk").first()
    return timezone.localdate(last.at if last is not None else transfer.created_at)


def expires_on(transfer: Transfer) -> dt.date:
    """The last working day a draft (or a sent-back application) can be submitted: 10 working
    days after it reached that state, on the destination province's calendar."""
    return calendar.add_working_days(waiting_since(transfer), DRAFT_WORKING_DAYS,
                                     province_code=transfer.dest_county_code)
