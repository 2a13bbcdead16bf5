"""The one chain engine (审批流程): every approval chain of the registry is a table here.

A chain (transfer, status change, graduation list …) is a model with a ``state`` and a
``Chain`` describing it: one ``Step`` per state that waits for someone — the acting party
(a unit resolved from the chain's row, or the person who opened it), the roles that act
there, the actions possible there with their target state, whether an action needs a
reason and whether the two-person rule (谁批准、谁负责: never the one who filed it)
applies, and which timestamp records that the party has seen the chain from that step on.
``Standing`` actions (cancel, withdraw) are open at every open state to one party.
A chain opts into 退回修改 (send back for correction) with a ``SendBack``: the standard
action ``send_back`` (reason required, two-person rule) at the listed steps returns the row
to the initiator's state, where the initiator corrects it and submits it again; the
approval then runs from its first step, so the two-person rule holds as before.

The engine does the rest, the same way for every chain:

- ``start``: the log row of the filing, the pupil's open business (在办业务) and the first
  work item (待办) with its working-day deadline (``start_many``: the same for many rows
  created in bulk, e.g. the registrations of a roster import);
- ``move``: lock the row, check party, role, state, two-person rule and reason (in that
  order: each refusal has its code), let the chain check its own rules, change the
  state, write the log row (``ChainEvent``), close the step's work item and open the next
  one, end the open business when the chain closes, then let the chain apply its effect;
- ``actions_for``: what a user may do now (for buttons; ``move`` decides again);
- ``waiting_for``: which chains wait for the user's unit, as a query;
- ``current_steps``: where each open chain waits (state, acting unit, the deadline of its
  待办 item), for the API.
- ``start_by_system`` / ``move_by_system``: the same without a local user, for a row
  started or moved because a peer registry's message arrived (the log names the remote
  actor and unit) or the system closed it; a party whose unit is ``None`` on a row is
  another registry's (a step done there: no 待办 here).

Error codes (the old codes of the same events stay in ``aliases`` for one release):
``not_a_party`` 403, ``role_forbidden`` 403, ``two_person_rule`` 403, ``step_not_reached``
409, ``state_conflict`` 409, ``reason_required`` 422, and the standing action's own code.
``send_back`` refuses without a reason (``reason_required`` 422) like any other action.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.audit import acting_as
from accounts.models import Membership, Unit
from accounts.permissions import membership_of, require_membership, require_writer
from accounts.scope import restrict
from kernel import bulk
from kernel.errors import Conflict, Forbidden, ValidationFailed
from provinces import calendar
from provinces.divisions import division_full_name
from schools.models import School
from workflow import business, deadlines, workitems
from workflow.models import ChainEvent, OpenBusiness, WorkItem

Role = Membership.Role

#: An action's target: the next state of the chain's plan (after the last step, ``Chain.done``).
NEXT = "<next>"
#: The longest reason (理由) a move keeps: the log's column.
MAX_REASON = 500
#: The party of a step that only the person who opened the chain acts on (a draft).
INITIATOR = "initiator"


#: The standard action 退回修改 and the initiator's resubmission after it.
SEND_BACK = "send_back"
RESUBMIT = "resubmit"

#: Every chain of the registry by its model, filled as each app defines its chain.
_CHAINS: dict[type[models.Model], Chain] = {}


@dataclass(frozen=True)
class Action:
    name: str
    label: Any
    target: str = NEXT
    reason_required: bool = False
    #: The two-person rule: the person who opened the chain may not take this action.
    two_person: bool = True


@dataclass(frozen=True)
class Step:
    """A state that waits for one party."""

    state: str
    party: str
    roles: tuple[str, ...]
    actions: tuple[Action, ...]
    #: A timestamp field set when the chain first reaches this step: its party (and the
    #: units above it) see the chain from then on.
    reveals: str = ""

    def action(self, name: str) -> Action | None:
        return next((a for a in self.actions if a.name == name), None)


@dataclass(frozen=True)
class Standing:
    """An action open at every open state to one party (the initiator, or a unit)."""

    action: Action
    party: str
    roles: tuple[str, ...]
    #: The refusal for anyone else: (code, message).
    refusal: tuple[str, Any]


@dataclass(frozen=True)
class SendBack:
    """退回修改: at the steps ``at`` an approver sends the row back to ``to``, the state where
    the initiator corrects it. When ``to`` is not a step of the chain (the chain has no draft
    the initiator holds), the engine adds it: the initiator's step with one action,
    ``resubmit``, to ``resubmit_to``."""

    to: str
    at: tuple[str, ...]
    resubmit_to: str = ""
    roles: tuple[str, ...] = (Role.OPERATOR, Role.APPROVER, Role.ADMIN)


def send_back_action() -> Action:
    return Action(SEND_BACK, _("退回修改"), target="", reason_required=True)


@dataclass(frozen=True)
class Party:
    """How a party is found on a chain's row (``unit``) and how rows waiting for a unit are
    selected (``match``: a ``Q`` for that unit, ``None`` when the unit cannot be this party)."""

    unit: Callable[[models.Model], Unit]
    match: Callable[[Unit], Q | None]


def school_party(field_name: str, county_field: str) -> Party:
    """The school in ``field_name`` (a foreign key; its county code in ``county_field``) acts."""
    return Party(
        unit=lambda row: Unit(school_id=getattr(row, f"{field_name}_id"), scope_code=getattr(row, county_field)),
        match=lambda unit: Q(**{f"{field_name}_id": unit.school_id}) if unit.school_id else None,
    )


def county_party(code_field: str) -> Party:
    """The county-level bureau of the county code in ``code_field`` acts."""
    return Party(
        unit=lambda row: Unit(division_code=getattr(row, code_field)),
        match=lambda unit: Q(**{code_field: unit.division_code}) if unit.is_county else None,
    )


def province_party(code_field: str) -> Party:
    """The province of the county code in ``code_field`` acts."""
    return Party(
        unit=lambda row: Unit(division_code=getattr(row, code_field)[:2]),
        match=lambda unit: Q(**{f"{code_field}__startswith": unit.division_code}) if unit.is_province else None,
    )


@dataclass
class Chain:
    """One approval chain: its table and the few things only it knows."""

    #: The 待办 kind of its work items and, when ``pupil_business``, the 在办业务 kind.
    kind: str
    label: Any
    model: type[models.Model]
    states: type[models.TextChoices]
    first: str
    done: str
    steps: tuple[Step, ...]
    parties: dict[str, Party]
    standing: tuple[Standing, ...] = ()
    #: Whether the chain holds its pupil's open business while it is open.
    pupil_business: bool = True
    #: Whether that business is claimed only when the first state is left (a draft does not
    #: block the pupil's own school; submitting it claims the pupil, or is refused).
    business_at_submit: bool = False
    initiator_field: str = "initiator"
    submitted_field: str = "submitted_at"
    closed_field: str = "closed_at"
    #: Hooks: the chain's own rules and effects (see ``Hooks``).
    hooks: Hooks = field(default_factory=lambda: Hooks())
    #: 退回修改 at some steps (``SendBack``), or none.
    send_back: SendBack | None = None

    def __post_init__(self) -> None:
        if self.send_back is not None:
            back = self.send_back
            action = dataclasses.replace(send_back_action(), target=back.to)
            steps = [dataclasses.replace(s, actions=(*s.actions, action)) if s.state in back.at else s
                     for s in self.steps]
            if not any(s.state == back.to for s in steps):
                steps.append(Step(back.to, INITIATOR, back.roles, (
                    Action(RESUBMIT, _("修改后重新提交"), target=back.resubmit_to, two_person=False),)))
            self.steps = tuple(steps)
        _CHAINS[self.model] = self

    @property
    def open_states(self) -> tuple[str, ...]:
        return tuple(s.state for s in self.steps)

    def step(self, state: str) -> Step | None:
        return next((s for s in self.steps if s.state == state), None)

    def is_open(self, row) -> bool:
        return row.state in self.open_states

    def initiator_id(self, row) -> int:
        return getattr(row, f"{self.initiator_field}_id")

    def plan(self, row) -> list[str]:
        """The states this row passes through, from ``first`` to the last step (a row sent
        back to a state outside the plan passes through that state first)."""
        plan = self.hooks.plan(self, row)
        if self.send_back is not None and row.state == self.send_back.to and row.state not in plan:
            plan = [row.state, *plan]
        return plan

    def units_of(self, row, party: str) -> Unit | None:
        return None if party == INITIATOR else self.parties[party].unit(row)


class Hooks:
    """What a chain adds to the engine. Every method may be left as it is."""

    def plan(self, chain: Chain, row) -> list[str]:
        return [s.state for s in chain.steps]

    def lock(self, chain: Chain, user, pk: int):
        """The row, in the user's scope (else ``NotFound``), locked until commit."""
        raise NotImplementedError

    def check(self, chain: Chain, row, action: str, user, **options) -> None:
        """The chain's own rules for this move; raise a refusal to stop it."""

    def moving(self, chain: Chain, row, action: str, source: str, target: str, user, reason: str) -> list[str]:
        """Set the chain's own fields for the move; return their names (saved with the state)."""
        return []

    def moved(self, chain: Chain, row, action: str, source: str, target: str, user, reason: str) -> None:
        """The effect of the move, in the same transaction (the pupil moves, the change applies),
        before the row is saved in its new state; save any other field of the row here."""

    def kind(self, chain: Chain, row) -> str:
        """The 待办 kind (and 在办业务 kind) of this row."""
        return chain.kind

    def title(self, chain: Chain, row) -> str:
        return str(row)

    def url(self, chain: Chain, row) -> str:
        return ""

    def pupil(self, chain: Chain, row):
        return row.pupil

    def home(self, chain: Chain, row) -> tuple[str, Any]:
        """(county code, school) recorded on the chain's log rows."""
        return row.county_code, row.school

    def reached(self, chain: Chain, row, step: Step) -> None:
        """The chain arrived at ``step`` (after the commit: e.g. a notification)."""

    def expires_on(self, chain: Chain, row) -> dt.date | None:
        """The last day a row waiting for its initiator (a draft, a row sent back) may be
        submitted before the system closes it, or ``None`` when it never expires."""
        return None

    def visible(self, chain: Chain, user) -> models.QuerySet:
        """The chain's rows the user may open (a chain that shows itself to a party only once
        it reaches that party narrows this)."""
        return restrict(chain.model.objects.all(), user)


