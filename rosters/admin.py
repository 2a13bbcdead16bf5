from django.contrib import admin
from import_export.admin import ImportExportMixin, ImportMixin

from accounts.admin import ReadOnlyInline, ScopedAdmin
from registry.models import Guardian, Pupil
from rosters.models import RosterExport, RosterImport
from rosters.resources import RosterResource


@admin.register(RosterImport)
class RosterImportAdmin(ImportMixin, ScopedAdmin):
    """Roster jobs of the 花名册 page, and the admin's own import of pupils from a roster
    file through ``RosterResource`` (dry run and confirmation are django-import-export's)."""

    resource_classes = [RosterResource]
    list_display = ("id", "created_at", "created_by_name", "original_name", "status", "mode", "total_rows",
                    "new_rows", "unchanged_rows", "refused_rows", "imported_rows")
    list_filter = ("status", "mode")
    readonly_fields = [f.name for f in RosterImport._meta.fields]


@admin.register(RosterExport)
class RosterExportAdmin(ScopedAdmin):
    list_display = ("at", "actor_name", "unit_code", "filters", "row_count")
    readonly_fields = [f.name for f in RosterExport._meta.fields]


class GuardianInline(ReadOnlyInline):
    model = Guardian


@admin.register(Pupil)
class PupilAdmin(ImportExportMixin, ScopedAdmin):
    """Read-only; roster import/export (花名册) in the admin runs the same checks and writes
    as the school page."""

    resource_classes = [RosterResource]
    list_display = ("national_number", "name", "sex", "birth_date", "school", "grade", "status")
    list_filter = ("status", "grade")
    search_fields = ("=national_number", "=id_number", "^name")
    raw_id_fields = ("school", "school_class", "hukou_division")
    readonly_fields = ("national_number", "county_code")
    inlines = [GuardianInline]
    show_full_result_count = False
