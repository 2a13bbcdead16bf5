from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline

from accounts.admin import ReadOnlyAdminMixin, ScopedAdmin
from workflow.models import ChainEvent, WorkItem


@admin.register(WorkItem)
class WorkItemAdmin(ScopedAdmin):
    list_display = ("title", "kind", "school", "division", "due_on", "state")
    list_filter = ("state", "kind")


class ChainEventInline(ReadOnlyAdminMixin, GenericTabularInline):
    """A chain's log (审核记录) on its admin page, read-only."""

    model = ChainEvent
    extra = 0
    can_delete = False
    readonly_fields = ("action", "from_state", "to_state", "actor_name", "unit_code", "unit_name", "role", "reason", "at")
    fields = readonly_fields
