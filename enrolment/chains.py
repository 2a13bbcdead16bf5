"""The chains of enrolment in the chain engine: 升学接收 (progression) and 新生注册审核
(registration review).

=================  ==================================  ===================  ================
state              acts                                actions              then
=================  ==================================  ===================  ================
offered            receiving school operator/approver  accept               school_review
                   (an allocation list put them here)  decline (reason)     withdrawn
school_review      receiving school approver           approve              county_review
                   (not the one who accepted)          refuse (reason)      refused
county_review      receiving county approver           approve              approved
                   (not the one who allocated)         refuse (reason)      refused
=================  ==================================  ===================  ================

A progression the school started by finding the graduates itself starts at
``school_review``. The receiving school may withdraw it while it is open. The county's
approval moves every graduate onto the school (``enrolment.progression.apply``).

Registration review (the pupil is 待审核 meanwhile):

=================  ==================================  ===================  ================
state              acts                                actions              then
=================  ==================================  ===================  ================
school_review      school approver                     approve              county_review
                   (not the one who registered)        refuse (reason)      refused
county_review      county approver (only when          approve              approved
                   ``review.county_review_needed``)    refuse (reason)      refused
=================  ==================================  ===================  ================

Either approver may send it back (退回修改, with a reason): it waits, the pupil still
待审核, for the person who registered it to resubmit it to the school's review. Approved, the pupil is 在读; refused, 注册未通过 (``enrolment.review.registration_decided``).
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership
from accounts.scope import get_in_scope
from enrolment import progression, review
from enrolment.models import Progression, ProgressionState, Registration, RegistrationState
from kernel.errors import Forbidden
from workflow import engine
from workflow.engine import Action, Chain, Hooks, SendBack, Standing, Step, county_party, school_party

Role = Membership.Role
APPROVERS = (Role.APPROVER, Role.ADMIN)
SCHOOL_USERS = (Role.OPERATOR, Role.APPROVER, Role.ADMIN)
State = ProgressionState

ACCEPT = Action("accept", _("接收并提交审核"), two_person=False)
DECLINE = Action("decline", _("不接收"), target=State.WITHDRAWN, reason_required=True, two_person=False)
APPROVE = Action("approve", _("审核通过"))
REFUSE = Action("refuse", _("审核不通过"), target=State.REFUSED, reason_required=True)

STEPS = (
    Step(State.OFFERED, "school", SCHOOL_USERS, (ACCEPT, DECLINE)),
    Step(State.SCHOOL_REVIEW, "school", APPROVERS, (APPROVE, REFUSE)),
    Step(State.COUNTY_REVIEW, "county", APPROVERS, (APPROVE, REFUSE)),
)

WITHDRAW = Standing(
    Action("withdraw", _("撤回"), target=State.WITHDRAWN, two_person=False),
    party="school",
    roles=SCHOOL_USERS,
    refusal=("not_receiving_school", _("只有接收学校可以撤回升学接收")),
)


class ProgressionHooks(Hooks):
    def plan(self, chain, row):
        if row.source == Progression.Source.ALLOCATION:
            return [State.OFFERED, State.SCHOOL_REVIEW, State.COUNTY_REVIEW]
        return [State.SCHOOL_REVIEW, State.COUNTY_REVIEW]

    def lock(self, chain, user, pk):
        get_in_scope(Progression.objects.all(), user, pk=pk)
        return Progression.objects.select_for_update(of=("self",)).select_related("school", "allocation").get(pk=pk)

    def check(self, chain, row, action, user, **options):
        if action == "approve" and row.state == State.COUNTY_REVIEW and row.allocation_id \
                and row.allocation.created_by_id == user.pk:
            raise Forbidden(
                _("上传分配名单的人不能审核自己分配的升学接收（谁批准、谁负责），请由另一位审核人办理"),
                code="two_person_rule",
            )
        if action in ("accept", "approve"):
            progression.require_entries_fit(row)

    def moving(self, chain, row, action, source, target, user, reason):
        if action == "accept":
            row.accepted_by = user
            return ["accepted_by"]
        return engine.review_fields(row, action=action, source=source, user=user, reason=reason,
                                    school_review=State.SCHOOL_REVIEW, refusals=("refuse", "decline"))

    def moved(self, chain, row, action, source, target, user, reason):
        if target == State.APPROVED:
            progression.apply(row, user=user)
        if target in (State.APPROVED, State.REFUSED, State.WITHDRAWN):
            progression.release(row)

    def title(self, chain, row):
        return str(
            _("升学接收%(state)s：%(school)s %(grade)s，%(count)s名毕业生")
            % {"state": State(row.state).label, "school": row.school.name,
               "grade": progression.grade_name(row.grade), "count": row.entries.count()}
        )

    def url(self, chain, row):
        return reverse("progression_detail", args=[row.pk])

    def pupil(self, chain, row):
        return None

    def home(self, chain, row):
        return row.county_code, row.school


PROGRESSION = Chain(
    kind="progression",
    label=_("升学接收"),
    model=Progression,
    states=State,
    first=State.OFFERED,
    done=State.APPROVED,
    steps=STEPS,
    parties={"school": school_party("school", "county_code"), "county": county_party("county_code")},
    standing=(WITHDRAW,),
    pupil_business=False,  # a progression holds each of its graduates itself (progression.claim)
    initiator_field="accepted_by",
    submitted_field="submitted_at",
    closed_field="decided_at",
    hooks=ProgressionHooks(),
)


# --- registration review (新生注册审核) ------------------------------------------------

RState = RegistrationState

REGISTRATION_STEPS = (
    Step(RState.SCHOOL_REVIEW, "school", APPROVERS, (
        Action("approve", _("审核通过")),
        Action("refuse", _("审核不通过"), target=RState.REFUSED, reason_required=True),
    )),
    Step(RState.COUNTY_REVIEW, "county", APPROVERS, (
        Action("approve", _("审核通过")),
        Action("refuse", _("审核不通过"), target=RState.REFUSED, reason_required=True),
    )),
)


class RegistrationHooks(Hooks):
    def plan(self, chain, row):
        return [RState.SCHOOL_REVIEW, RState.COUNTY_REVIEW] if row.county_review else [RState.SCHOOL_REVIEW]

    def lock(self, chain, user, pk):
        get_in_scope(Registration.objects.all(), user, pk=pk)
        return Registration.objects.select_for_update(of=("self",)).select_related("school", "pupil").get(pk=pk)

    def check(self, chain, row, action, user, **options):
        if action == "approve":
            review.require_still_pending(row)

    def moving(self, chain, row, action, source, target, user, reason):
        return engine.review_fields(row, action=action, source=source, user=user, reason=reason,
                                    school_review=RState.SCHOOL_REVIEW)

    def moved(self, chain, row, action, source, target, user, reason):
        if target in (RState.APPROVED, RState.REFUSED):
            review.registration_decided(row, user=user, admitted=target == RState.APPROVED, reason=reason)

    def title(self, chain, row):
        return str(
            _("新生注册%(state)s：%(name)s（%(number)s），%(school)s")
            % {"state": RState(row.state).label, "name": row.pupil.name, "number": row.pupil.national_number,
               "school": row.school.name}
        )

    def url(self, chain, row):
        return reverse("registration_detail", args=[row.pk])

    def pupil(self, chain, row):
        return row.pupil

    def home(self, chain, row):
        return row.county_code, row.school


REGISTRATION = Chain(
    kind="registration",
    label=_("新生注册"),
    model=Registration,
    states=RState,
    first=RState.SCHOOL_REVIEW,
    done=RState.APPROVED,
    steps=REGISTRATION_STEPS,
    parties={"school": school_party("school", "county_code"), "county": county_party("county_code")},
    pupil_business=True,
    # 退回修改: back to the person who registered the pupil, who resubmits it to the school.
    send_back=SendBack(to=RState.RETURNED, at=(RState.SCHOOL_REVIEW, RState.COUNTY_REVIEW),
                       resubmit_to=RState.SCHOOL_REVIEW),
    initiator_field="initiator",
    submitted_field="submitted_at",
    closed_field="decided_at",
    hooks=RegistrationHooks(),
)
