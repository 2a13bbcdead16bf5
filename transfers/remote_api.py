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
             summary="撤销向外省学籍系统提出的跨省转学申请（通知对方）")
def remote_cancel(request, pk: int, payload: RemoteCancelIn):
    row = cross_registry.transfer_cancel_remote(user=request.user, pk=pk, reason=payload.reason)
    return {"id": row.pk, "application": str(row.application), "state": row.state}
