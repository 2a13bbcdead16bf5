"""The states of a transfer (转学). The chain itself — who acts at each state, with which
actions — is the table in ``transfers.chain``."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    DRAFT = "draft", _("待学校审核")
    RETURNED = "returned", _("退回修改")
    DEST_COUNTY = "dest_county", _("待转入区县审核")
    DEST_PROVINCE = "dest_province", _("待转入省审核")
    ORIGIN_SCHOOL = "origin_school", _("待转出学校审核")
    ORIGIN_COUNTY = "origin_county", _("待转出区县审核")
    ORIGIN_PROVINCE = "origin_province", _("待转出省审核")
    COMPLETED = "completed", _("已完成")
    REFUSED = "refused", _("已拒绝")
    CANCELLED = "cancelled", _("已撤销")


#: Approval steps after the school's own review: a transfer here waits for that party.
STEP_STATES = (
    State.DEST_COUNTY,
    State.DEST_PROVINCE,
    State.ORIGIN_SCHOOL,
    State.ORIGIN_COUNTY,
    State.ORIGIN_PROVINCE,
)
#: 退回修改: the application waits for the person who filled it to correct and resubmit it.
OPEN_STATES = (State.RETURNED, State.DRAFT, *STEP_STATES)
CLOSED_STATES = (State.COMPLETED, State.REFUSED, State.CANCELLED)
