"""The overdue report (超期报告): steps below the user's unit past their deadline."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from workflow import workitems


@login_required
def overdue(request):
    items = list(workitems.overdue_for(request.user).order_by("due_on")[:500])
    for item in items:
        item.days_overdue = workitems.days_overdue(item)
    return render(request, "workflow/overdue.html", {"items": items})
