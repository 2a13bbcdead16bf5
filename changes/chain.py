"""The chains of status changes (学籍异动) and graduation lists (毕业名单) in the chain engine.

Both read the same way; a county that opens a key change (a duplicate case's 变更) starts
at the county step:

=================  =========================================  ===============  ==========
state              acts                                       actions          two-person
=================  =========================================  ===============  ==========
draft              the person who opened it                   submit           —
school_review      an approver of the pupil's school          approve, refuse  yes
county_review      an approver of the school's county         approve, refuse  yes
=================  =========================================  ===============  ==========

A change request may be sent back (退回修改, with a reason) to its draft from either review;
its initiator submits it again. A refusal needs a reason and ends the chain; the person who
opened it may withdraw it while it is open. The county's approval applies it
(``changes.apply``); a 信息维护 (``record_update``, non-key fields) has no county step: the
school's approval applies it. A key change runs
the duplicate check when it reaches the county, and the county approves over likely
duplicates only when it says so; a graduation list is approved at both steps by the
province's graduation deadline.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership
from accounts.scope import get_in_scope
from changes import apply, rules
from changes.models import ChangeRequest, GraduationList, State
from duplicates import cases
from kernel.errors import BusinessRefused
from provinces.models import ProvincePolicy
from registry.models import Pupil
from workflow import engine
from workflow.engine import INITIATOR, Action, Chain, Hooks, SendBack, Standing, Step, county_party, school_party

Role = Membership.Role
SUBMITTERS = (Role.OPERATOR, Role.APPROVER)

SUBMIT = Action("submit", _("提交"), two_person=False)
APPROVE = Action("approve", _("审核通过"))
REFUSE = Action("refuse", _("审核不通过"), target=State.REFUSED, reason_required=True)

STEPS = (
    Step(State.DRAFT, INITIATOR, SUBMITTERS, (SUBMIT,)),
    Step(State.SCHOOL_REVIEW, "school", (Role.APPROVER,), (APPROVE, REFUSE)),
    Step(State.COUNTY_REVIEW, "county", (Role.APPROVER,), (APPROVE, REFUSE)),
)

WITHDRAW = Standing(
    Action("withdraw", _("撤回"), target=State.WITHDRAWN, two_person=False),
    party=INITIATOR,
    roles=SUBMITTERS,
    refusal=("not_initiator", _("只有申请人可以撤回申请")),
)

PARTIES = {"school": school_party("school", "county_code"), "county": county_party("county_code")}


class ApprovalHooks(Hooks):
    """What change requests and graduation lists share."""

    def plan(self, chain, row):
        if getattr(row, "kind", None) == ChangeRequest.Kind.RECORD_UPDATE:
            return [State.DRAFT, State.SCHOOL_REVIEW]  # 信息维护: the school's approval applies it
        if row.initiator_level == "county":
            return [State.DRAFT, State.COUNTY_REVIEW]
        return [State.DRAFT, State.SCHOOL_REVIEW, State.COUNTY_REVIEW]

    def lock(self, chain, user, pk):
        get_in_scope(chain.model.objects.all(), user, pk=pk)
        return chain.model.objects.select_for_update(of=("self",)).select_related("school").get(pk=pk)

    def moving(self, chain, row, action, source, target, user, reason):
        return engine.review_fields(row, action=action, source=source, user=user, reason=reason,
                                    school_review=State.SCHOOL_REVIEW)


class ChangeRequestHooks(ApprovalHooks):
    def kind(self, chain, request):
        return request.business_kind

    def check(self, chain, request, action, user, acknowledge_duplicates: bool = False, recheck: bool = True,
              **options):
        if action == "submit" and recheck:  # a draft submitted later: the rules again, as of today
            pupil = Pupil.objects.select_for_update(of=("self",)).select_related("school").get(pk=request.pupil_id)
            rules.check(request.kind, pupil=pupil, payload=apply.recheck_payload(request), today=timezone.localdate(),
                        filed_on=request.created_at.date(), user=user)
        if action == "submit":
            apply.require_evidence(request)
        if action == "approve" and request.state == State.COUNTY_REVIEW and request.duplicate_findings \
                and not acknowledge_duplicates:
            raise BusinessRefused(
                _("变更后的信息与其他学籍疑似重复，请核对后确认再审核通过"),
                code="likely_duplicate",
                details=request.duplicate_findings,
            )

    def moved(self, chain, request, action, source, target, user, reason):
        if request.kind == ChangeRequest.Kind.KEY_CHANGE and target in (State.APPROVED, State.REFUSED, State.WITHDRAWN):
            # A duplicate case may wait on this key change (its 变更): tell it.
            cases.case_change_decided(request_id=request.pk, approved=target == State.APPROVED)
        if target == State.COUNTY_REVIEW:
            apply.run_duplicate_check(request)
            request.save(update_fields=["duplicate_findings"])
        elif target == State.APPROVED:
            apply.apply_request(request, user)
            request.save(update_fields=["applied"])

    def title(self, chain, request):
        return str(
            _("学籍异动（%(kind)s）：%(name)s，%(school)s，%(state)s")
            % {"kind": request.get_kind_display(), "name": request.pupil.name, "school": request.school.name,
               "state": request.get_state_display()}
        )

    def url(self, chain, request):
        return reverse("changes:detail", args=[request.pk])


class GraduationHooks(ApprovalHooks):
    def pupil(self, chain, graduation):
        return None

    def check(self, chain, graduation, action, user, today=None, **options):
        if action == "approve":
            refusal = rules.graduation_refusal(
                graduation.school_year, today=today or timezone.localdate(),
                policy=ProvincePolicy.for_province(graduation.county_code),
                approving=graduation.state == State.COUNTY_REVIEW,  # the approval that graduates
            )
            if refusal is not None:
                raise refusal

    def moved(self, chain, graduation, action, source, target, user, reason):
        if target == State.APPROVED:
            apply.graduate(graduation, user)

    def title(self, chain, graduation):
        return str(
            _("毕业名单：%(school)s %(year)s年，%(state)s")
            % {"school": graduation.school.name, "year": graduation.school_year,
               "state": graduation.get_state_display()}
        )

    def url(self, chain, graduation):
        return reverse("changes:graduation_detail", args=[graduation.pk])


CHANGE_REQUEST = Chain(
    kind="status_change",
    label=_("学籍异动申请"),
    model=ChangeRequest,
    states=State,
    first=State.DRAFT,
    done=State.APPROVED,
    steps=STEPS,
    parties=PARTIES,
    standing=(WITHDRAW,),
    # 退回修改: the school or county approver sends it back to its draft, the initiator's.
    send_back=SendBack(to=State.DRAFT, at=(State.SCHOOL_REVIEW, State.COUNTY_REVIEW)),
    closed_field="decided_at",
    hooks=ChangeRequestHooks(),
)

GRADUATION = Chain(
    kind="graduation",
    label=_("毕业名单"),
    model=GraduationList,
    states=State,
    first=State.DRAFT,
    done=State.APPROVED,
    steps=STEPS,
    parties=PARTIES,
    standing=(WITHDRAW,),
    pupil_business=False,
    closed_field="decided_at",
    hooks=GraduationHooks(),
)
