"""Which unit a statistics page shows (the drill-down: province → city → county → school →
class), and what it groups by one level down.

A unit is named by a key: ``d:<division code>``, ``s:<school code>``, ``c:<class id>``; no key
is the user's own unit. A unit outside the user's scope is ``NotFound`` (404), exactly like
a pupil outside it: ``accounts.scope`` decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import F, Q
from django.db.models.functions import Substr
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.scope import get_in_scope, scope_of
from kernel.errors import NotFound
from provinces import divisions
from schools.models import School, SchoolClass

LEVEL_LABELS = {
    "all": _("全部"),
    "province": _("省"),
    "city": _("地市"),
    "county": _("区县"),
    "school": _("学校"),
    "class": _("班级"),
}
#: The level one step down: what the drill-down table lists.
CHILD_LEVEL = {"all": "province", "province": "city", "city": "county", "county": "school", "school": "class"}


@dataclass(frozen=True)
class StatUnit:
    level: str
    key: str
    code: str
    name: str
    school_id: int | None = None
    class_id: int | None = None
    crumbs: tuple[tuple[str, str], ...] = field(default=())

    @property
    def child_level(self) -> str | None:
        return CHILD_LEVEL.get(self.level)

    def pupil_q(self, prefix: str = "") -> Q:
        """The pupils of this unit (``prefix`` is the path to the pupil, e.g. ``pupil__``)."""
        if self.class_id is not None:
            return Q(**{f"{prefix}school_class_id": self.class_id})
        if self.school_id is not None:
            return Q(**{f"{prefix}school_id": self.school_id})
        if not self.code:
            return Q()
        if len(self.code) == 6:
            return Q(**{f"{prefix}county_code": self.code})
        return Q(**{f"{prefix}county_code__startswith": self.code})

    def child_expression(self, prefix: str = ""):
        """What the pupils of this unit group by one level down (``None`` for a class)."""
        county = f"{prefix}county_code"
        return {
            "all": Substr(county, 1, 2),
            "province": Substr(county, 1, 4),
            "city": F(county),
            "county": F(f"{prefix}school_id"),
            "school": F(f"{prefix}school_class_id"),
        }.get(self.level)

    def transfer_q(self, side: str) -> Q:
        """Transfers whose ``side`` (``origin`` or ``dest``) lies in this unit."""
        if self.school_id is not None:
            return Q(**{f"{side}_school_id": self.school_id})
        if not self.code:
            return Q()
        return Q(**{f"{side}_county_code__startswith": self.code})


def class_label(grade: int, number: int) -> str:
    return gettext("%(grade)s年级%(number)s班") % {"grade": grade, "number": number}


def _division_level(code: str) -> str:
    return {2: "province", 4: "city", 6: "county"}[len(code)]


def _division_crumbs(code: str, top: str) -> list[tuple[str, str]]:
    """Breadcrumbs from the user's own unit (``top`` prefix) down to ``code``."""
    table = divisions.division_table()
    crumbs = []
    for length in (2, 4, 6):
        part = code[:length]
        if len(part) < len(top) or len(part) > len(code) or part not in table:
            continue
        if crumbs and crumbs[-1][0] == f"d:{part}":
            continue
        crumbs.append((f"d:{part}", table[part][0]))
    return crumbs


def unit_for(user, key: str = "") -> StatUnit:
    """The unit named by ``key`` (the user's own unit when empty), or ``NotFound``."""
    scope = scope_of(user)
    if scope is None:
        raise NotFound(gettext("您没有所属单位，没有可查看的统计"), code="no_unit")
    if not key:
        if scope.is_school:
            return _school_unit(School.objects.get(pk=scope.school_id), scope)
        if scope.prefix == "":
            return StatUnit(level="all", key="", code="", name=str(LEVEL_LABELS["all"]))
        key = f"d:{scope.prefix}"
    kind, _, value = key.partition(":")
    if kind == "d" and value.isdigit() and len(value) in (2, 4, 6) and not scope.is_school:
        table = divisions.division_table()
        if scope.covers_code(value) and value in table:
            crumbs = [c for c in _division_crumbs(value, scope.prefix or "") if c[0] != key]
            return StatUnit(level=_division_level(value), key=key, code=value, name=table[value][0],
                            crumbs=tuple(crumbs))
    elif kind == "s" and value.isdigit():
        return _school_unit(get_in_scope(School.objects.select_related("county"), user, code=value), scope)
    elif kind == "c" and value.isdigit() and len(value) < 19:
        school_class = get_in_scope(SchoolClass.objects.select_related("school"), user, pk=int(value))
        school = _school_unit(school_class.school, scope)
        return StatUnit(level="class", key=key, code=school.code, name=class_label(school_class.grade, school_class.number),
                        school_id=school_class.school_id, class_id=school_class.pk,
                        crumbs=(*school.crumbs, (school.key, school.name)))
    raise NotFound(gettext("未找到该单位，或不在您的管理范围内"), code="unit_not_found", field="unit")


def _school_unit(school: School, scope) -> StatUnit:
    crumbs = _division_crumbs(school.county_id, scope.prefix or "") if not scope.is_school else []
    return StatUnit(level="school", key=f"s:{school.code}", code=school.county_id, name=school.name,
                    school_id=school.pk, crumbs=tuple(crumbs))


def child_names(unit: StatUnit, ids) -> dict:
    """``{child id: (key, name)}`` for the children a table lists."""
    ids = [i for i in ids if i is not None]
    if unit.child_level in ("province", "city", "county"):
        table = divisions.division_table()
        return {code: (f"d:{code}", table.get(code, (code,))[0]) for code in ids}
    if unit.child_level == "school":
        return {pk: (f"s:{code}", name) for pk, code, name in
                School.objects.filter(pk__in=ids).values_list("pk", "code", "name")}
    if unit.child_level == "class":
        return {pk: (f"c:{pk}", class_label(grade, number)) for pk, grade, number in
                SchoolClass.objects.filter(pk__in=ids).values_list("pk", "grade", "number")}
    return {}
