from django.contrib import admin

from accounts.admin import ScopedAdmin
from schools.models import School, SchoolClass


@admin.register(School)
class SchoolAdmin(ScopedAdmin):
    list_display = ("code", "name", "county", "stage")
    list_filter = ("stage",)
    search_fields = ("=code", "name")
    raw_id_fields = ("county",)


@admin.register(SchoolClass)
class SchoolClassAdmin(ScopedAdmin):
    list_display = ("school", "grade", "number", "name")
    raw_id_fields = ("school",)


# --- 花名册 (roster) ---------------------------------------------------------------------

from import_export.admin import ImportMixin  # noqa: E402

from schools.models import RosterExport, RosterImport  # noqa: E402
from schools.roster_resources import RosterResource  # noqa: E402


@admin.register(RosterImport)
class RosterImportAdmin(ImportMixin, ScopedAdmin):
    """Roster jobs of the 花名册 page, and the admin's own import of pupils from a roster
    file through ``RosterResource`` (dry run and confirmation are django-import-export's)."""

    resource_classes = [RosterResource]
    list_display = ("id", "created_at", "created_by_name", "original_name", "status", "mode", "total_rows",
                    "new_rows", "unchanged_rows", "refused_rows", "imported_rows")
    list_filter = ("status", "mode")
    readonly_fields = [f.name for f in RosterImport._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RosterExport)
class RosterExportAdmin(ScopedAdmin):
    list_display = ("at", "actor_name", "unit_code", "filters", "row_count")
    readonly_fields = [f.name for f in RosterExport._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