# --- refusals --------------------------------------------------------------------------


def state_conflict(chain: Chain, row) -> Conflict:
    label = chain.states(row.state).label
    return Conflict(
        _("该%(chain)s当前状态为“%(state)s”，不能再办理此操作（可能已被他人办理），请刷新页面")
        % {"chain": chain.label, "state": label},
        code="state_conflict",
        details={"state": row.state, "state_label": str(label)},
        aliases=("state_changed",),
    )


def _not_a_party(chain: Chain) -> Forbidden:
    return Forbidden(
        _("您的单位不是此%(chain)s的审核单位，或此环节不由您的单位办理") % {"chain": chain.label},
        code="not_a_party",
        aliases=("not_your_step",),
    )


def _role_forbidden() -> Forbidden:
    return Forbidden(_("您的角色不能办理此环节"), code="role_forbidden")


def _two_person(chain: Chain) -> Forbidden:
    return Forbidden(
        _("提交%(chain)s的人不能审核自己提交的申请（谁批准、谁负责），请由另一位审核人办理") % {"chain": chain.label},
        code="two_person_rule",
        aliases=("same_person",),
    )


def _not_reached(chain: Chain, row) -> Conflict:
    return Conflict(
        _("该%(chain)s尚未到达您的审核环节（当前：%(state)s）") % {"chain": chain.label,
                                                         "state": chain.states(row.state).label},
        code="step_not_reached",
        details={"state": row.state},
    )


