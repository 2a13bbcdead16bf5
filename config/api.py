"""The one NinjaAPI of the registry, mounted at ``/api/v1``.

Errors are always ``{"code", "message", "field"}`` (plus ``details`` when there are
several): registry errors keep their stable code, request-shape errors get
``invalid_request``, missing credentials ``unauthenticated``.
"""

from __future__ import annotations

from django.db import DataError
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from accounts.auth import API_AUTH
from config.middleware import database_input_error
from kernel.errors import RegistryError

#: The answers every operation may give besides its own, all in the one error shape.
ERROR_RESPONSES = {
    "400": "请求格式有误",
    "401": "未登录，或接口令牌无效、已过期",
    "403": "角色或单位无权办理",
    "404": "不存在，或不在您的管理范围内",
    "409": "对象已不在该操作要求的状态（如已被他人办理）",
    "422": "输入有误或业务规则不允许：code 说明原因，field 指出位置",
    "429": "查询外单位学生的次数已达每小时上限（lookup_throttled）",
}
ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "稳定的错误代码"},
        "message": {"type": "string", "description": "说明错在哪里（默认中文）"},
        "field": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "出错的输入"},
        "details": {"description": "更多信息（多处错误、当前状态、疑似重复……）"},
        "aliases": {"type": "array", "items": {"type": "string"}, "description": "同一事件的旧代码"},
    },
    "required": ["code", "message"],
}


class RegistryAPI(NinjaAPI):
    """The NinjaAPI whose OpenAPI document lists, for every operation, the error answers in
    the registry's one error shape."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status, description in ERROR_RESPONSES.items():
                    responses.setdefault(status, {"description": description, **error})
        return schema


api = RegistryAPI(
    title="K-12 学籍 Registry API",
    version="1",
    description="全国中小学生学籍信息管理：学生、学校、转学、学籍异动。错误响应统一为 {code, message, field}。",
    auth=API_AUTH,
    urls_namespace="api",
)


@api.exception_handler(RegistryError)
def registry_error(request, exc: RegistryError):
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(DataError)
def database_input(request, exc: DataError):
    """What only the database can tell (a value too long, a number out of range): 422."""
    return api.create_response(request, database_input_error().as_dict(), status=422)


@api.exception_handler(NinjaValidationError)
def request_invalid(request, exc: NinjaValidationError):
    first = exc.errors[0] if exc.errors else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "payload", "query", "path")]
    body = {
        "code": "invalid_request",
        "message": _("请求格式有误：%(where)s %(what)s") % {"where": ".".join(location), "what": first.get("msg", "")},
        "field": ".".join(location) or None,
        "details": exc.errors,
    }
    return api.create_response(request, body, status=422)


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    return api.create_response(
        request, {"code": "unauthenticated", "message": _("请先登录或提供有效的接口令牌"), "field": None}, status=401
    )


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    return api.create_response(request, {"code": "http_error", "message": str(exc), "field": None}, status=exc.status_code)


api.add_router("/me", "accounts.api.router")
import enrolment.api  # noqa: E402, F401 - adds POST /pupils to the pupils router below

api.add_router("/", "registry.api.router")
api.add_router("/", "provinces.api.router")
api.add_router("/", "duplicates.api.router")
api.add_router("/", "administration.api.router")
api.add_router("/", "photos.api.router")
api.add_router("/", "rosters.api.router")
api.add_router("/", "transfers.api.router")
api.add_router("/", "changes.api.router")
api.add_router("/", "enrolment.progression_api.router")
api.add_router("/", "reports.api.router")
api.add_router("/", "exchange.api.router")
api.add_router("/", "enrolment.registration_api.router")
api.add_router("/", "rosters.admission_api.router")
api.add_router("/", "enrolment.peer_check_api.router")
api.add_router("/", "transfers.remote_api.router")
