from django.contrib import admin
from import_export.admin import ImportExportMixin

from accounts.admin import ScopedAdmin
from registry.models import CodeItem, Guardian, HistoryEntry, Pupil
from schools.roster_resources import RosterResource


class GuardianInline(admin.TabularInline):
    model = Guardian
    extra = 0


@admin.register(Pupil)
class PupilAdmin(ImportExportMixin, ScopedAdmin):
    """Roster import/export (花名册) in the admin runs the same checks as the school page."""

    resource_classes = [RosterResource]
    list_display = ("national_number", "name", "sex", "birth_date", "school", "grade", "status")
    list_filter = ("status", "grade")
    search_fields = ("=national_number", "=id_number", "^name")
    raw_id_fields = ("school", "school_class", "hukou_division")
    readonly_fields = ("national_number", "county_code")
    inlines = [GuardianInline]
    show_full_result_count = False


@admin.register(HistoryEntry)
class HistoryEntryAdmin(ScopedAdmin):
    list_display = ("at", "pupil", "kind", "summary", "actor_name", "unit_code")
    raw_id_fields = ("pupil", "school", "actor")


@admin.register(CodeItem)
class CodeItemAdmin(admin.ModelAdmin):
    list_display = ("table", "code", "name")
    list_filter = ("table",)
