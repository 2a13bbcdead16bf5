"""跨省批量查重: many resident ID numbers (or no-ID children) asked of the peer registries
(``exchange``) in one signed question, ``registry.ids_held`` — by the roster import (花名册)
a batch at a time, and by the incremental province sweep (全省查重) for the records changed
since the last one (by a full sweep for every active record, when it asks), where a held one
becomes a ``PeerHolding`` (跨省在籍, a problem record), which the county's approver may also
resolve by hand with a reason.

The question is the batch question of ``registry.id_held`` (``enrolment.exchange_handlers``)
and tells no more: each held item is answered with one minimal card — province, school (name
and 学校标识码) and status — and the item's place in the question; an item not held is not
named in the answer at all. The question and its answer are one ``PeerQuery`` row on each
side, with the number of items in the question (``count``).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, model_validator

from accounts.audit import acting_as
from accounts.models import Membership
from accounts.permissions import require_county_user
from accounts.scope import get_in_scope
from exchange import protocol
from exchange import services as exchange
from kernel.errors import Conflict, Forbidden, ValidationFailed
from registry.history import record_event
from registry.models import ACTIVE_STATUSES, Pupil
from registry.validation import RESIDENT_ID

log = logging.getLogger(__name__)

Role = Membership.Role

IDS_HELD = "registry.ids_held"
#: The most items one question may carry (the roster's batch, ``rosters.columns.BATCH_SIZE``).
MAX_ITEMS = 2000


class NoIdChild(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=50)
    birth_date: dt.date
    guardian_id_numbers: list[str] = Field(min_length=1, max_length=4, description="the family's ID numbers")


class HeldItem(BaseModel):
    """One resident ID number — or one no-ID child (name, birth date, family)."""

    model_config = ConfigDict(extra="forbid")
    id_number: str = Field(default="", max_length=18, pattern=r"^(\d{17}[\dX])?$")
    no_id_child: NoIdChild | None = None

    @model_validator(mode="after")
    def _one_of(self):
        if bool(self.id_number) == (self.no_id_child is not None):
            raise ValueError("give either id_number or no_id_child")
        return self


class IdsHeldQuestion(BaseModel):
    """Which of these items are held by an active record there?"""

    model_config = ConfigDict(extra="forbid")
    count: int = Field(ge=1, le=MAX_ITEMS, description="the number of items (kept in both sides' records)")
    items: list[HeldItem] = Field(min_length=1, max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def _counted(self):
        if self.count != len(self.items):
            raise ValueError("count is not the number of items")
        return self


class HolderCard(BaseModel):
    model_config = ConfigDict(extra="forbid")
    province: str = Field(pattern=r"^\d{2}$")
    school_code: str = Field(max_length=10)
    school_name: str = Field(max_length=100)
    status: str = Field(max_length=16, description="registry.models.PupilStatus value, e.g. enrolled")
    status_label: str = Field(max_length=16)


class HeldCard(HolderCard):
    item: int = Field(ge=0, lt=MAX_ITEMS, description="the held item's index in the question's items")


class IdsHeldAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    held: bool = Field(description="whether any item is held")
    holders: list[HeldCard] = Field(default_factory=list, max_length=MAX_ITEMS,
                                    description="one card per held item, in the items' order; none for the others")


def card(pupil: Pupil) -> dict:
    """The minimal card of an active record: province, school and status, nothing else."""
    return {"province": pupil.county_code[:2], "school_code": pupil.school.code, "school_name": pupil.school.name,
            "status": pupil.status, "status_label": str(pupil.get_status_display())}


def _family(pupil: Pupil) -> frozenset[str]:
    return frozenset(g.id_number for g in pupil.guardians.all() if g.id_number)


def holders_of_items(items: list[dict]) -> dict[int, Pupil]:
    """The active record holding each item (by its index), in two queries for the lot: the
    resident ID's holder, or the no-ID child with that name and birth date whose family
    includes the given ID numbers."""
    active = Pupil.objects.filter(status__in=ACTIVE_STATUSES).select_related("school")
    ids = {item["id_number"] for item in items if item.get("id_number")}
    by_id: dict[str, Pupil] = {}
    if ids:
        for pupil in active.filter(id_number__in=ids).order_by("-pk"):
            by_id[pupil.id_number] = pupil
    children = [item["no_id_child"] for item in items if item.get("no_id_child")]
    by_child: dict[tuple, list[Pupil]] = {}
    if children:
        for pupil in active.filter(id_number="", name__in={c["name"] for c in children},
                                   birth_date__in={c["birth_date"] for c in children}).prefetch_related("guardians"):
            by_child.setdefault((pupil.name, pupil.birth_date.isoformat()), []).append(pupil)
    found: dict[int, Pupil] = {}
    for index, item in enumerate(items):
        if item.get("id_number"):
            holder = by_id.get(item["id_number"])
        else:
            child = item["no_id_child"]
            family = frozenset(child["guardian_id_numbers"])
            holder = next((p for p in by_child.get((child["name"], str(child["birth_date"])), ())
                           if family <= _family(p)), None)
        if holder is not None:
            found[index] = holder
    return found


def ids_held_answer(body: dict, envelope: dict, peer) -> dict:
    holders = holders_of_items(body["items"])
    return {"held": bool(holders), "holders": [{"item": index, **card(pupil)} for index, pupil in sorted(holders.items())]}


def register() -> None:
    protocol.register_query(IDS_HELD, schema=IdsHeldQuestion, answer=ids_held_answer, answer_schema=IdsHeldAnswer)


@dataclass
class PeersHeld:
    """What the peers said of a list of items: the first holder's card of each held item (by
    its index), and the peers that could not be asked (their names)."""

    holders: dict[int, dict] = field(default_factory=dict)
    unreachable: list[str] = field(default_factory=list)


def peers_holding_items(items: list[dict], *, user, peers) -> PeersHeld:
    """Ask each of ``peers`` (active ``exchange.models.Peer``) about ``items`` (``HeldItem``
    dicts), ``MAX_ITEMS`` to a question; each question is recorded on both sides. No peers
    or no items: nothing asked."""
    result = PeersHeld()
    if not peers or not items:
        return result
    for start in range(0, len(items), MAX_ITEMS):
        chunk = items[start : start + MAX_ITEMS]
        for answer in exchange.query_ask(user=user, type=IDS_HELD, body={"count": len(chunk), "items": chunk},
                                         peers=peers, held=lambda found: bool(found and found["held"])):
            if answer.answer is None:
                if answer.peer.name not in result.unreachable:
                    result.unreachable.append(answer.peer.name)
                continue
            for holder in answer.answer["holders"]:
                if holder["item"] < len(chunk):
                    result.holders.setdefault(start + holder["item"],
                                              {k: v for k, v in holder.items() if k != "item"})
    return result


# --- asked by the incremental sweep ---------------------------------------------------------

def sweep_ask_peers(sweep, pupil_ids) -> int:
    """Ask every active peer whether the resident IDs of these records (a partition's changed
    records of an incremental sweep, or a partition's records of a full sweep that asks —
    ``pupil_ids`` a list or a query of pks; the active ones with a resident ID) are held there, in
    questions of ``MAX_ITEMS``. A held one becomes an open ``PeerHolding`` of the record's
    county (a problem record, ``duplicates.problems``); an open one the peer no longer holds
    is resolved. A peer that does not answer changes nothing. Returns the holdings opened."""
    peers = [] if isinstance(pupil_ids, list) and not pupil_ids else list(exchange.peers_active())
    if not peers:
        return 0
    records = list(Pupil.objects.filter(pk__in=pupil_ids, status__in=ACTIVE_STATUSES, id_type=RESIDENT_ID)
                   .exclude(id_number="").order_by("pk").values_list("pk", "id_number", "county_code"))
    opened = 0
    for start in range(0, len(records), MAX_ITEMS):
        chunk = records[start : start + MAX_ITEMS]
        answers = exchange.query_ask(user=sweep.started_by, type=IDS_HELD,
                                     body={"count": len(chunk), "items": [{"id_number": n} for _pk, n, _c in chunk]},
                                     peers=peers, held=lambda found: bool(found and found["held"]))
        with transaction.atomic(), acting_as(sweep.started_by, sweep=sweep.pk):
            for answer in answers:
                if answer.answer is not None:
                    opened += _holdings_follow(answer.peer.name, chunk, answer.answer["holders"], sweep=sweep)
    if opened:
        log.info("sweep %s: %s records held in other provinces' registries", sweep.pk, opened)
    return opened


def _holdings_follow(peer_name: str, chunk: list[tuple], holders: list[dict], *, sweep) -> int:
    """One peer's answer about ``chunk`` (pk, ID number, county): open what it holds, resolve
    what it no longer holds."""
    from duplicates.models import PeerHolding

    held = {card["item"]: card for card in holders if card["item"] < len(chunk)}
    mine = PeerHolding.objects.filter(peer_name=peer_name, status=PeerHolding.Status.OPEN)
    mine.filter(pupil_id__in=[pk for i, (pk, _n, _c) in enumerate(chunk) if i not in held]).update(
        status=PeerHolding.Status.RESOLVED, resolved_at=timezone.now())
    known = set(mine.filter(pupil_id__in=[chunk[i][0] for i in held]).values_list("pupil_id", flat=True))
    new = [PeerHolding(pupil_id=chunk[i][0], county_code=chunk[i][2], peer_name=peer_name, sweep=sweep,
                       card={k: v for k, v in card.items() if k != "item"})
           for i, card in sorted(held.items()) if chunk[i][0] not in known]
    PeerHolding.objects.bulk_create(new)
    return len(new)


# --- resolved by the county ----------------------------------------------------------------

#: The longest reason a county gives for resolving a 跨省在籍 by hand.
REASON_MAX = 200


def require_holding_resolver(user) -> None:
    """Who resolves a 跨省在籍 by hand: the approver of a county (which pupils: its scope)."""
    require_county_user(user, Role.APPROVER, message=_("跨省在籍由学生所在区县的学籍主管领导处理"))


def can_resolve_holdings(user) -> bool:
    try:
        require_holding_resolver(user)
    except Forbidden:
        return False
    return True


def peer_holding_resolve(*, user, holding_id: int, reason: str):
    """已处理: the approver of the pupil's county resolves an open 跨省在籍 with a reason (e.g.
    经核实非同一学生, 已办理跨省转学, 外省已注销) — a single decision, recorded in place with who
    and when and written in the pupil's history; the pupil is no longer a problem record for it.
    Out of the user's scope: not found, as any object."""
    from duplicates.models import PeerHolding

    require_holding_resolver(user)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写处理理由（跨省在籍）"), code="reason_required", field="reason")
    if len(reason) > REASON_MAX:
        raise ValidationFailed(_("处理理由不能超过%(n)s个字（跨省在籍）") % {"n": REASON_MAX}, code="reason_too_long",
                               field="reason")
    with transaction.atomic(), acting_as(user):
        found = get_in_scope(PeerHolding.objects.all(), user, pk=holding_id)
        holding = PeerHolding.objects.select_for_update().select_related("pupil__school").get(pk=found.pk)
        if holding.status != PeerHolding.Status.OPEN:
            raise Conflict(_("该跨省在籍已处理，不能再次处理"), code="holding_not_open")
        holding.status = PeerHolding.Status.RESOLVED
        holding.resolved_at = timezone.now()
        holding.resolved_by = user
        holding.resolution_reason = reason
        holding.save(update_fields=["status", "resolved_at", "resolved_by", "resolution_reason"])
        record_event(holding.pupil, kind="peer_holding_resolved", user=user,
                     data={"holding": holding.pk, "peer": holding.peer_name},
                     summary=_("跨省在籍（%(peer)s）已处理，理由：%(reason)s") % {"peer": holding.peer_name,
                                                                           "reason": reason})
    log.info("peer holding %s resolved by %s", holding.pk, user)
    return holding
