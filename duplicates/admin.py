from django.contrib import admin

from duplicates.models import CaseMember, CleanPair, DuplicateCase, DuplicateSweep, IdentityCheckRun


@admin.register(DuplicateSweep)
class DuplicateSweepAdmin(admin.ModelAdmin):
    list_display = ("pk", "province", "status", "partitions_done", "partitions_total", "pairs_scored", "cases_found",
                    "started_at", "finished_at")
    list_filter = ("province", "status")
    readonly_fields = [f.name for f in DuplicateSweep._meta.fields]


class CaseMemberInline(admin.TabularInline):
    model = CaseMember
    extra = 0
    readonly_fields = ("pupil", "county_code")
    can_delete = False


@admin.register(DuplicateCase)
class DuplicateCaseAdmin(admin.ModelAdmin):
    """Read-only: cases are resolved by counties through the service, never edited here."""

    list_display = ("pk", "province", "score", "kind", "source", "status", "resolution", "created_at")
    list_filter = ("province", "status", "resolution", "source", "kind")
    inlines = [CaseMemberInline]
    readonly_fields = [f.name for f in DuplicateCase._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(CleanPair)
class CleanPairAdmin(admin.ModelAdmin):
    list_display = ("pupil_low", "pupil_high", "case", "created_at")
    readonly_fields = ("pupil_low", "pupil_high", "case", "created_at")


@admin.register(IdentityCheckRun)
class IdentityCheckRunAdmin(admin.ModelAdmin):
    list_display = ("pk", "province", "source_name", "checked", "passed", "not_found", "mismatched", "created_at")
    readonly_fields = [f.name for f in IdentityCheckRun._meta.fields]
