"""招生名单 API: ``/api/v1/admissions`` — preview an admission list, then apply chosen rows.

Both steps are jobs: ``POST /admissions`` answers 201 with the preview when the file was small
enough to check at once, else 202 with ``state: previewing``; ``POST /admissions/{id}/apply``
answers 202 with ``state: applying`` (or the result when it ran at once). Poll
``GET /admissions/{id}`` until ``running`` is false; a refused apply is back at ``previewed``
with ``error.code == "admission_rows_refused"`` and the refused rows in ``error.details``.
"""

from __future__ import annotations

import datetime as dt

from ninja import File, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from accounts.scope import get_in_scope, restrict
from rosters import admission
from rosters.models import AdmissionList
from rosters.tasks import admission_apply_start, admission_preview_start
from rosters.views import read_upload

router = Router(tags=["admissions"])


class AdmissionRowOut(Schema):
    row: int
    name: str
    school_code: str
    grade: int | None
    kind: str
    kind_label: str
    message: str
    national_number: str
    problems: list[dict]


class AdmissionOut(Schema):
    id: int
    state: str
    state_label: str
    running: bool
    error: dict | None = None
    chosen: list[int]
    original_name: str
    created_at: dt.datetime
    applied_at: dt.datetime | None
    counts: dict[str, int]
    applied: dict
    rows: list[AdmissionRowOut]

    @staticmethod
    def build(row: AdmissionList) -> AdmissionOut:
        return AdmissionOut(
            id=row.pk, state=row.state, state_label=row.get_state_display(), running=row.is_running,
            error=row.error, chosen=row.chosen, original_name=row.original_name, created_at=row.created_at,
            applied_at=row.applied_at, applied=row.applied,
            counts={kind: row.count(kind) for kind in admission.KIND_LABELS},
            rows=[AdmissionRowOut(**{k: item.get(k) for k in ("row", "name", "school_code", "grade", "kind",
                                                            "message", "national_number", "problems")},
                                  kind_label=str(admission.KIND_LABELS[item["kind"]]))
                  for item in row.report],
        )


class ApplyIn(Schema):
    rows: list[int]


@router.post("/admissions", response={201: AdmissionOut, 202: AdmissionOut})
def admission_create(request, file: UploadedFile = File(...)):
    """Preview an admission list (招生名单, roster columns, grades 1/7/10): each row is ``new``
    (a new child), ``graduate`` (to receive by 升学), ``transfer`` (enrolled elsewhere) or
    ``error``. Nothing is written but the list itself. 202 when a large file is checked on a
    worker (poll the list)."""
    row = admission_preview_start(user=request.user, content=read_upload(file), original_name=file.name or "")
    return Status(202 if row.is_running else 201, AdmissionOut.build(row))


@router.get("/admissions/{admission_id}", response=AdmissionOut)
def admission_detail(request, admission_id: int):
    return AdmissionOut.build(get_in_scope(AdmissionList.objects.all(), request.user, pk=admission_id))


@router.get("/admissions", response=list[AdmissionOut])
def admission_list(request, limit: int = 20):
    return [AdmissionOut.build(r) for r in restrict(AdmissionList.objects.all(), request.user)[:max(1, min(limit, 100))]]


@router.post("/admissions/{admission_id}/apply", response={200: AdmissionOut, 202: AdmissionOut})
def admission_apply(request, admission_id: int, payload: ApplyIn):
    """Apply the chosen rows (new children and graduates) on a worker; all or nothing. Rows the
    preview shows as not applicable are refused at once (422 ``admission_rows_refused``)."""
    row = admission_apply_start(user=request.user, admission_id=admission_id, rows=payload.rows)
    return Status(202 if row.is_running else 200, AdmissionOut.build(row))