# --- who may do what -------------------------------------------------------------------


def _unit_is(membership: Membership, unit: Unit | None) -> bool:
    return unit is not None and membership.unit == unit


def _is_party(chain: Chain, row, membership: Membership, user, party: str) -> bool:
    if party == INITIATOR:
        return chain.initiator_id(row) == user.pk
    return _unit_is(membership, chain.units_of(row, party))


def _allowed(chain: Chain, row, user, membership: Membership, name: str) -> tuple[Action | None, Exception | None]:
    """The action ``name`` the user may take on ``row`` now, or the refusal."""
    for standing in chain.standing:
        if standing.action.name != name:
            continue
        if not _is_party(chain, row, membership, user, standing.party):
            code, message = standing.refusal
            return None, Forbidden(message, code=code)
        if not chain.is_open(row):
            return None, state_conflict(chain, row)
        if membership.role not in standing.roles and standing.party != INITIATOR:
            return None, _role_forbidden()
        return standing.action, None
    plan = chain.plan(row)
    steps = [s for state in plan if (s := chain.step(state)) and s.action(name)]
    mine = [s.state for s in steps if _is_party(chain, row, membership, user, s.party)]
    if not mine:
        if steps and all(s.party == INITIATOR for s in steps):
            return None, Forbidden(_("只有申请人可以提交申请"), code="not_initiator")
        return None, _not_a_party(chain)
    if row.state not in mine:
        later = chain.is_open(row) and row.state in plan and any(plan.index(s) > plan.index(row.state) for s in mine)
        return None, _not_reached(chain, row) if later else state_conflict(chain, row)
    step = chain.step(row.state)
    action = step.action(name)
    if membership.role not in step.roles:
        return None, _role_forbidden()
    if action.two_person and chain.initiator_id(row) == user.pk:
        return None, _two_person(chain)
    return action, None


