"""跨省转学 completed across two registries (``transfer.released``): the origin county's final
approval sends the whole record — every field, the family members, the history, the photo
(bytes with their SHA-256) — to the destination registry, which creates the pupil at the
destination school with the SAME national student number (全国学籍号). The origin keeps its
record read-only with status 转出 (``PupilStatus.TRANSFERRED_OUT``).

- ``release`` (origin side, in the transaction of the approval): the message body, and the
  record marked 转出 with an entry in its history;
- ``receive`` (destination side, in the transaction of the inbox row): the record created
  here — or, for a pupil coming back to a registry that kept his record as 转出 (moved away
  from here earlier), that record re-activated: every field, the family and the photo as
  the message carries them, the history entries this registry does not have yet added, 在读
  at the destination school, an entry in its history; never a second record. Refused when
  the photo's bytes do not match their hash (``photo_hash_mismatch``, 422), when the
  national number is a record here that is not 转出 (``national_number_held``, 409) or the
  ID number is held by another active record here (``id_number_held``, 409).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel, ConfigDict, Field

from accounts.permissions import membership_of
from duplicates.cases import cases_follow_pupils
from kernel.errors import Conflict, ValidationFailed
from photos.single import photo_storage_name
from provinces.models import Division
from registry.history import record_event
from registry.models import Guardian, HistoryEntry, Pupil, PupilStatus
from schools.classes import class_for

#: Fields of the record that are the registry's own, not the pupil's: set by the receiver.
LOCAL_FIELDS = {"id", "school_id", "school_class_id", "county_code", "photo", "created_at", "updated_at",
                "status", "status_until", "grade", "hukou_division_id", "basic_data_locked"}
GUARDIAN_LOCAL = {"id", "pupil_id", "hukou_division_id"}


class ReleasedRecord(BaseModel):
    """The pupil's record as the origin holds it: these members and every other field of the
    record by its column name (``registry.models.Pupil``), as JSON."""

    model_config = ConfigDict(extra="allow")
    national_number: str = Field(pattern=r"^[GLJ][0-9]{17}[0-9X]$", description="全国学籍号, kept")
    name: str = Field(min_length=1, max_length=50)
    sex: str = Field(pattern=r"^[12]$")
    birth_date: dt.date
    id_number: str = Field(default="", max_length=32)
    hukou_division: str = Field(default="", max_length=12, description="户口所在地 division code")


class ReleasedHistory(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(max_length=32)
    summary: str = Field(max_length=300)
    at: dt.datetime
    actor_name: str = Field(default="", max_length=150)


class ReleasedPhoto(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: str = Field(max_length=4_000_000, description="base64 of the photo's bytes (JPG)")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the bytes, hex")


class ReleasedBody(BaseModel):
    """``transfer.released``: the origin released the pupil; the whole record travels."""

    model_config = ConfigDict(extra="forbid")
    application: uuid.UUID = Field(description="the application's id, the same on both registries")
    record: ReleasedRecord
    guardians: list[dict[str, Any]] = Field(default_factory=list, max_length=10,
                                            description="family members, each by its column names")
    history: list[ReleasedHistory] = Field(default_factory=list, max_length=500, description="the record's history")
    photo: ReleasedPhoto | None = None
    by: str = Field(max_length=150, description="who approved last: the user's name and unit")
    unit_code: str = Field(max_length=10)
    unit_name: str = Field(max_length=150)


def _json(data: dict) -> dict:
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def release(row, *, user) -> dict:
    """The body of ``transfer.released`` for the origin side's ``row``; the pupil here is
    marked 转出 (read-only from now on)."""
    pupil = Pupil.objects.select_for_update(of=("self",)).select_related("hukou_division").get(pk=row.pupil_id)
    record = {f.attname: getattr(pupil, f.attname) for f in pupil._meta.concrete_fields
              if f.attname not in LOCAL_FIELDS}
    record["hukou_division"] = pupil.hukou_division_id or ""
    guardians = [
        {**{f.attname: getattr(g, f.attname) for f in g._meta.concrete_fields if f.attname not in GUARDIAN_LOCAL},
         "hukou_division": g.hukou_division_id or ""}
        for g in pupil.guardians.all()
    ]
    history = [{"kind": h.kind, "summary": h.summary, "at": h.at, "actor_name": h.actor_name}
               for h in pupil.history.order_by("at", "id")[:500]]
    photo = None
    if pupil.photo:
        with pupil.photo.open("rb") as stored:
            content = stored.read()
        photo = {"content": base64.b64encode(content).decode(), "sha256": hashlib.sha256(content).hexdigest()}
    membership = membership_of(user)
    unit_name = str(membership.unit_name) if membership else ""
    body = _json({
        "application": str(row.application), "record": record, "guardians": guardians, "history": history,
        "photo": photo, "by": f"{user.get_username()}（{unit_name}）"[:150],
        "unit_code": membership.unit_code if membership else "", "unit_name": unit_name,
    })
    pupil.status = PupilStatus.TRANSFERRED_OUT
    pupil.save(update_fields=["status", "updated_at"])
    record_event(pupil, kind="transferred_out",
                 summary=_("跨省转学转出：转至%(dest)s（%(code)s），全国学籍号 %(number)s 不变，本系统保留只读学籍")
                 % {"dest": row.dest_school_name, "code": row.dest_school_code, "number": pupil.national_number},
                 user=user, school=row.origin_school, data={"application": str(row.application)})
    return body


def _values(model, data: dict, local: set[str]) -> dict:
    fields = {f.attname: f for f in model._meta.concrete_fields if f.attname not in local}
    return {name: fields[name].to_python(value) for name, value in data.items() if name in fields}


def _division(code: str) -> str | None:
    return code if code and Division.objects.filter(code=code).exists() else None


def _photo_bytes(body: dict) -> bytes | None:
    if not body.get("photo"):
        return None
    try:
        photo = base64.b64decode(body["photo"]["content"], validate=True)
    except ValueError:
        photo = b""
    if hashlib.sha256(photo).hexdigest() != body["photo"]["sha256"]:
        raise ValidationFailed(_("照片内容与其SHA-256校验值不符"), code="photo_hash_mismatch", field="photo")
    return photo


def _history_key(kind: str, at, summary: str) -> tuple:
    at = at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    return kind, at.replace(microsecond=0), summary


def receive(row, body: dict) -> Pupil:
    """The released pupil at ``row``'s destination school, with the same national number:
    a new record, or the record this registry kept as 转出 when the pupil comes back."""
    number = body["record"]["national_number"]
    photo = _photo_bytes(body)
    kept = Pupil.objects.select_for_update(of=("self",)).filter(national_number=number).first()
    if kept is not None and kept.status != PupilStatus.TRANSFERRED_OUT:
        raise Conflict(_("全国学籍号 %(number)s 在本系统已有学籍") % {"number": number},
                       code="national_number_held", details={"national_number": number})
    pupil = _record_set(kept or Pupil(), row, body["record"])
    try:
        with transaction.atomic():
            pupil.save()
    except IntegrityError:
        raise Conflict(_("该学生的身份证件号已被本系统在籍学生使用"), code="id_number_held",
                       field="id_number") from None
    if kept is not None:
        pupil.guardians.all().delete()  # the family as the origin holds it now
        cases_follow_pupils([pupil.pk])  # a case still open on the kept record is decided where he is now
    for data in body["guardians"]:
        guardian = Guardian(pupil=pupil, **_values(Guardian, data, GUARDIAN_LOCAL))
        guardian.hukou_division_id = _division(data.get("hukou_division", ""))
        guardian.save()
    here = {_history_key(h.kind, h.at, h.summary) for h in pupil.history.all()} if kept is not None else set()
    HistoryEntry.objects.bulk_create([
        HistoryEntry(pupil=pupil, kind=h["kind"], summary=h["summary"], at=h["at"], actor_name=h["actor_name"],
                     data={"from_province": row.peer_province})
        for h in body["history"] if _history_key(h["kind"], h["at"], h["summary"]) not in here
    ])
    if photo is not None:
        digest = hashlib.sha256(photo).hexdigest()
        pupil.photo.name = default_storage.save(photo_storage_name(pupil, digest), ContentFile(photo))
        pupil.save(update_fields=["photo"])
    elif kept is not None and pupil.photo:
        pupil.photo = ""  # the origin holds none: the old one here is not the pupil's photo now
        pupil.save(update_fields=["photo"])
    summary = (_("跨省转学转入：由%(origin)s（%(code)s）转回，恢复本系统保留的学籍，全国学籍号 %(number)s 不变")
               if kept is not None else
               _("跨省转学转入：由%(origin)s（%(code)s）转入，全国学籍号 %(number)s 不变"))
    record_event(pupil, kind="transferred_in",
                 summary=summary % {"origin": row.origin_school_name or row.origin_school_code,
                                    "code": row.origin_school_code, "number": number},
                 school=row.dest_school, data={"application": str(row.application), "from_province": row.peer_province,
                                               "reactivated": kept is not None})
    return pupil


def _record_set(pupil: Pupil, row, record: dict) -> Pupil:
    """Every field of the record as the message carries it, and this registry's own: the
    destination school, grade and class, 在读."""
    for name, value in _values(Pupil, record, LOCAL_FIELDS).items():
        setattr(pupil, name, value)
    school = row.dest_school
    pupil.school = school
    pupil.grade = row.dest_grade
    pupil.school_class = class_for(school, row.dest_grade, row.dest_class_number)
    pupil.county_code = school.county_id
    pupil.status = PupilStatus.ENROLLED
    pupil.status_until = None
    pupil.basic_data_locked = Pupil._meta.get_field("basic_data_locked").get_default()
    pupil.hukou_division_id = _division(record.get("hukou_division", ""))
    return pupil
