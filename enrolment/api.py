"""``POST /api/v1/pupils``: register a pupil (新生注册).

The operation joins the pupils router of ``registry.api`` (one path, two methods: ninja
serves a path from one router), so the registry's reads and this write share
``/api/v1/pupils``; ``config.api`` imports this module before it mounts that router.
"""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema
from ninja.responses import Status
from pydantic import create_model

from enrolment import registration
from registry.api import PupilOut
from registry.api import router as pupils_router
from registry.fields import GUARDIAN_FIELDS, PUPIL_FIELDS, schema_fields
from registry.records import GuardianData, PupilData


class _GuardianCore(Schema):
    name: str
    relation: str = Field(description="关系代码或名称，如 51 / 父亲")
    id_type: str = "1"
    id_number: str = ""
    phone: str = ""
    is_guardian: bool = True
    is_first_guardian: bool = False
    vital: str = Field("alive", description="alive 健在 / deceased 死亡 / missing 失踪")
    police_reference: str = ""
    police_date: dt.date | None = None
    hukou_division_code: str = ""


GuardianIn = create_model("GuardianIn", __base__=_GuardianCore, **schema_fields(GUARDIAN_FIELDS))


class _PupilCore(Schema):
    school_code: str = Field(description="学校标识码（10位）")
    name: str
    sex: str = Field(description="1 男 / 2 女（也可写“男”“女”）")
    birth_date: dt.date
    grade: int
    class_number: int
    enrolled_on: dt.date
    id_type: str = "1"
    id_number: str = ""
    former_name: str = ""
    ethnicity: str = "01"
    nationality: str = "CHN"
    hmt: str = "00"
    hukou_division_code: str = ""
    hukou_nature: str = ""
    health: str = "10"
    boarding: str = "1"
    left_behind: str = "0"
    migrant: str = "0"
    guardians: list[GuardianIn] = []
    source: str = Field("", description="学生来源：normal 正常入学 / other_province 外省转入 / hmt_foreign 港澳台及外籍 / "
                                        "returned 回国 / other 其他（也可写中文）；非起始年级（1、7、10年级以外）必填")
    source_reason: str = Field("", description="注册原因；非起始年级必填")
    duplicate_reason: str = Field("", description="确认不是同一学生时的理由（存在疑似重复、或登记无户籍多胞胎时必填）")


#: The core fields with the standard's further fields (``registry.fields``).
PupilIn = create_model("PupilIn", __base__=_PupilCore, **schema_fields(PUPIL_FIELDS))


@pupils_router.post("/pupils", response={201: PupilOut})
def pupil_create(request, payload: PupilIn):
    """Register a pupil: the record is given its number and is ``pending`` (待审核) until the
    registration review approves it (``/api/v1/registrations``)."""
    data = payload.dict()
    duplicate_reason = data.pop("duplicate_reason")
    guardians = [GuardianData(**g) for g in data.pop("guardians")]
    pupil = registration.pupil_register(
        user=request.user, data=PupilData(**data, guardians=guardians), duplicate_reason=duplicate_reason
    )
    return Status(201, PupilOut.build(pupil))