def actions_for(chain: Chain, user, row) -> list[str]:
    """The actions ``user`` may take on ``row`` now (for buttons; ``move`` decides again)."""
    membership = membership_of(user)
    if membership is None or not chain.is_open(row):
        return []
    names = [a.name for s in chain.steps for a in s.actions] + [s.action.name for s in chain.standing]
    return [name for name in dict.fromkeys(names) if _allowed(chain, row, user, membership, name)[0] is not None]


def require_allowed(chain: Chain, user, row, name: str) -> Action:
    """The action ``name`` the user may take on ``row`` (already locked) now, else its refusal
    raised: for a service that changes the row's own fields before it moves it (the
    initiator's correction after a 退回修改)."""
    spec, refusal = _allowed(chain, row, user, require_membership(user), name)
    if refusal is not None:
        raise refusal
    return spec


def changes_of(row, before: dict[str, Any]) -> list[tuple[str, str, str]]:
    """What a correction changed: ``(field label, old, new)`` for each field of ``before``
    (``{name: old value}``) whose value on ``row`` differs (for the log of a resubmission)."""
    changed = []
    for name, old in before.items():
        new = getattr(row, name)
        if new != old:
            label = str(row._meta.get_field(name).verbose_name)
            changed.append((label, _plain(old), _plain(new)))
    return changed


def _plain(value) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    return "—" if value in (None, "") else str(value)


def changes_text(changes: list[tuple[str, str, str]], note: str = "") -> str:
    """A resubmission's reason in the log: the initiator's note, then ``field：old → new`` of
    each change (cut to the log's column)."""
    parts = [note.strip()] if note and note.strip() else []
    parts += [str(_("%(field)s：%(old)s → %(new)s") % {"field": f, "old": o, "new": n}) for f, o, n in changes]
    return "；".join(parts)[:MAX_REASON]


def returned_to(user) -> list[dict]:
    """The rows sent back (退回修改) to the user, waiting for their correction: ``{"chain",
    "row", "title", "url", "sent_back", "expires_on", "expires_soon"}`` (the day the system
    closes it, if ever, and whether that is within the reminder window), the nearest first."""
    found = []
    for chain in _CHAINS.values():
        if chain.send_back is None:
            continue
        rows = restrict(chain.model.objects.filter(
            **{f"{chain.initiator_field}_id": user.pk, "state": chain.send_back.to}), user)
        for row in rows.order_by("-pk")[:50]:
            if (event := sent_back(chain, row)) is None:
                continue  # a draft never submitted: in 我发起的, not sent back
            found.append({"chain": chain, "row": row, "title": chain.hooks.title(chain, row),
                          "url": chain.hooks.url(chain, row), "sent_back": event,
                          "expires_on": (expires := chain.hooks.expires_on(chain, row)),
                          "expires_soon": expires is not None and deadlines.due_soon(
                              expires, scope_code=chain.hooks.home(chain, row)[0])})
    found.sort(key=lambda entry: entry["expires_on"] or dt.date.max)
    return found


def review_fields(row, *, action: str, source: str, user, reason: str, school_review: str,
                  refusals: tuple[str, ...] = ("refuse",)) -> list[str]:
    """For a chain's ``Hooks.moving``: what a school-then-county review keeps of a move (who
    approved at which level, the reason of a refusal); the names of the fields it set."""
    if action == "approve":
        field = "school_approver" if source == school_review else "county_approver"
        setattr(row, field, user)
        return [field]
    if action in refusals:
        row.refusal_reason = reason[:MAX_REASON]
        return ["refusal_reason"]
    return []


