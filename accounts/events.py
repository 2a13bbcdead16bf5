"""账号操作记录: writes an ``AccountEvent`` for a login or an account change, with the actor.

The one writer of account events; services call ``account_event_record`` in the transaction
of the change, the login signals (``accounts.login``) call it for logins.
"""

from __future__ import annotations

from accounts.models import AccountEvent


def _unit_of(user) -> tuple[int | None, str]:
    membership = getattr(user, "membership", None) if user is not None else None
    if membership is None:
        return None, ""
    return membership.school_id, membership.scope_code


def account_event_record(action: str, *, user=None, username: str = "", actor=None, ip_address: str | None = None,
                         **details) -> AccountEvent:
    """Record ``action`` on ``user``'s account (or on ``username`` when no such user exists)."""
    school_id, division_code = _unit_of(user)
    actor_membership = getattr(actor, "membership", None) if actor is not None and actor.is_authenticated else None
    return AccountEvent.objects.create(
        action=action,
        user=user,
        username=(user.get_username() if user is not None else username)[:150],
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_username=actor.get_username() if actor is not None and actor.is_authenticated else "",
        actor_unit=actor_membership.unit_code if actor_membership else "",
        school_id=school_id,
        division_code=division_code,
        ip_address=ip_address or None,
        details={k: str(v) for k, v in details.items()},
    )
