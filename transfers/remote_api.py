"""跨省转学 API (across registries): ``POST /api/v1/transfers/remote-lookup``."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Router, Schema

from transfers import cross_registry, remote

router = Router(tags=["transfers"])


class RemoteLookupIn(Schema):
    origin_school_code: str = Field(max_length=20)
    name: str = Field(max_length=50)
    id_number: str = Field("", max_length=32)


class RemoteCardOut(Schema):
    ref: str
    name: str
    sex: str
    birth_date: dt.date
    grade: int
    class_number: int | None


class RemoteLookupOut(Schema):
    peer: str
    origin_school_name: str
    found: list[RemoteCardOut]


@router.post("/transfers/remote-lookup", response={200: RemoteLookupOut},
             summary="查询外省学籍系统的转出学生（最小信息，双方留痕）")
def remote_lookup(request, payload: RemoteLookupIn):
    return remote.transfer_lookup_remote(user=request.user, **payload.dict())


class RemoteApplyIn(Schema):
    ref: str = Field(max_length=300)
    origin_school_code: str = Field(max_length=20)
    pupil_name: str = Field(max_length=50)
    dest_grade: int = Field(ge=1, le=12)
    dest_class_number: int = Field(ge=1, le=99)
    reason: str = Field(max_length=200)


class RemoteApplyOut(Schema):
    id: int
    application: str
    state: str


@router.post("/transfers/remote-apply", response={201: RemoteApplyOut},
             summary="向外省学籍系统提出跨省转学申请（凭对方查询答复中的学生引用）")
def remote_apply(request, payload: RemoteApplyIn):
    row = cross_registry.transfer_apply_remote(user=request.user, **payload.dict())
    return 201, {"id": row.pk, "application": str(row.application), "state": row.state}


class RemoteCancelIn(Schema):
    reason: str = Field(max_length=200)


@router.post("/transfers/remote/{pk}/cancel", response={200: RemoteApplyOut},
             summary="撤销向外省学籍系统提出的跨省转学申请（已送达对方的，通知对方）")
def remote_cancel(request, pk: int, payload: RemoteCancelIn):
    row = cross_registry.transfer_cancel_remote(user=request.user, pk=pk, reason=payload.reason)
    return {"id": row.pk, "application": str(row.application), "state": row.state}


class RemoteStepIn(Schema):
    reason: str = Field("", max_length=500, description="理由（不予通过时必填）")


def _moved(request, pk: int, action: str, reason: str = ""):
    row = cross_registry.cross_transfer_move(user=request.user, pk=pk, action=action, reason=reason)
    return {"id": row.pk, "application": str(row.application), "state": row.state}


@router.post("/transfers/remote/{pk}/submit", response={200: RemoteApplyOut},
             summary="跨省转学：转入学校审核并上报（转入方）")
def remote_submit(request, pk: int):
    return _moved(request, pk, "submit")


@router.post("/transfers/remote/{pk}/approve", response={200: RemoteApplyOut},
             summary="跨省转学：本方审核通过（转入区县通过后申请送达对方；转出区县通过后学籍转出）")
def remote_approve(request, pk: int, payload: RemoteStepIn | None = None):
    return _moved(request, pk, "approve", payload.reason if payload else "")


@router.post("/transfers/remote/{pk}/refuse", response={200: RemoteApplyOut},
             summary="跨省转学：本方审核不通过（理由必填；转出方的不通过通知对方）")
def remote_refuse(request, pk: int, payload: RemoteStepIn):
    return _moved(request, pk, "refuse", payload.reason)