def chain_of(model: type[models.Model]) -> Chain | None:
    """The chain whose table is ``model`` (``None`` for a work item of no chain)."""
    return _CHAINS.get(model)


def started_by(user, *, limit: int = 50) -> list[dict]:
    """我发起的: the open chains the user filed (in the user's scope), newest first, each
    with where it waits now: ``{"chain", "row", "title", "url", "current"}``."""
    rows: list[tuple[Chain, Any]] = []
    for chain in _CHAINS.values():
        found = restrict(chain.model.objects.filter(
            **{f"{chain.initiator_field}_id": user.pk, "state__in": chain.open_states}), user)
        rows += [(chain, row) for row in found.order_by("-pk")[:limit]]
    currents: dict[tuple[type, int], Current | None] = {}
    for chain in _CHAINS.values():
        mine = [row for c, row in rows if c is chain]
        for pk, current in (current_steps(chain, mine) if mine else {}).items():
            currents[(chain.model, pk)] = current
    started = [
        {"chain": chain, "row": row, "title": chain.hooks.title(chain, row), "url": chain.hooks.url(chain, row),
         "current": currents.get((chain.model, row.pk))}
        for chain, row in rows
    ]
    # The nearest deadline first; drafts (no deadline, waiting for the user) last.
    started.sort(key=lambda entry: (entry["current"] is None or entry["current"].due_on is None,
                                    entry["current"].due_on if entry["current"] and entry["current"].due_on
                                    else dt.date.max))
    return started[:limit]


def action_labels(chain: Chain) -> dict[str, Any]:
    labels = {a.name: a.label for s in chain.steps for a in s.actions}
    labels.update({s.action.name: s.action.label for s in chain.standing})
    return labels


def waiting_for(chain: Chain, user) -> Q:
    """Rows of ``chain`` waiting for the user's own unit (or, at a draft, for the user)."""
    membership = membership_of(user)
    if membership is None:
        return Q(pk__in=[])
    unit = membership.unit
    condition = Q(pk__in=[])
    for step in chain.steps:
        if step.party == INITIATOR:
            condition |= Q(state=step.state, **{f"{chain.initiator_field}_id": user.pk})
            continue
        match = chain.parties[step.party].match(unit)
        if match is not None:
            condition |= Q(state=step.state) & match
    return condition


# --- moving ----------------------------------------------------------------------------


def start(chain: Chain, row, *, user, action: str = "apply", reason: str = "") -> None:
    """A chain row was just created in its first state: log, open business, first work item."""
    _log(chain, row, user=user, action=action, source="", target=row.state, reason=reason)
    if chain.pupil_business and not chain.business_at_submit:
        business.business_begin(pupil=chain.hooks.pupil(chain, row), kind=chain.hooks.kind(chain, row), subject=row)
    _enter(chain, row, chain.step(row.state), now=timezone.now())


def start_many(chain: Chain, rows, *, user, action: str = "apply") -> None:
    """``start`` for many rows just created in bulk: the log rows, open businesses and first
    work items in one INSERT each (``kernel.bulk``; a deadline is computed once per unit and
    day)."""
    rows = list(rows)
    if not rows:
        return
    membership = membership_of(user)
    content_type = ContentType.objects.get_for_model(chain.model)
    now = timezone.now()
    today = timezone.localdate(now)
    actor = {"actor_id": user.pk, "actor_name": user.get_full_name() or user.get_username(),
             "unit_code": membership.unit_code if membership else "",
             "unit_name": str(membership.unit_name) if membership else "",
             "role": membership.role if membership else ""}
    events, businesses, items, due = [], [], [], {}
    for row in rows:
        county_code, school = chain.hooks.home(chain, row)
        events.append({"content_type_id": content_type.pk, "object_id": row.pk, "action": action, "from_state": "",
                       "to_state": row.state, **actor, "county_code": county_code,
                       "school_id": school.pk if school is not None else None, "at": now})
        if chain.pupil_business:
            businesses.append({"pupil_id": chain.hooks.pupil(chain, row).pk, "kind": chain.hooks.kind(chain, row),
                               "content_type_id": content_type.pk, "object_id": row.pk, "started_at": now})
        step = chain.step(row.state)
        if step is None or step.party == INITIATOR:
            continue
        unit = chain.units_of(row, step.party)
        if unit.code not in due:
            due[unit.code] = calendar.due_date(today, province_code=unit.code)
        items.append({
            "content_type_id": content_type.pk, "object_id": row.pk, "kind": chain.hooks.kind(chain, row),
            "title": str(chain.hooks.title(chain, row))[:200], "url": chain.hooks.url(chain, row),
            "role": step.roles[0], "school_id": unit.school_id,
            "division_id": None if unit.school_id else unit.division_code, "scope_code": unit.code,
            "opened_on": today, "due_on": due[unit.code],
        })
    bulk.insert_rows(ChainEvent, events)
    try:
        with transaction.atomic():
            bulk.insert_rows(OpenBusiness, businesses)
    except IntegrityError:
        raise business.business_refusal(None) from None
    bulk.insert_rows(WorkItem, items)


