"""跨省批量查重: many resident ID numbers (or no-ID children) asked of the peer registries
(``exchange``) in one signed question, ``registry.ids_held`` — by the roster import (花名册)
a batch at a time, and by the incremental province sweep (全省查重) for the records changed
since the last one (by a full sweep for every active record, when it asks) — by resident ID,
or a record with no ID number by its family (``family_item``) — where a held one
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
from registry.models import ACTIVE_STATUSES, Guardian, Pupil
from registry.nohukou import records_of_no_id_children
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


def family_item(name: str, birth_date, family_ids) -> dict | None:
    """The question item of a child without an ID number: by name, birth date and the
    family's ID numbers (at most four, sorted); ``None`` when there is nothing to ask by (no
    birth date, or no family member with an ID number). Asked by the entry check, the roster
    and the sweeps alike."""
    numbers = sorted({number for number in family_ids if number})[:4]
    if not numbers or birth_date is None:
        return None
    return {"no_id_child": {"name": name, "birth_date": birth_date.isoformat(), "guardian_id_numbers": numbers}}


def holders_of_items(items: list[dict]) -> dict[int, Pupil]:
    """The active record holding each item (by its index), in two queries for the lot: the
    resident ID's holder, or the no-ID child's record by the one rule of
    ``registry.nohukou.records_of_no_id_children``."""
    ids = {item["id_number"] for item in items if item.get("id_number")}
    by_id: dict[str, Pupil] = {}
    if ids:
        active = Pupil.objects.filter(status__in=ACTIVE_STATUSES).select_related("school")
        for pupil in active.filter(id_number__in=ids).order_by("-pk"):
            by_id[pupil.id_number] = pupil
    children = [(index, item["no_id_child"]) for index, item in enumerate(items) if item.get("no_id_child")]
    records = records_of_no_id_children([(child["name"], dt.date.fromisoformat(str(child["birth_date"])),
                                          frozenset(child["guardian_id_numbers"])) for _index, child in children])
    found: dict[int, Pupil] = {index: by_id[item["id_number"]] for index, item in enumerate(items)
                               if item.get("id_number") in by_id}
    found.update({index: held[0] for (index, _child), held in zip(children, records) if held})
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
    """Ask every active peer whether these records (a partition's changed records of an
    incremental sweep, or a partition's records of a full sweep that asks — ``pupil_ids`` a
    list or a query of pks) are held there, in questions of ``MAX_ITEMS``: the active ones
    with a resident ID by their ID, the active ones with no ID number (无户籍) by their family
    (``family_item``; a child without a family ID number is not asked about). A held one
    becomes an open ``PeerHolding`` of the record's county (a problem record,
    ``duplicates.problems``); an open one the peer no longer holds is resolved. A peer that
    does not answer changes nothing. Returns the holdings opened."""
    peers = [] if isinstance(pupil_ids, list) and not pupil_ids else list(exchange.peers_active())
    if not peers:
        return 0
    records = sweep_items(pupil_ids)
    opened = 0
    for start in range(0, len(records), MAX_ITEMS):
        chunk = records[start : start + MAX_ITEMS]
        answers = exchange.query_ask(user=sweep.started_by, type=IDS_HELD,
                                     body={"count": len(chunk), "items": [item for _pk, _c, item in chunk]},
                                     peers=peers, held=lambda found: bool(found and found["held"]))
        with transaction.atomic(), acting_as(sweep.started_by, sweep=sweep.pk):
            for answer in answers:
                if answer.answer is not None:
                    opened += _holdings_follow(answer.peer.name, chunk, answer.answer["holders"], sweep=sweep)
    if opened:
        log.info("sweep %s: %s records held in other provinces' registries", sweep.pk, opened)
    return opened


def sweep_items(pupil_ids) -> list[tuple[int, str, dict]]:
    """(pk, county, question item) of each active record of ``pupil_ids`` the sweep asks
    about, in pk order: a resident ID by its number, a record with no ID number by its family
    (two queries: the records, their family members' ID numbers)."""
    active = Pupil.objects.filter(pk__in=pupil_ids, status__in=ACTIVE_STATUSES)
    with_id = (active.filter(id_type=RESIDENT_ID).exclude(id_number="")
               .values_list("pk", "county_code", "id_number"))
    no_id = list(active.filter(id_number="").values_list("pk", "county_code", "name", "birth_date"))
    families: dict[int, set[str]] = {}
    if no_id:
        for pupil_id, number in (Guardian.objects.filter(pupil_id__in=[pk for pk, *_rest in no_id])
                                 .exclude(id_number="").values_list("pupil_id", "id_number")):
            families.setdefault(pupil_id, set()).add(number)
    items = [(pk, county, {"id_number": number}) for pk, county, number in with_id]
    for pk, county, name, birth_date in no_id:
        item = family_item(name, birth_date, families.get(pk, ()))
        if item is not None:
            items.append((pk, county, item))
    return sorted(items, key=lambda record: record[0])


def _holdings_follow(peer_name: str, chunk: list[tuple], holders: list[dict], *, sweep) -> int:
    """One peer's answer about ``chunk`` (pk, county, item): open what it holds, resolve what
    it no longer holds."""
    from duplicates.models import PeerHolding

    held = {card["item"]: card for card in holders if card["item"] < len(chunk)}
    mine = PeerHolding.objects.filter(peer_name=peer_name, status=PeerHolding.Status.OPEN)
    mine.filter(pupil_id__in=[pk for i, (pk, _c, _item) in enumerate(chunk) if i not in held]).update(
        status=PeerHolding.Status.RESOLVED, resolved_at=timezone.now())
    known = set(mine.filter(pupil_id__in=[chunk[i][0] for i in held]).values_list("pupil_id", flat=True))
    new = [PeerHolding(pupil_id=chunk[i][0], county_code=chunk[i][1], peer_name=peer_name, sweep=sweep,
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
