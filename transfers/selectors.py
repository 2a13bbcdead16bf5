"""Reads of transfers, every one on top of ``accounts.scope.restrict``.

A transfer is visible to its four parties (and the divisions above them), each only once
the chain has reached that party's step (the ``reveals`` column of ``transfers.chain``):

- destination school: always (it wrote the application);
- destination county (and city/province above it): from submit;
- origin school: from the destination county's approval;
- origin county (and above): from the origin school's approval.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.scope import Scope, get_in_scope, restrict, scope_of
from registry.models import Guardian, Pupil, PupilStatus
from registry.nohukou import NOT_HMT, PARENT_RELATIONS, RESIDENT_ID
from schools.models import School
from transfers.models import Transfer, TransferAttachment, TransferSnapshot


def _reached(scope: Scope) -> Q:
    dest = scope.q("dest_county_code", "dest_school")
    origin = scope.q("origin_county_code", "origin_school")
    if scope.is_school:
        return dest | (origin & Q(origin_school_reached_at__isnull=False))
    return (dest & Q(submitted_at__isnull=False)) | (origin & Q(origin_county_reached_at__isnull=False))


def transfers_visible_to(user) -> QuerySet[Transfer]:
    scope = scope_of(user)
    if scope is None:
        return Transfer.objects.none()
    return restrict(Transfer.objects.all(), user).filter(_reached(scope))


def transfer_get(user, transfer_id: int, *, for_update: bool = False) -> Transfer:
    """One visible transfer or ``NotFound``; ``for_update`` locks its row until commit."""
    transfers = transfers_visible_to(user)
    if for_update:
        # The step services need the pupil and both schools; fewer joins, faster to plan.
        transfers = transfers.select_for_update(of=("self",)).select_related("pupil", "origin_school", "dest_school")
    else:
        transfers = transfers.select_related("pupil", "origin_school__county", "dest_school__county")
    return get_in_scope(transfers, user, pk=transfer_id)


def transfer_attachments(transfer: Transfer) -> QuerySet[TransferAttachment]:
    return transfer.attachments.all()


def attachment_get(user, transfer_id: int, attachment_id: int) -> TransferAttachment:
    transfer = transfer_get(user, transfer_id)
    return get_in_scope(TransferAttachment.objects.filter(transfer=transfer), user, pk=attachment_id)


def snapshot_get(user, transfer_id: int) -> TransferSnapshot:
    """The origin's read-only copy: the origin school and the divisions above it only."""
    transfer = transfer_get(user, transfer_id)
    return get_in_scope(TransferSnapshot.objects.select_related("transfer"), user, transfer=transfer)


def snapshot_visible(user, transfer: Transfer) -> bool:
    return restrict(TransferSnapshot.objects.filter(transfer=transfer), user).exists()


def origin_school_search(keyword: str, *, limit: int = 20) -> list[School]:
    """Schools whose name contains ``keyword`` (the national system's 选择学校 dialog).

    The school directory is public within the registry (no pupil data), so it is not scoped.
    """
    keyword = keyword.strip()
    if not keyword:
        return []
    return list(
        School.objects.select_related("county__parent").filter(name__contains=keyword).order_by("name")[:limit]
    )


def origin_pupils(origin: School) -> QuerySet[Pupil]:
    """Pupils of the chosen origin school that a destination school's lookup may match.

    The one sanctioned read of another school's pupils (docs/design.md, tenancy), unscoped on
    purpose: only ``transfers.lookup.transfer_lookup`` calls it, matches exactly and
    returns the minimal card, and every call is recorded (``TransferLookup``).
    """
    return Pupil.objects.select_related("school_class").filter(school=origin).exclude(status=PupilStatus.DELETED)


def no_id_pupils_of_parent(origin: School, parent_id_number: str) -> QuerySet[Pupil]:
    """Pupils without a resident ID (无户籍) of ``origin`` whose parent (51–54) or guardian
    has this resident ID number — the national transfer lookup by parent (按父母身份证号查找).

    Pupils with a resident ID number are never found this way, nor 港澳台侨外 pupils; one
    query on the indexed ``Guardian.id_number``.
    """
    families = Guardian.objects.filter(id_number=parent_id_number).filter(
        Q(relation__in=PARENT_RELATIONS) | Q(is_guardian=True)
    )
    return (
        origin_pupils(origin)
        .filter(pk__in=families.values("pupil_id"))
        .filter(Q(id_number="") | ~Q(id_type=RESIDENT_ID))
        .filter(hmt__in=("", NOT_HMT))
    )