def move(chain: Chain, *, user, pk: int, action: str, reason: str = "", **options):
    """One guarded transition of one chain row; returns the row as it is now."""
    require_membership(user)
    require_writer(user)  # a viewer or an auditor moves no chain
    reason = (reason or "").strip()
    with transaction.atomic(), acting_as(user, business=chain.kind):
        row = chain.hooks.lock(chain, user, pk)
        spec = require_allowed(chain, user, row, action)
        if spec.reason_required and not reason:
            raise ValidationFailed(_("请填写理由（无正当理由不得拒绝）"), code="reason_required", field="reason")
        if len(reason) > MAX_REASON:
            raise ValidationFailed(_("理由不超过%(max)s个字（现有%(n)s个字）") % {"max": MAX_REASON, "n": len(reason)},
                                   code="too_long", field="reason")
        chain.hooks.check(chain, row, action, user, **options)
        source = row.state
        target = _target(chain, row, spec)
        if chain.pupil_business and chain.business_at_submit and source == chain.first and chain.step(target) \
                and getattr(row, chain.submitted_field) is None:  # not again after a 退回修改
            business.business_begin(pupil=chain.hooks.pupil(chain, row), kind=chain.hooks.kind(chain, row),
                                    subject=row)
        now = timezone.now()
        changed = chain.hooks.moving(chain, row, action, source, target, user, reason)
        row.state = target
        changed = [*changed, "state"]
        if source == chain.first and target != source:
            setattr(row, chain.submitted_field, getattr(row, chain.submitted_field) or now)
            changed.append(chain.submitted_field)
        step = chain.step(target)
        if step is not None and step.reveals and getattr(row, step.reveals) is None:
            setattr(row, step.reveals, now)
            changed.append(step.reveals)
        if step is None:
            setattr(row, chain.closed_field, now)
            changed.append(chain.closed_field)
        if any(f.name == "updated_at" for f in chain.model._meta.concrete_fields):
            changed.append("updated_at")
        # The effect first, while the stored row still shows the state it leaves: rules the
        # effect checks again (e.g. "one extension per suspension") do not count this move.
        chain.hooks.moved(chain, row, action, source, target, user, reason)
        row.save(update_fields=list(dict.fromkeys(changed)))
        _log(chain, row, user=user, action=action, source=source, target=target, reason=reason)
        workitems.workitem_close(subject=row)
        if step is not None:
            _enter(chain, row, step, now=now)
        elif chain.pupil_business:
            business.business_end(subject=row)
    return row


def sent_back(chain: Chain, row) -> ChainEvent | None:
    """The last 退回修改 of a row now waiting for its initiator to correct it (its reason is
    what to correct), else ``None``."""
    if chain.send_back is None or row.state != chain.send_back.to:
        return None
    last = row.log.order_by("-at", "-pk").first()
    return last if last is not None and last.action == SEND_BACK else None


def close_by_system(chain: Chain, row, *, action: str, target: str, reason: str) -> None:
    """Close an open chain row without a person (a draft past its time): the same log, work
    items and open business as a person's move, the actor empty. In the caller's transaction,
    with the row locked."""
    move_by_system(chain, row, action=action, target=target, reason=reason)


def start_by_system(chain: Chain, row, *, action: str, actor_name: str, unit_code: str = "",
                    unit_name: str = "", reason: str = "") -> None:
    """``start`` without a local user: a row created because a message arrived (e.g. a peer
    registry's application). The log names the remote actor and unit as the message did;
    the first step's work item opens with its deadline on this registry's calendar."""
    _log_system(chain, row, action=action, source="", target=row.state, reason=reason,
                actor_name=actor_name, unit_code=unit_code, unit_name=unit_name)
    if chain.pupil_business and not chain.business_at_submit:
        business.business_begin(pupil=chain.hooks.pupil(chain, row), kind=chain.hooks.kind(chain, row), subject=row)
    _enter(chain, row, chain.step(row.state), now=timezone.now())


