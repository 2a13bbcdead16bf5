"""Who am I (``/api/v1/me``): the caller's unit and role, for integrations to check a token."""

from __future__ import annotations

from ninja import Router, Schema

from accounts.permissions import membership_of

router = Router(tags=["auth"])


class MeOut(Schema):
    username: str
    unit_code: str | None
    unit_name: str | None
    role: str | None


@router.get("", response=MeOut)
def me(request):
    membership = membership_of(request.user)
    return MeOut(
        username=request.user.get_username(),
        unit_code=membership.unit_code if membership else None,
        unit_name=str(membership.unit_name) if membership else None,
        role=membership.role if membership else None,
    )
