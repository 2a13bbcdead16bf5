"""The checks a new record meets against the registry (学籍建立查重), shared by the
registration form, the API and the roster import.

The record's own rules (fields, ID number, codes, the 无户籍 family rules) are
``registry.validation.pupil_problems``; these are the rules across records, for many
records in a few queries:

- an active record already holding the resident ID (``holder``): the same child, who must
  come by transfer (转学) — or, in a roster re-import of the holder's own school, the same
  row again;
- a record of the ID that finished a stage (毕业/结业/肄业): the same child, received by 升学
  on that record (``graduate_use_progression``); a dead pupil's record of the ID: refused
  for another name (``id_number_of_deceased``), a warning for the same name (likely);
- an active record without an ID at the same school with the same name, birth date and
  family (``same_child``): a roster re-import;
- a no-hukou record of the province with the same parents, active or finished
  (``refusals``, ``registry.nohukou.registration_problems``);
- likely duplicates found by the matching engine (``likely``);
- across provinces (跨省查重, ``peers_holding``): an active record of the ID number — or of
  the no-ID child with the same name, birth date and family — in another province's
  registry (``exchange``) is refused as within one province
  (``id_number_held_in_other_province``); a peer that does not answer within
  ``EXCHANGE_QUERY_TIMEOUT`` seconds is named in a warning and entry goes on. The roster
  asks a batch at a time (``peers_holding_many``, one question per peer per batch).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from duplicates import entry
from duplicates.peers import family_item, peers_holding_items
from kernel.errors import BusinessRefused, RegistryError
from registry import disclosure, nohukou
from registry.lifelong import deceased_id_error, finished_record_error
from registry.models import ACTIVE_STATUSES, FINISHED_STATUSES, SAME_CHILD_STATUSES, Pupil, PupilStatus
from registry.records import PupilData
from registry.validation import has_resident_id
from schools.models import School


@dataclass
class RegistryCheck:
    """What the registry says about one record about to be registered."""

    holder: Pupil | None = None
    same_child: Pupil | None = None
    refusals: list[RegistryError] = field(default_factory=list)
    likely: list[dict] = field(default_factory=list)

    @property
    def existing(self) -> Pupil | None:
        return self.holder or self.same_child


def guardian_ids(guardians: Iterable) -> frozenset[str]:
    return frozenset(g.id_number for g in guardians if g.id_number)


def active_holder_of(id_number: str, *, exclude_pk: int | None = None) -> Pupil | None:
    """The active pupil holding a resident ID number, across the whole registry."""
    holders = Pupil.objects.select_related("school__county").filter(id_number=id_number, status__in=ACTIVE_STATUSES)
    if exclude_pk is not None:
        holders = holders.exclude(pk=exclude_pk)
    return holders.first()


def id_held_elsewhere_error(holder: Pupil, *, user=None, name: str = "") -> BusinessRefused:
    """The refusal of a resident ID held by an active record: it names the holder's school and
    county (so that a transfer can be started there), never its national number. Told to a
    unit outside the holder's scope, it is counted and recorded as a transfer lookup
    (``registry.disclosure``); past the user's hourly allowance the school is withheld."""
    if user is not None and disclosure.is_foreign(user, holder):
        if disclosure.throttled(user):
            return BusinessRefused(
                _("该身份证号已有在籍学生，同一学生不得重复建立学籍。查询外单位学生的次数已达每小时上限，"
                  "请稍后再试以查看其所在学校"),
                code="id_number_active_elsewhere", field="id_number", details={"throttled": True},
            )
        disclosure.record(user=user, pupil=holder, kind="id_held", name=name, id_number=holder.id_number)
    return BusinessRefused(
        _(
            "该身份证号已有在籍学生：%(school)s（%(county)s）。"
            "同一学生不得重复建立学籍，请通过转学申请将其转入本校。"
        )
        % {"school": holder.school.name, "county": holder.school.county.full_name()},
        code="id_number_active_elsewhere",
        field="id_number",
        details={"school_code": holder.school.code, "school_name": holder.school.name,
                 "county_code": holder.county_code},
    )


@dataclass
class PeerCheck:
    """What the peer registries said about one record: the holders' cards, and the peers
    that could not be asked (their names)."""

    holders: list[dict] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)


def peers_holding(data: PupilData, *, user) -> PeerCheck:
    """Ask every peer registry whether the record's resident ID (or, without an ID, the child
    by name, birth date and family) is held there; each question is recorded on both sides."""
    from enrolment import exchange_handlers
    from exchange import services as exchange

    question = peer_question(data)
    if question is None or not exchange.peers_active().exists():
        return PeerCheck()
    check = PeerCheck()
    for answer in exchange.query_ask(user=user, type=exchange_handlers.ID_HELD, body=question,
                                     held=lambda found: bool(found and found["held"])):
        if answer.answer is not None:
            check.holders.extend(answer.answer["holders"])
        else:
            check.unreachable.append(answer.peer.name)
    return check