def move_by_system(chain: Chain, row, *, action: str, target: str, reason: str = "", actor_name: str = "",
                   unit_code: str = "", unit_name: str = "") -> None:
    """Move an open chain row without a local user: a draft past its time (the actor is the
    system) or a step done elsewhere (a peer registry's message: its actor and unit as the
    message named them). The same log, work items and open business as a person's move;
    no party, role or two-person check (the caller checked the message). In the caller's
    transaction, with the row locked; the caller applies any effect."""
    source = row.state
    now = timezone.now()
    row.state = target
    changed = ["state"]
    step = chain.step(target)
    if step is not None and step.reveals and getattr(row, step.reveals) is None:
        setattr(row, step.reveals, now)
        changed.append(step.reveals)
    if step is None:
        setattr(row, chain.closed_field, now)
        changed.append(chain.closed_field)
    if any(f.name == "updated_at" for f in chain.model._meta.concrete_fields):
        changed.append("updated_at")
    row.save(update_fields=changed)
    _log_system(chain, row, action=action, source=source, target=target, reason=reason,
                actor_name=actor_name or str(_("系统")), unit_code=unit_code, unit_name=unit_name)
    workitems.workitem_close(subject=row)
    if step is not None:
        _enter(chain, row, step, now=now)
    elif chain.pupil_business:
        business.business_end(subject=row)


def _log_system(chain: Chain, row, *, action: str, source: str, target: str, reason: str, actor_name: str,
                unit_code: str, unit_name: str) -> ChainEvent:
    county_code, school = chain.hooks.home(chain, row)
    return ChainEvent.objects.create(
        content_type=ContentType.objects.get_for_model(row), object_id=row.pk, action=action, from_state=source,
        to_state=target, actor=None, actor_name=str(actor_name)[:150], unit_code=str(unit_code)[:10],
        unit_name=str(unit_name)[:150], reason=str(reason)[:500], county_code=county_code, school=school,
    )


def _target(chain: Chain, row, action: Action) -> str:
    if action.target != NEXT:
        return action.target
    plan = chain.plan(row)
    index = plan.index(row.state)
    return plan[index + 1] if index + 1 < len(plan) else chain.done


def _enter(chain: Chain, row, step: Step | None, *, now) -> None:
    """The chain waits at ``step``: a work item for its party (a draft waits for its author)."""
    if step is None or step.party == INITIATOR:
        return
    unit = chain.units_of(row, step.party)
    if unit is None:  # a step another registry's party takes: no 待办 here
        return
    workitems.workitem_open(
        subject=row,
        kind=chain.hooks.kind(chain, row),
        title=chain.hooks.title(chain, row),
        url=chain.hooks.url(chain, row),
        role=step.roles[0],
        unit=unit,
        start=timezone.localdate(now),
    )
    transaction.on_commit(lambda: chain.hooks.reached(chain, row, step), robust=True)


def _log(chain: Chain, row, *, user, action: str, source: str, target: str, reason: str) -> ChainEvent:
    membership = membership_of(user)
    county_code, school = chain.hooks.home(chain, row)
    return ChainEvent.objects.create(
        content_type=ContentType.objects.get_for_model(row),
        object_id=row.pk,
        action=action,
        from_state=source,
        to_state=target,
        actor=user,
        actor_name=user.get_full_name() or user.get_username(),
        unit_code=membership.unit_code if membership else "",
        unit_name=str(membership.unit_name) if membership else "",
        role=membership.role if membership else "",
        reason=str(reason)[:500],
        county_code=county_code,
        school=school,
    )


def timeline(chain: Chain, row) -> list[ChainEvent]:
    """The log of one row (the caller read the row through the scope), with state labels."""
    events = list(row.log.all())
    for event in events:
        event.to_state_label = (
            chain.states(event.to_state).label if event.to_state in chain.states.values else event.to_state
        )
    return events


