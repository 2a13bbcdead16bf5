"""Keep a pupil's matching keys (PupilMatchKey) current whenever the pupil is saved."""

from __future__ import annotations


def pupil_saved(sender, instance, raw=False, **kwargs) -> None:
    if raw:
        return
    from provinces.services import match_keys_refresh

    match_keys_refresh([instance.pk])
