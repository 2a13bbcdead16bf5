"""The API's view of where an open chain waits, the same for every chain's router
(transfers, change requests, graduation lists): the current step, the unit that acts
there and the step's deadline, all null once the chain is closed."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

from workflow.engine import Current


class UnitOut(Schema):
    code: str = Field(description="学校标识码（10位）或教育行政部门的区划代码")
    name: str


class WaitingOut(Schema):
    """Mixed into a chain's output schema."""

    current_step: str | None = Field(None, description="当前环节（状态代码）；已办结时为空")
    current_step_label: str | None = Field(None, description="当前环节名称，如“待区县审核”")
    waiting_for: UnitOut | None = Field(None, description="当前环节的办理单位；已办结时为空")
    due_date: dt.date | None = Field(
        None, description="当前环节的办理期限：与待办中的期限相同（到达后本省规定的工作日数，默认10个）；"
                          "等待申请人提交的草稿和已办结时为空"
    )


def waiting_fields(current: Current | None) -> dict:
    """The ``WaitingOut`` fields of one chain row."""
    if current is None:
        return {"current_step": None, "current_step_label": None, "waiting_for": None, "due_date": None}
    return {
        "current_step": current.state,
        "current_step_label": str(current.label),
        "waiting_for": UnitOut(code=current.unit_code, name=current.unit_name) if current.unit_code else None,
        "due_date": current.due_on,
    }


class ReasonIn(Schema):
    """The body of a step that takes a reason (理由): refusal, send-back, cancel."""

    reason: str = ""
