"""Pages that show several apps' records together: 首页 (the user's 待办) and the pupil's page
(the record with its open business, history, audit and photo)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from kernel.errors import RegistryError
from registry import nohukou, selectors
from workflow import business, engine, queue, workitems


@login_required
def home(request):
    """待办 per person: what I can act on now, what waits in my unit for someone else (and
    who), and 我发起的 — what I filed and where it stands."""
    items = queue.for_person(request.user, workitems.workitems_for(request.user).order_by("due_on", "id")[:200])
    mine = [entry for entry in items if entry.can_act]
    return render(
        request,
        "portal/home.html",
        {
            "mine": mine[:50],
            "others": [entry for entry in items if not entry.can_act][:50],
            "total": len(mine),
            "started": engine.started_by(request.user),
            "overdue_count": workitems.overdue_for(request.user).count(),
            "today": timezone.localdate(),
        },
    )


@login_required
def pupil_detail(request, national_number: str):
    try:
        pupil = selectors.pupil_get(request.user, national_number)
    except RegistryError as exc:
        return render(request, "registry/error.html", {"error": exc}, status=exc.status)
    current = business.open_business_of(pupil)
    return render(
        request,
        "portal/pupil.html",
        {
            "business_label": business.BUSINESS_LABELS.get(current.kind, current.kind) if current else "",
            "pupil": pupil,
            "guardians": pupil.guardians.all(),
            "events": selectors.pupil_history(pupil)[:100],
            "audit": selectors.pupil_audit(pupil)[:50],
            "business": current,
            "hukou_authority": nohukou.hukou_authority(pupil),
        },
    )
