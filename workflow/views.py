"""The overdue report (超期报告): steps below the user's unit past their deadline, of chains
the user may open (a transfer shows itself to a county only once it reached that county)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from workflow import engine, workitems


@login_required
def overdue(request):
    items = list(workitems.overdue_for(request.user).order_by("due_on")[:500])
    visible = engine.visible_subjects(request.user, items)
    items = [item for item in items if (item.content_type_id, item.object_id) in visible]
    for item in items:
        item.days_overdue = workitems.days_overdue(item)
    return render(request, "workflow/overdue.html", {"items": items})
