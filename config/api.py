"""The one NinjaAPI of the registry, mounted at ``/api/v1``.

Errors are always ``{"code", "message", "field"}`` (plus ``details`` when there are
several): registry errors keep their stable code, request-shape errors get
``invalid_request``, missing credentials ``unauthenticated``.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from accounts.auth import API_AUTH
from kernel.errors import RegistryError

api = NinjaAPI(
    title="K-12 学籍 Registry API",
    version="1",
    description="全国中小学生学籍信息管理：学生、学校、转学、学籍异动。错误响应统一为 {code, message, field}。",
    auth=API_AUTH,
    urls_namespace="api",
)


@api.exception_handler(RegistryError)
def registry_error(request, exc: RegistryError):
    return api.create_response(request, exc.as_dict(), status=exc.status)


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
