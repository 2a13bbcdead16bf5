"""待办 as one person sees it: of the unit's open work items, those the user can act on now,
and for the others who acts on them; and 我发起的 (what the user filed, where it stands) is
``engine.started_by``."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.permissions import membership_of
from workflow import engine, workitems
from workflow.models import WorkItem


@dataclass
class PersonalItem:
    """A work item as one person sees it: whether they can act on it now, and if not, who."""

    item: WorkItem
    can_act: bool
    who: str = ""


def for_person(user, items) -> list[PersonalItem]:
    """Split the unit's 待办 by person: the items the user can act on, and the others with
    who acts on them (the other role; another approver when the user filed the chain — 谁批准、
    谁负责)."""
    membership = membership_of(user)
    items = list(items)
    subjects = _subjects(items)
    result = []
    for item in items:
        subject = subjects.get((item.content_type_id, item.object_id))
        chain = engine.chain_of(type(subject)) if subject is not None else None
        if not workitems.role_acts(user, item.role):
            who = _("由%(role)s办理") % {"role": Membership.Role(item.role).label}
            result.append(PersonalItem(item, False, who))
        elif chain is not None and membership is not None and chain.initiator_id(subject) == user.pk \
                and _two_person_at(chain, subject):
            result.append(PersonalItem(item, False, _("您是申请人，须由本单位另一位审核人办理")))
        else:
            result.append(PersonalItem(item, True))
    return result


def _two_person_at(chain, row) -> bool:
    step = chain.step(row.state)
    return step is not None and all(action.two_person for action in step.actions)


def _subjects(items: list[WorkItem]) -> dict[tuple[int, int], object]:
    """The chain rows of the items, one query per kind of row."""
    by_type: dict[int, list[int]] = {}
    for item in items:
        by_type.setdefault(item.content_type_id, []).append(item.object_id)
    subjects = {}
    for type_id, ids in by_type.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        if model is None:
            continue
        for row in model.objects.filter(pk__in=ids):
            subjects[(type_id, row.pk)] = row
    return subjects
