"""Odd input gets a 422 with the reason, never a 500 (rules of the house: security).

``InputGuardMiddleware`` looks at every request before any view: a NUL character in the
path, a query value, a form field or a JSON body (PostgreSQL cannot store one), a query
value or path segment over its length, a whole number too big for the database, a
multipart request without a boundary or that does not parse. The answer is the registry's
error shape: JSON ``{code, message, field}`` under ``/api/``, the error page elsewhere.

``DatabaseInputErrorMiddleware`` is the last line for what only the database can tell (a
value too long for its column, a number out of its range): a 422 with the reason instead
of a 500. The API has the same handler (``config.api``).
"""

from __future__ import annotations

import re

from django.db import DataError
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils.translation import gettext as _

from kernel.errors import ValidationFailed
from registry import disclosure

#: A query value or path segment longer than this is refused.
MAX_VALUE_LENGTH = 2000
#: The largest whole number the database stores (bigint).
MAX_BIGINT = 2**63 - 1
_DIGITS = re.compile(r"^[+-]?\d{19,}$")
_WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _is_huge_number(value: str) -> bool:
    return bool(_DIGITS.match(value)) and abs(int(value)) > MAX_BIGINT


def input_problem(request) -> ValidationFailed | None:
    """The first thing wrong with a request's input, or None."""
    for segment in request.path.split("/"):
        if "\x00" in segment:
            return ValidationFailed(_("地址中含有不允许的空字符（NUL）"), code="nul_character", field="path")
        if len(segment) > MAX_VALUE_LENGTH:
            return ValidationFailed(_("地址过长"), code="too_long", field="path")
        if _is_huge_number(segment):
            return ValidationFailed(_("地址中的数字“%(value)s…”超出允许范围") % {"value": segment[:20]},
                                    code="number_too_large", field="path")
    for key, values in request.GET.lists():
        for value in values:
            field = key[:50]
            if "\x00" in key or "\x00" in value:
                return ValidationFailed(_("参数“%(field)s”含有不允许的空字符（NUL）") % {"field": field.replace("\x00", "")},
                                        code="nul_character", field=field.replace("\x00", ""))
            if len(value) > MAX_VALUE_LENGTH:
                return ValidationFailed(_("参数“%(field)s”过长（不超过 %(max)s 个字符）")
                                        % {"field": field, "max": MAX_VALUE_LENGTH}, code="too_long", field=field)
            if _is_huge_number(value.strip()):
                return ValidationFailed(_("参数“%(field)s”的数值超出允许范围") % {"field": field},
                                        code="number_too_large", field=field)
    if request.method not in _WRITE_METHODS:
        return None
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.startswith("multipart/"):
        if "boundary=" not in content_type:
            return ValidationFailed(_("上传请求格式有误：缺少 multipart 分隔符（boundary）"),
                                    code="malformed_multipart", field="file")
        try:
            fields = request.POST
            request.FILES  # noqa: B018 - parse now, so a broken body is refused here
        except MultiPartParserError:
            return ValidationFailed(_("上传请求格式有误，无法解析"), code="malformed_multipart", field="file")
        return _form_problem(fields)
    if content_type.startswith("application/x-www-form-urlencoded"):
        return _form_problem(request.POST)
    body = request.body
    if b"\x00" in body or b"\\u0000" in body:
        return ValidationFailed(_("提交的内容中含有不允许的空字符（NUL）"), code="nul_character", field="body")
    return None


def _form_problem(fields) -> ValidationFailed | None:
    for key, values in fields.lists():
        if any("\x00" in value for value in values) or "\x00" in key:
            field = key.replace("\x00", "")[:50]
            return ValidationFailed(_("字段“%(field)s”含有不允许的空字符（NUL）") % {"field": field},
                                    code="nul_character", field=field)
    return None


def refusal_response(request, error: ValidationFailed):
    if request.path.startswith("/api/"):
        return JsonResponse(error.as_dict(), status=error.status)
    return render(request, "registry/error.html", {"error": error}, status=error.status)


def database_input_error() -> ValidationFailed:
    return ValidationFailed(
        _("输入的文字过长或数值超出允许范围，请检查后重新提交"), code="value_out_of_range",
    )


class InputGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = input_problem(request)
        if problem is not None:
            return refusal_response(request, problem)
        return self.get_response(request)


class DatabaseInputErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DataError):
            return refusal_response(request, database_input_error())
        return None


#: Scripts and styles come from the project's own static files; style attributes are allowed
#: (progress bars), inline script never; no framing, no plug-ins, forms post to the registry.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
#: The interactive API documentation loads its own viewer: left without the policy.
CSP_EXEMPT_PREFIXES = ("/api/v1/docs",)


class SecurityHeadersMiddleware:
    """The content security policy on every page, and ``Cache-Control: no-store`` on every
    API answer and every page served to a logged-in user: pupil data stays out of shared
    and browser caches."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(CSP_EXEMPT_PREFIXES):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        user = getattr(request, "user", None)
        if request.path.startswith("/api/") or (user is not None and user.is_authenticated):
            response.headers["Cache-Control"] = "no-store"
        return response


class DisclosureRecordsMiddleware:
    """A refusal that names another unit's pupil is recorded even when the transaction it was
    raised in rolls back (``registry.disclosure.records_survive``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with disclosure.records_survive():
            return self.get_response(request)