def peer_question(data: PupilData) -> dict | None:
    """What the peers are asked of a record: its resident ID, or without an ID the child by
    name, birth date and family; ``None`` when there is nothing to ask by."""
    if has_resident_id(data):
        return {"id_number": data.id_number}
    if not data.id_number:
        return family_item(data.name, data.birth_date, guardian_ids(data.guardians))
    return None


def peers_holding_many(records: list[PupilData], *, user, peers: list) -> list[PeerCheck]:
    """``peers_holding`` for many records (a roster batch): one question to each of ``peers``
    (``exchange.services.peers_active``) for the lot, ``registry.ids_held``
    (``duplicates.peers``); one ``PeerCheck`` per record, in order. No peers: nothing asked."""
    checks = [PeerCheck() for _ in records]
    if not peers:
        return checks
    asked = [(index, question) for index, question in enumerate(map(peer_question, records)) if question is not None]
    found = peers_holding_items([question for _index, question in asked], user=user, peers=peers)
    for position, (index, _question) in enumerate(asked):
        if position in found.holders:
            checks[index].holders.append(found.holders[position])
        checks[index].unreachable = list(found.unreachable)
    return checks


def id_held_in_other_province_error(card: dict) -> BusinessRefused:
    """The refusal of an ID number (or no-ID child) held by an active record in another
    province's registry: its school and province, so that a cross-province transfer starts."""
    from provinces.divisions import division_full_name

    return BusinessRefused(
        _("该学生已在外省学籍系统有在籍学籍：%(school)s（%(province)s，%(status)s）。"
          "同一学生不得重复建立学籍，请通过跨省转学将其转入本校。")
        % {"school": card["school_name"], "province": division_full_name(card["province"]) or card["province"],
           "status": card["status_label"]},
        code="id_number_held_in_other_province", field="id_number", details={"holder": card},
    )


def peers_unreachable_warning(names: list[str]) -> str:
    return str(_("未能向外省学籍系统（%(peers)s）核对该学生是否已有学籍：对端暂时无法连接，已先行建立学籍。")
               % {"peers": "、".join(names)})


def check_against_registry(records: list[PupilData], schools: list[School], *, likely: bool = True,
                           exclude_pk: int | None = None) -> list[RegistryCheck]:
    """One ``RegistryCheck`` per record (records already valid on their own), in order.

    ``exclude_pk``: the record whose values these are (a registration corrected after 退回修改),
    never found as its own holder, same child, no-hukou record or likely duplicate.

    A record whose resident ID is held gets no further checks; a no-ID record matching an
    existing one gets its no-hukou refusals but no likely duplicates. Whether a match is a
    refusal or a re-import is the caller's rule.
    """
    checks = [RegistryCheck() for _ in records]
    ids = {data.id_number for data in records if has_resident_id(data)}
    holders: dict[str, Pupil] = {}
    earlier: dict[str, Pupil] = {}  # a finished or dead record of the ID, when none is active
    others = Pupil.objects.exclude(pk=exclude_pk) if exclude_pk is not None else Pupil.objects.all()
    if ids:
        for pupil in (
            others.filter(id_number__in=ids, status__in=SAME_CHILD_STATUSES)
            .select_related("school__county", "school_class")
            .prefetch_related("guardians")
            .order_by("-id")
        ):
            if pupil.status in ACTIVE_STATUSES:
                holders[pupil.id_number] = pupil
            elif pupil.id_number not in earlier or pupil.status in FINISHED_STATUSES:
                earlier[pupil.id_number] = pupil
    no_id = [(data, school) for data, school in zip(records, schools) if not data.id_number]
    same_child: dict[tuple, Pupil] = {}
    if no_id:
        existing = (
            others.filter(
                school_id__in={school.pk for _data, school in no_id},
                name__in={data.name for data, _school in no_id},
                birth_date__in={data.birth_date for data, _school in no_id},
                id_number="",
                status__in=ACTIVE_STATUSES,
            )
            .select_related("school_class")
            .prefetch_related("guardians")
        )
        for pupil in existing:
            same_child[(pupil.school_id, pupil.name, pupil.birth_date, guardian_ids(pupil.guardians.all()))] = pupil
    fresh: list[int] = []
    for index, (data, school) in enumerate(zip(records, schools)):
        check = checks[index]
        if has_resident_id(data):
            check.holder = holders.get(data.id_number)
        elif not data.id_number:
            check.same_child = same_child.get((school.pk, data.name, data.birth_date, guardian_ids(data.guardians)))
        if check.holder is not None:
            continue
        known = earlier.get(data.id_number) if has_resident_id(data) else None
        if known is not None and known.status in FINISHED_STATUSES:
            check.refusals = [finished_record_error(known)]
            continue
        if known is not None and known.status == PupilStatus.DECEASED and known.name != data.name:
            check.refusals = [deceased_id_error(known)]
            continue
        check.refusals = list(nohukou.registration_problems(data, exclude_pk=exclude_pk))
        if not check.refusals and check.same_child is None:
            fresh.append(index)
    if likely and fresh:
        for index, found in zip(fresh, entry.likely_duplicates_many([records[i] for i in fresh],
                                                                     exclude_pk=exclude_pk)):
            checks[index].likely = found
    return checks
