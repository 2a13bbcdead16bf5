from django.contrib import admin

from accounts.admin import ScopedAdmin
from registry.models import CodeItem, HistoryEntry

# The Pupil admin is registered by ``rosters.admin``: its import and export are the roster's
# (花名册), with the same checks as the school page.


@admin.register(HistoryEntry)
class HistoryEntryAdmin(ScopedAdmin):
    list_display = ("at", "pupil", "kind", "summary", "actor_name", "unit_code")
    raw_id_fields = ("pupil", "school", "actor")


@admin.register(CodeItem)
class CodeItemAdmin(admin.ModelAdmin):
    list_display = ("table", "code", "name")
    list_filter = ("table",)