def progress(chain: Chain, row) -> list[dict]:
    """The chain as rows 已办 (done) / 当前 (current) / 未到 (pending), then its end state."""
    plan = chain.plan(row)
    is_open = chain.is_open(row)
    reached = plan.index(row.state) if row.state in plan else len(plan)
    rows = []
    for index, state in enumerate(plan):
        status = "done" if index < reached else ("current" if index == reached else "pending")
        if not is_open and index >= reached:
            status = "pending"
        rows.append({"state": state, "label": chain.states(state).label, "status": status})
    if not is_open:
        rows.append({"state": row.state, "label": chain.states(row.state).label, "status": "end"})
    return rows


@dataclass(frozen=True)
class Current:
    """Where an open chain waits: its state, the unit that acts there and the step's deadline
    (the due date of its 待办 item; a draft waiting for its author has none)."""

    state: str
    label: Any
    unit_code: str
    unit_name: str
    due_on: dt.date | None


def current_steps(chain: Chain, rows) -> dict[int, Current | None]:
    """``{pk: Current}`` for each row (``None`` for a closed one), in three queries at most:
    the open work items (their deadline), the acting schools, the drafts' authors."""
    rows = list(rows)
    waiting = [row for row in rows if chain.is_open(row)]
    items: dict[int, WorkItem] = {}
    if waiting:
        content_type = ContentType.objects.get_for_model(chain.model)
        for item in WorkItem.objects.filter(
            content_type=content_type, object_id__in=[row.pk for row in waiting], state=WorkItem.State.OPEN
        ).order_by("id"):
            items[item.object_id] = item
    units: dict[int, Unit | None] = {}
    authors: list[int] = []
    for row in waiting:
        party = chain.step(row.state).party
        units[row.pk] = chain.units_of(row, party)
        if party == INITIATOR:
            authors.append(chain.initiator_id(row))
    memberships = {
        m.user_id: m for m in Membership.objects.filter(user_id__in=authors).select_related("school")
    } if authors else {}
    for row in waiting:
        if units[row.pk] is None and (membership := memberships.get(chain.initiator_id(row))) is not None:
            units[row.pk] = membership.unit
    school_ids = {unit.school_id for unit in units.values() if unit is not None and unit.school_id}
    schools = {
        pk: (code, name) for pk, code, name in School.objects.filter(pk__in=school_ids).values_list("pk", "code", "name")
    } if school_ids else {}
    result: dict[int, Current | None] = {row.pk: None for row in rows}
    for row in waiting:
        unit = units[row.pk]
        code, name = _unit_label(unit, schools)
        item = items.get(row.pk)
        result[row.pk] = Current(
            state=row.state, label=chain.states(row.state).label, unit_code=code, unit_name=name,
            due_on=item.due_on if item is not None else None,
        )
    return result


def _unit_label(unit: Unit | None, schools: dict[int, tuple[str, str]]) -> tuple[str, str]:
    if unit is None:
        return "", ""
    if unit.school_id:
        return schools.get(unit.school_id, ("", ""))
    place = division_full_name(unit.division_code) or unit.division_code
    return unit.division_code, str(_("%(place)s教育行政部门") % {"place": place})


def notify(chain: Chain, row) -> int:
    """E-mail the users who act at the row's current step (those with an address)."""
    step = chain.step(row.state)
    if step is None or step.party == INITIATOR:
        return 0
    unit = chain.units_of(row, step.party)
    if unit is None:
        return 0
    users = get_user_model().objects.filter(is_active=True, membership__role__in=step.roles)
    users = users.filter(membership__school_id=unit.school_id) if unit.school_id else users.filter(
        membership__division_id=unit.division_code)
    addresses = [u.email for u in users if u.email]
    if not addresses:
        return 0
    body = str(_("请登录系统办理：%(url)s") % {"url": chain.hooks.url(chain, row)})
    return send_mail(chain.hooks.title(chain, row), body, None, addresses)


def visible_subjects(user, items) -> set[tuple[int, int]]:
    """Of work items, the (content type, object id) of the subjects the user may open."""
    by_type: dict[int, set[int]] = {}
    for item in items:
        by_type.setdefault(item.content_type_id, set()).add(item.object_id)
    visible = set()
    for type_id, ids in by_type.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        chain = chain_of(model)
        if chain is None and not getattr(model, "scope_paths", None):
            visible |= {(type_id, pk) for pk in ids}  # not a chain's row: the item's own scope decided
            continue
        rows = chain.hooks.visible(chain, user) if chain else restrict(model.objects.all(), user)
        visible |= {(type_id, pk) for pk in rows.filter(pk__in=ids).values_list("pk", flat=True)}
    return visible
