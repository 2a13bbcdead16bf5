"""Family members (家庭成员) in 信息维护: added, corrected and removed through a record update.

A record update's payload names a member's field as ``guardian<n>_<field>``, ``n`` being the
member's number (``Guardian.order``): ``guardian1_phone`` corrects the first member's phone,
``guardian3_name`` … with a number no member has adds a member, ``guardian2_remove: true``
removes the second. A pupil has at most ``MAX_MEMBERS`` family members (the collection
form's four); the first guardian (第一监护人) is not removed here — another member is made
first guardian first. The changed record passes the registration rules as a whole (the
no-hukou parent rules among them), so a removal that leaves a no-hukou pupil without the
parents it needs is refused like a registration would be.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils.translation import gettext_lazy as _

from kernel.errors import ValidationFailed
from provinces.divisions import division_full_name
from registry import codes, fields
from registry.models import Guardian
from registry.records import GuardianData
from registry.validation import members_problem

#: Family members a pupil may have (家庭成员1–4 of the collection form).
MAX_MEMBERS = fields.MAX_MEMBERS
#: What a record update may set on a member.
MEMBER_FIELDS = fields.MEMBER_FIELDS
REMOVE = "remove"
MEMBER_LABELS = {name: _(label) for name, label in fields.MEMBER_LABELS.items()}
_CODED = {"relation": "relation", "id_type": "id_type"}
_KEY = re.compile(r"guardian([1-9])_(\w+)")


def member_key(order: int, field: str) -> str:
    return f"guardian{order}_{field}"


def parse_key(key: str) -> tuple[int, str] | None:
    """``(n, field)`` of a ``guardian<n>_<field>`` key of a member field, else ``None``."""
    match = _KEY.fullmatch(key)
    if match is None or match.group(2) not in (*MEMBER_FIELDS, REMOVE) or int(match.group(1)) > MAX_MEMBERS:
        return None
    return int(match.group(1)), match.group(2)


def member_values(member: Guardian | GuardianData) -> dict[str, Any]:
    """A member's fields as a payload holds them (text, ``is_guardian`` a bool, the date ISO)."""
    division = member.hukou_division_id if isinstance(member, Guardian) else member.hukou_division_code
    values: dict[str, Any] = {f: "" if getattr(member, f) is None else str(getattr(member, f)) for f in MEMBER_FIELDS
                              if f not in ("is_guardian", "police_date", "hukou_division_code")}
    values["is_guardian"] = bool(member.is_guardian)
    values["police_date"] = member.police_date.isoformat() if member.police_date else ""
    values["hukou_division_code"] = division or ""
    return values


def _truthy(value) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true", "是", "y", "yes", "on")


def _set(member: GuardianData, field: str, value) -> None:
    if field == "is_guardian":
        member.is_guardian = _truthy(value)
    elif field == "police_date":
        text = str(value or "").strip()
        try:
            member.police_date = dt.date.fromisoformat(text) if text else None
        except ValueError:
            raise ValidationFailed(_("公安机关证明日期“%(value)s”不是有效日期") % {"value": text},
                                   code="invalid_date", field="police_date") from None
    elif field == "vital" and not str(value or "").strip():
        member.vital = Guardian.Vital.ALIVE
    else:
        setattr(member, field, "" if value is None else str(value).strip())


def grouped(payload: dict) -> dict[int, dict[str, Any]]:
    """The payload's member keys by member number: ``{3: {"name": "…", …}}``."""
    out: dict[int, dict[str, Any]] = {}
    for key, value in payload.items():
        if (parsed := parse_key(key)) is not None:
            out.setdefault(parsed[0], {})[parsed[1]] = value
    return out


