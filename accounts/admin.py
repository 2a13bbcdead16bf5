from django.contrib import admin

from accounts.models import ApiToken, Membership
from accounts.scope import restrict


class ScopedAdmin(admin.ModelAdmin):
    """Admin lists go through the same scope function as every other read."""

    def get_queryset(self, request):
        return restrict(super().get_queryset(request), request.user)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "school", "division")
    list_filter = ("role",)
    raw_id_fields = ("user", "school", "division")
    search_fields = ("user__username",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at")
