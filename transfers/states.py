"""The transfer chain as a state machine: states, parties, and the one transition table.

A transfer starts as ``draft`` (the destination operator filled it in). ``submit`` (the
destination approver, a different person) moves it to the first approval step; each
``approve`` moves it to the next step of its ``steps`` list, the last one to ``completed``.
``refuse`` (any step's approver, with a reason) and ``cancel`` (the destination school,
while open) end it. ``steps`` is computed once at submit: the national chain
(dest_county → origin_school → origin_county), plus a province step after a county when
that county's province asks for one on cross-province chains (省级政策).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    DRAFT = "draft", _("待学校审核")
    DEST_COUNTY = "dest_county", _("待转入区县审核")
    DEST_PROVINCE = "dest_province", _("待转入省审核")
    ORIGIN_SCHOOL = "origin_school", _("待转出学校审核")
    ORIGIN_COUNTY = "origin_county", _("待转出区县审核")
    ORIGIN_PROVINCE = "origin_province", _("待转出省审核")
    COMPLETED = "completed", _("已完成")
    REFUSED = "refused", _("已拒绝")
    CANCELLED = "cancelled", _("已撤销")


#: Approval steps: a transfer in one of these states waits for that step's party.
STEP_STATES = (
    State.DEST_COUNTY,
    State.DEST_PROVINCE,
    State.ORIGIN_SCHOOL,
    State.ORIGIN_COUNTY,
    State.ORIGIN_PROVINCE,
)
OPEN_STATES = (State.DRAFT, *STEP_STATES)
CLOSED_STATES = (State.COMPLETED, State.REFUSED, State.CANCELLED)

#: The national chain after submit (DESIGN.md section 4); province steps are inserted by policy.
NATIONAL_STEPS = (State.DEST_COUNTY, State.ORIGIN_SCHOOL, State.ORIGIN_COUNTY)

#: Who acts at each open state: ("school" | "county" | "province", "dest" | "origin").
PARTY = {
    State.DRAFT: ("school", "dest"),
    State.DEST_COUNTY: ("county", "dest"),
    State.DEST_PROVINCE: ("province", "dest"),
    State.ORIGIN_SCHOOL: ("school", "origin"),
    State.ORIGIN_COUNTY: ("county", "origin"),
    State.ORIGIN_PROVINCE: ("province", "origin"),
}

NEXT_STEP = "<next step>"
FIRST_STEP = "<first step>"


@dataclass(frozen=True)
class Transition:
    sources: tuple[str, ...]
    target: str
    needs_reason: bool = False


#: The only moves a transfer can make.
TRANSITIONS: dict[str, Transition] = {
    "submit": Transition(sources=(State.DRAFT,), target=FIRST_STEP),
    "approve": Transition(sources=STEP_STATES, target=NEXT_STEP),
    "refuse": Transition(sources=STEP_STATES, target=State.REFUSED, needs_reason=True),
    "cancel": Transition(sources=OPEN_STATES, target=State.CANCELLED),
}

ACTION_LABELS = {
    "apply": _("填写转学申请"),
    "submit": _("学校审核并上报"),
    "approve": _("审核通过"),
    "refuse": _("审核不通过"),
    "cancel": _("撤销申请"),
}


def chain_steps(*, cross_province: bool, dest_province_step: bool, origin_province_step: bool) -> list[str]:
    """The approval steps of one transfer, fixed at submit."""
    steps: list[str] = [State.DEST_COUNTY]
    if cross_province and dest_province_step:
        steps.append(State.DEST_PROVINCE)
    steps += [State.ORIGIN_SCHOOL, State.ORIGIN_COUNTY]
    if cross_province and origin_province_step:
        steps.append(State.ORIGIN_PROVINCE)
    return [str(s) for s in steps]


def target_of(action: str, state: str, steps: list[str]) -> str | None:
    """The state ``action`` leads to from ``state``, or ``None`` when the table forbids it."""
    transition = TRANSITIONS[action]
    if state not in transition.sources:
        return None
    if transition.target == FIRST_STEP:
        return steps[0]
    if transition.target == NEXT_STEP:
        index = steps.index(state)
        return steps[index + 1] if index + 1 < len(steps) else str(State.COMPLETED)
    return str(transition.target)