def members_apply_to_record(guardians: list[Guardian], members: list[GuardianData],
                            payload: dict) -> tuple[list[GuardianData], dict[int, GuardianData | None]]:
    """The record's members after the payload (``members`` in ``guardians``' order), and the
    touched ones by number (``None`` for a removed member). Refuses an unknown member, a
    fifth member and the removal of the first guardian."""
    by_order = {g.order: (g, m) for g, m in zip(guardians, members, strict=True)}
    touched: dict[int, GuardianData | None] = {}
    added: list[GuardianData] = []
    for order, values in sorted(grouped(payload).items()):
        if order in by_order:
            guardian, member = by_order[order]
            if _truthy(values.get(REMOVE, False)):
                if guardian.is_first_guardian:
                    raise ValidationFailed(
                        _("家庭成员%(n)s（%(name)s）是第一监护人，不能删除；请先将另一位家庭成员设为第一监护人")
                        % {"n": order, "name": guardian.name},
                        code="first_guardian_removed", field=member_key(order, REMOVE),
                    )
                touched[order] = None
                continue
            for field, value in values.items():
                if field != REMOVE:
                    _set(member, field, value)
            touched[order] = member
        else:
            if _truthy(values.get(REMOVE, False)):
                raise ValidationFailed(_("该学生没有家庭成员%(n)s") % {"n": order}, code="unknown_member",
                                       field=member_key(order, REMOVE))
            member = GuardianData(name="", relation="")
            for field, value in values.items():
                if field != REMOVE:
                    _set(member, field, value)
            added.append(member)
            touched[order] = member
    kept = [m for g, m in zip(guardians, members, strict=True) if touched.get(g.order, m) is not None]
    if (problem := members_problem([*kept, *added])) is not None:
        raise problem
    return kept + added, touched


def member_changes(guardians: list[Guardian], touched: dict[int, GuardianData | None],
                   payload: dict) -> dict[str, Any]:
    """The payload entries that change something: a removal, every filled field of a new
    member, a corrected field of an existing one (after the rules normalised it)."""
    current = {g.order: member_values(g) for g in guardians}
    changed: dict[str, Any] = {}
    for order, member in touched.items():
        if member is None:
            changed[member_key(order, REMOVE)] = True
            continue
        new = member_values(member)
        old = current.get(order)
        for field, value in new.items():
            asked = member_key(order, field) in payload
            if old is None and (asked or value not in ("", False)) or old is not None and asked and value != old[field]:
                changed[member_key(order, field)] = value
    return changed


def members_write(pupil, data: dict, applied) -> None:
    """Write a record update's member entries onto the pupil's members (the pupil locked)."""
    rows = {g.order: g for g in pupil.guardians.all()}
    for order, values in sorted(grouped(data).items()):
        guardian = rows.get(order)
        if values.get(REMOVE):
            applied.before[member_key(order, REMOVE)] = guardian.name
            applied.after[member_key(order, REMOVE)] = ""
            guardian.delete()
            continue
        before = member_values(guardian) if guardian else {}
        guardian = guardian or Guardian(pupil=pupil, order=order)
        for field, value in values.items():
            applied.before[member_key(order, field)] = before.get(field, "")
            applied.after[member_key(order, field)] = value
            if field == "hukou_division_code":
                guardian.hukou_division_id = value or None
            elif field == "police_date":
                guardian.police_date = dt.date.fromisoformat(value) if value else None
            elif field in fields.GUARDIAN_FIELD_BY_NAME:
                setattr(guardian, field, fields.stored(fields.GUARDIAN_FIELD_BY_NAME[field], value))
            else:
                setattr(guardian, field, value)
        guardian.save()


def member_label(key: str) -> str | None:
    """``家庭成员3姓名`` for ``guardian3_name``, ``家庭成员2（删除）`` for a removal; else ``None``."""
    if (parsed := parse_key(key)) is None:
        return None
    order, field = parsed
    if field == REMOVE:
        return str(_("家庭成员%(n)s（删除）") % {"n": order})
    return str(_("家庭成员%(n)s%(field)s") % {"n": order, "field": MEMBER_LABELS[field]})


def member_shown(key: str, value) -> str:
    """A member entry's value in words (a code by its name, 是/否, a division by its name)."""
    _order, field = parse_key(key)
    if value in (None, ""):
        return "—"
    if field == "is_guardian":
        return str(_("是") if value else _("否"))
    if field == "vital":
        return str(Guardian.Vital(value).label) if value in Guardian.Vital.values else str(value)
    if field in _CODED:
        return codes.label(_CODED[field], str(value))
    if field == "hukou_division_code":
        return division_full_name(str(value)) or str(value)
    if field in fields.GUARDIAN_FIELD_BY_NAME:
        return fields.shown(fields.GUARDIAN_FIELD_BY_NAME[field], value)
    return str(value)
