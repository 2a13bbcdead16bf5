"""Read-only admin views of transfers: the chain moves only through its services."""

from django.contrib import admin

from accounts.admin import ReadOnlyAdmin
from accounts.scope import restrict
from transfers.models import Transfer, TransferLookup
from transfers.selectors import transfers_visible_to
from workflow.admin import ChainEventInline


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ("id", "pupil", "origin_school", "dest_school", "state", "created_at", "closed_at")
    list_filter = ("state",)
    search_fields = ("pupil__name", "pupil__national_number", "origin_school__code", "dest_school__code")
    list_select_related = ("pupil", "origin_school", "dest_school")
    inlines = [ChainEventInline]

    def get_queryset(self, request):
        return transfers_visible_to(request.user)


@admin.register(TransferLookup)
class TransferLookupAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_name", "school", "origin_school", "name", "found", "close_matches")
    list_select_related = ("school", "origin_school")

    def get_queryset(self, request):
        return restrict(super().get_queryset(request), request.user)
