"""The one place that decides what a user may see (docs/design.md, tenancy).

A unit's scope is a division-code prefix (``44`` province, ``4401`` city, ``440106``
county) or, for a school, the school itself. Every model that holds pupil data declares
``scope_paths``: pairs of (path to a division code, path to a school) — a row is visible when
*any* pair matches. Every view, API endpoint, export and task reads through ``restrict``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext

from kernel.errors import NotFound


@dataclass(frozen=True)
class Scope:
    """What one user may see: a school, or every row under a division-code prefix."""

    school_id: int | None = None
    prefix: str | None = None

    @property
    def is_school(self) -> bool:
        return self.school_id is not None

    def q(self, division_path: str, school_path: str) -> Q:
        if self.school_id is not None:
            return Q(**{school_path: self.school_id})
        if self.prefix == "":
            return Q()
        if len(self.prefix) == 6:
            return Q(**{division_path: self.prefix})
        return Q(**{f"{division_path}__startswith": self.prefix})

    def covers_code(self, code: str) -> bool:
        """Whether a division code (e.g. a county code) lies in this scope."""
        return self.prefix is not None and code.startswith(self.prefix)

    def covers_school(self, school) -> bool:
        if self.school_id is not None:
            return school.pk == self.school_id
        return self.covers_code(school.county_id)


def scope_of(user) -> Scope | None:
    """The scope of a user, or ``None`` when the user may see no pupil data at all."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    membership = getattr(user, "membership", None)  # RelatedObjectDoesNotExist is an AttributeError
    if membership is None:
        # A superuser without a unit (the installer's account) sees the whole registry.
        return Scope(prefix="") if user.is_superuser else None
    if membership.school_id:
        return Scope(school_id=membership.school_id)
    return Scope(prefix=membership.division_id)


def restrict(queryset: QuerySet, user) -> QuerySet:
    """The rows of ``queryset`` that ``user`` may see. The only scope filter in the project."""
    scope = scope_of(user)
    if scope is None:
        return queryset.none()
    paths = getattr(queryset.model, "scope_paths", None)
    if not paths:
        raise ImproperlyConfigured(f"{queryset.model.__name__} declares no scope_paths")
    condition = Q()
    for division_path, school_path in paths:
        part = scope.q(_code_path(queryset.model, division_path), school_path)
        if not part:
            return queryset
        condition |= part
    return queryset.filter(condition)


def _code_path(model, path: str) -> str:
    """A division path ending at a foreign key filters on the related code (its pk)."""
    field = None
    for name in path.split("__"):
        field = model._meta.get_field(name)
        if field.is_relation:
            model = field.related_model
    return f"{path}__pk" if field is not None and field.is_relation else path


def get_in_scope(queryset: QuerySet, user, **lookup) -> Model:
    """The object matching ``lookup`` (a unique key) that the user may see, or ``NotFound``
    (never saying whether it exists).

    A scope path through a to-many relation (a duplicate case's members) can match one
    object more than once, so this takes the first row, unordered: a key needs no sort.
    """
    obj = next(iter(restrict(queryset, user).filter(**lookup).order_by()[:1]), None)
    if obj is None:
        raise NotFound(_not_found_message(queryset.model))
    return obj


def _not_found_message(model) -> str:
    return gettext("未找到%(what)s，或不在您的管理范围内") % {"what": model._meta.verbose_name}
