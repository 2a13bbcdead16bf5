"""The transfer chain (转学) in the chain engine: the national order of its steps, fixed.

=================  ===============================  =========  ==========================
state              acts                             actions    the party sees it from
=================  ===============================  =========  ==========================
returned           the person who filled it in       resubmit   (退回修改: sent back)
draft              destination school approver       submit     (its own application)
                   (not the operator who filled it)
dest_county        destination county approver       approve,   submit
                                                     refuse
dest_province      destination province (policy)     approve,   submit
                                                     refuse
origin_school      origin school approver            approve,   reaching this step
                                                     refuse
origin_county      origin county approver            approve,   reaching this step
                                                     refuse
origin_province    origin province (policy)          approve,   reaching this step
                                                     refuse
=================  ===============================  =========  ==========================

A draft does not hold the pupil's open business (在办业务): the pupil's own school may still
start a status change; submitting the draft claims the pupil (or is refused with
``open_business``). A draft not submitted, or an application sent back and not resubmitted,
within 10 working days of reaching that state expires and frees the pupil
(``transfers.expiry``, ``transfers.services.transfer_drafts_expire``).

The last approval completes the transfer (``transfers.completion``). A refusal needs a
reason (无正当理由不得拒绝) and ends the chain; the destination school may cancel while it
is open. The school and county approvers may instead send it back (退回修改, with a
reason) to the person who filled it in, who resubmits it to the school's review. The province steps are in a chain's plan only when it crosses provinces and that
province's policy asks for them; the plan is fixed at submit.
"""

from __future__ import annotations

from celery import current_app
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership
from provinces.models import ProvincePolicy
from transfers import completion, expiry, rules, selectors
from transfers.models import Transfer
from transfers.states import State
from workflow.engine import (
    Action,
    Chain,
    Hooks,
    SendBack,
    Standing,
    Step,
    county_party,
    province_party,
    school_party,
)

Role = Membership.Role
APPROVERS = (Role.APPROVER, Role.ADMIN)

SUBMIT = Action("submit", _("学校审核并上报"))
APPROVE = Action("approve", _("审核通过"))
REFUSE = Action("refuse", _("审核不通过"), target=State.REFUSED, reason_required=True)

STEPS = (
    Step(State.DRAFT, "dest_school", APPROVERS, (SUBMIT,)),
    Step(State.DEST_COUNTY, "dest_county", APPROVERS, (APPROVE, REFUSE), reveals="submitted_at"),
    Step(State.DEST_PROVINCE, "dest_province", APPROVERS, (APPROVE, REFUSE)),
    Step(State.ORIGIN_SCHOOL, "origin_school", APPROVERS, (APPROVE, REFUSE), reveals="origin_school_reached_at"),
    Step(State.ORIGIN_COUNTY, "origin_county", APPROVERS, (APPROVE, REFUSE), reveals="origin_county_reached_at"),
    Step(State.ORIGIN_PROVINCE, "origin_province", APPROVERS, (APPROVE, REFUSE)),
)

CANCEL = Standing(
    Action("cancel", _("撤销申请"), target=State.CANCELLED, two_person=False),
    party="dest_school",
    roles=(Role.OPERATOR, Role.APPROVER),
    refusal=("not_destination", _("只有转入学校可以撤销转学申请")),
)


def planned_steps(transfer: Transfer) -> list[str]:
    """The approval steps after the school's review: fixed at submit; before that, what
    submit would fix (a province step where a cross-province chain's policy asks for one)."""
    if transfer.steps:
        return list(transfer.steps)
    steps: list[str] = [State.DEST_COUNTY]
    if transfer.dest_county_code[:2] != transfer.origin_county_code[:2]:
        if ProvincePolicy.for_province(transfer.dest_county_code).transfer_cross_province_province_step:
            steps.append(State.DEST_PROVINCE)
        steps += [State.ORIGIN_SCHOOL, State.ORIGIN_COUNTY]
        if ProvincePolicy.for_province(transfer.origin_county_code).transfer_cross_province_province_step:
            steps.append(State.ORIGIN_PROVINCE)
    else:
        steps += [State.ORIGIN_SCHOOL, State.ORIGIN_COUNTY]
    return [str(s) for s in steps]


class TransferHooks(Hooks):
    def plan(self, chain, transfer):
        return [State.DRAFT, *planned_steps(transfer)]

    def lock(self, chain, user, pk):
        return selectors.transfer_get(user, pk, for_update=True)

    def visible(self, chain, user):
        return selectors.transfers_visible_to(user)  # a party sees it once it reached that party

    def check(self, chain, transfer, action, user, **options):
        if action in (SUBMIT.name, APPROVE.name) and (problem := rules.problem_refusal(transfer.pupil)) is not None:
            raise problem  # became a problem record while the chain was open: it stops here

    def moving(self, chain, transfer, action, source, target, user, reason):
        if action == "submit":
            transfer.steps = planned_steps(transfer)
            return ["steps"]
        return []

    def moved(self, chain, transfer, action, source, target, user, reason):
        if target == State.COMPLETED:
            completion.complete(transfer, user=user)

    def expires_on(self, chain, transfer):
        return expiry.expires_on(transfer) if transfer.state in expiry.EXPIRING_STATES else None

    def title(self, chain, transfer):
        return str(
            _("转学%(state)s：%(name)s（%(origin)s → %(dest)s）")
            % {"state": State(transfer.state).label, "name": transfer.pupil.name,
               "origin": transfer.origin_school.name, "dest": transfer.dest_school.name}
        )

    def url(self, chain, transfer):
        return reverse("transfers:detail", args=[transfer.pk])

    def home(self, chain, transfer):
        return transfer.dest_county_code, transfer.dest_school

    def reached(self, chain, transfer, step):
        if getattr(settings, "TRANSFER_NOTIFY_EMAIL", False):
            current_app.signature("transfers.tasks.step_notify", args=(transfer.pk,)).delay()


TRANSFER = Chain(
    kind="transfer",
    label=_("转学申请"),
    model=Transfer,
    states=State,
    first=State.DRAFT,
    done=State.COMPLETED,
    steps=STEPS,
    parties={
        "dest_school": school_party("dest_school", "dest_county_code"),
        "dest_county": county_party("dest_county_code"),
        "dest_province": province_party("dest_county_code"),
        "origin_school": school_party("origin_school", "origin_county_code"),
        "origin_county": county_party("origin_county_code"),
        "origin_province": province_party("origin_county_code"),
    },
    standing=(CANCEL,),
    # 退回修改 by the school and county approvers: back to the person who filled it in, who
    # corrects it and hands it to the school's review again.
    send_back=SendBack(to=State.RETURNED, at=(State.DRAFT, State.DEST_COUNTY, State.ORIGIN_SCHOOL,
                                              State.ORIGIN_COUNTY), resubmit_to=State.DRAFT),
    initiator_field="applied_by",
    business_at_submit=True,
    hooks=TransferHooks(),
)
