from django.contrib import admin

from accounts.admin import ReadOnlyAdmin, ReadOnlyInline
from changes.models import (
    ChangeRequest,
    DropoutFollowUp,
    GraduationList,
    PromotionRun,
    PromotionSchool,
    SuspensionOverdue,
)
from registry.admin import ScopedAdmin


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ScopedAdmin):
    """Read-only: requests move only through the services (the state machine)."""

    list_display = ("pk", "kind", "pupil", "school", "state", "created_at", "decided_at")
    list_filter = ("kind", "state")
    raw_id_fields = ("pupil", "school", "initiator", "school_approver", "county_approver")


@admin.register(GraduationList)
class GraduationListAdmin(ScopedAdmin):
    list_display = ("pk", "school", "school_year", "state")
    list_filter = ("state", "school_year")


@admin.register(DropoutFollowUp)
class DropoutFollowUpAdmin(ScopedAdmin):
    list_display = ("pupil", "school", "dropped_on", "age", "closed_at")
    raw_id_fields = ("pupil", "request", "school")


@admin.register(SuspensionOverdue)
class SuspensionOverdueAdmin(ScopedAdmin):
    """Read-only: the daily sweep opens these rows and the change that ends a suspension closes them."""

    list_display = ("pupil", "school", "until", "opened_at", "closed_at")
    raw_id_fields = ("pupil", "school")


class PromotionSchoolInline(ReadOnlyInline):
    model = PromotionSchool
    fields = ("school", "status", "moved", "stayed", "error", "done_at")
    readonly_fields = fields


@admin.register(PromotionRun)
class PromotionRunAdmin(ReadOnlyAdmin):
    list_display = ("province", "school_year", "status", "started_at", "finished_at")
    readonly_fields = ("province", "school_year", "status", "started_by", "started_at", "finished_at")
    inlines = [PromotionSchoolInline]
