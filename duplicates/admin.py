from django.contrib import admin

from accounts.admin import ReadOnlyAdmin, ReadOnlyInline
from duplicates.models import CaseMember, CleanPair, DuplicateCase, DuplicateSweep, IdentityCheckRun


@admin.register(DuplicateSweep)
class DuplicateSweepAdmin(ReadOnlyAdmin):
    list_display = ("pk", "province", "status", "partitions_done", "partitions_total", "pairs_scored", "cases_found",
                    "started_at", "finished_at")
    list_filter = ("province", "status")
    readonly_fields = [f.name for f in DuplicateSweep._meta.fields]


class CaseMemberInline(ReadOnlyInline):
    model = CaseMember
    readonly_fields = ("pupil", "county_code")


@admin.register(DuplicateCase)
class DuplicateCaseAdmin(ReadOnlyAdmin):
    """Read-only: cases are resolved by counties through the service, never edited here."""

    list_display = ("pk", "province", "score", "kind", "source", "status", "resolution", "created_at")
    list_filter = ("province", "status", "resolution", "source", "kind")
    inlines = [CaseMemberInline]
    readonly_fields = [f.name for f in DuplicateCase._meta.fields]


@admin.register(CleanPair)
class CleanPairAdmin(ReadOnlyAdmin):
    list_display = ("pupil_low", "pupil_high", "case", "created_at")
    readonly_fields = ("pupil_low", "pupil_high", "case", "created_at")


@admin.register(IdentityCheckRun)
class IdentityCheckRunAdmin(ReadOnlyAdmin):
    list_display = ("pk", "province", "source_name", "checked", "passed", "not_found", "mismatched", "created_at")
    readonly_fields = [f.name for f in IdentityCheckRun._meta.fields]
