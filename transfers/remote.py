"""跨省转学 across registries, the destination side: a school here looks up a pupil of a
province served by a peer registry (``transfers.exchange_handlers`` answers it there).

``transfer_lookup_remote`` is the lookup of ``transfers.lookup`` for an origin school in
another province's registry: the school's operator or approver, counted against the same
hourly allowance, the exact name (+ ID number), the minimal card back. The question is
bounded by ``EXCHANGE_QUERY_TIMEOUT``; a peer that does not answer is ``peer_unreachable``
(503). Error codes: ``origin_school_unknown`` (422), ``peer_unknown_province`` (422),
``peer_unreachable`` (503), ``lookup_throttled`` (429), ``school_only`` (403).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from exchange import services as exchange
from exchange.models import PeerQuery
from kernel import identity
from kernel.errors import BusinessRefused, RegistryError, ValidationFailed
from registry import disclosure
from transfers.exchange_handlers import LOOKUP
from transfers.lookup import _school_member, answers_last_hour


class PeerUnreachable(RegistryError):
    status = 503
    default_code = "peer_unreachable"


def remote_lookups_last_hour(user) -> int:
    since = timezone.now() - dt.timedelta(hours=1)
    return PeerQuery.objects.filter(user=user, type=LOOKUP, asked_at__gte=since).count()


def transfer_lookup_remote(*, user, origin_school_code: str, name: str, id_number: str = "") -> dict:
    """The cards of the pupils of the origin school (another province's registry) with this
    exact name (+ ID number): ``{"origin_school_name", "found": [card, …], "peer"}``."""
    membership = _school_member(user)
    if answers_last_hour(user) + remote_lookups_last_hour(user) >= disclosure.allowance(user):
        raise disclosure.throttle_error()
    code = (origin_school_code or "").strip()
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("请输入学生姓名"), code="name_required", field="name")
    if id_number:
        id_number = identity.validate_resident_id(id_number, today=timezone.localdate()).number
    peer = exchange.peer_for(code[:2]) if len(code) == 10 and code.isdigit() else None
    if peer is None or exchange.is_own_province(code):
        raise BusinessRefused(_("学校标识码“%(code)s”不属于已联通的外省学籍系统") % {"code": code},
                              code="peer_unknown_province", field="origin_school_code")
    school = membership.school
    [answer] = exchange.query_ask(
        user=user, type=LOOKUP, peers=[peer],
        body={"origin_school_code": code, "name": name, "id_number": id_number, "asking_school_code": school.code,
              "asking_school_name": school.name, "asker": user.get_username()},
        held=lambda found: bool(found and found["found"]),
    )
    if answer.answer is None:
        raise PeerUnreachable(_("暂时无法连接%(peer)s学籍系统，请稍后再试") % {"peer": peer.name})
    if not answer.answer["origin_school_known"]:
        raise ValidationFailed(_("%(peer)s学籍系统中未找到学校标识码为“%(code)s”的转出学校")
                               % {"peer": peer.name, "code": code}, code="origin_school_unknown",
                               field="origin_school_code")
    return {"peer": peer.name, "origin_school_name": answer.answer["origin_school_name"],
            "found": answer.answer["found"]}
