"""The one error shape of the registry.

Services raise these; the ninja exception handler turns them into
``{"code": ..., "message": ..., "field": ...}`` and the UI shows the same message.
``code`` is a stable, machine-readable string: integrators depend on it. When two codes
named one event they were merged into one; the old codes stay listed in ``aliases`` for
one release (docs/api.md lists them). ``message`` is a translatable, human sentence
(zh-hans by default) that says what is wrong and where.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class RegistryError(Exception):
    """Base of every refusal the registry gives a user."""

    status = 400
    default_code = "registry_error"

    def __init__(
        self,
        message: Any = "",
        *,
        code: str | None = None,
        field: str | None = None,
        status: int | None = None,
        details: Any = None,
        aliases: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field
        self.details = details
        self.aliases = tuple(aliases)
        if status is not None:
            self.status = status

    def as_html(self):
        """The message for a page: the reason in words, the stable code in small type after
        it (for the help desk), never the code alone."""
        from django.utils.html import format_html

        return format_html('{} <small class="code">{}</small>', str(self.message), self.code)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": str(self.message), "field": self.field}
        if self.details is not None:
            body["details"] = self.details
        if self.aliases:
            body["aliases"] = list(self.aliases)
        return body

    def __str__(self) -> str:  # pragma: no cover - debugging aid
        return f"{self.code}: {self.message}"


class ValidationFailed(RegistryError):
    """Input breaks a rule of one record (a field, or fields of one row)."""

    status = 422
    default_code = "invalid"


class NotFound(RegistryError):
    """The object does not exist *or lies outside the user's scope* (never tell which)."""

    status = 404
    default_code = "not_found"


class Forbidden(RegistryError):
    """The user sees the object but their role may not do this."""

    status = 403
    default_code = "forbidden"


class Conflict(RegistryError):
    """The object is no longer in the state the action expects (a lost race, a double click)."""

    status = 409
    default_code = "conflict"


class BusinessRefused(RegistryError):
    """A national or province rule refuses the business (transfer, status change...)."""

    status = 422
    default_code = "refused"


class Unauthenticated(RegistryError):
    """No valid credentials: no login, or an API token that is unknown, revoked or expired."""

    status = 401
    default_code = "unauthenticated"


class MethodNotAllowed(RegistryError):
    """A GET to an address that leaves a record (a lookup, an export): a GET writes nothing,
    so the address answers only a POST."""

    status = 405
    default_code = "post_required"


def post_required() -> MethodNotAllowed:
    return MethodNotAllowed(
        _("查询外单位学生和导出会留下记录，须用页面上的按钮（POST）提交；直接打开此地址（GET）不会办理"),
        code="post_required",
    )
