from django.contrib import admin

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

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(GraduationList)
class GraduationListAdmin(ScopedAdmin):
    list_display = ("pk", "school", "school_year", "state")
    list_filter = ("state", "school_year")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(DropoutFollowUp)
class DropoutFollowUpAdmin(ScopedAdmin):
    list_display = ("pupil", "school", "dropped_on", "age", "closed_at")
    raw_id_fields = ("pupil", "request", "school")


@admin.register(SuspensionOverdue)
class SuspensionOverdueAdmin(ScopedAdmin):
    """Read-only: the daily sweep opens these rows and the change that ends a suspension closes them."""

    list_display = ("pupil", "school", "until", "opened_at", "closed_at")
    raw_id_fields = ("pupil", "school")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


class PromotionSchoolInline(admin.TabularInline):
    model = PromotionSchool
    extra = 0
    fields = ("school", "status", "moved", "stayed", "error", "done_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PromotionRun)
class PromotionRunAdmin(admin.ModelAdmin):
    list_display = ("province", "school_year", "status", "started_at", "finished_at")
    readonly_fields = ("province", "school_year", "status", "started_by", "started_at", "finished_at")
    inlines = [PromotionSchoolInline]

    def has_add_permission(self, request):
        return False
