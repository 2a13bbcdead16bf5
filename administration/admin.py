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
