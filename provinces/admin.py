from django.contrib import admin

from provinces.models import CalendarOverride, Division, ProvincePolicy


@admin.register(Division)
class DivisionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("^code", "name")


@admin.register(ProvincePolicy)
class ProvincePolicyAdmin(admin.ModelAdmin):
    list_display = ("province",)


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin):
    list_display = ("province", "day", "is_working_day", "note")
    list_filter = ("province", "is_working_day")
