"""The Django admin is no side door: the registry's records (pupils and their numbers and
statuses, schools and classes, every chain and case, accounts and tokens) are read-only
there. They change only through the services — the pages, the API, the commands, or an
admin action that calls a service (the roster import of ``rosters.admin``)."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from accounts.models import AccountEvent, ApiToken, Membership
from accounts.scope import restrict


class ReadOnlyAdminMixin:
    """No add, change or delete (nor the bulk "delete selected" action) in the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False


class ScopedAdmin(ReadOnlyAdmin):
    """Admin lists go through the same scope function as every other read; read-only."""

    def get_queryset(self, request):
        return restrict(super().get_queryset(request), request.user)


@admin.register(AccountEvent)
class AccountEventAdmin(ScopedAdmin):
    list_display = ("created_at", "action", "username", "actor_username", "actor_unit", "ip_address")
    list_filter = ("action",)
    search_fields = ("=username", "=actor_username")


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    """Accounts are run on the account pages (``accounts.views``), which record every change."""

    list_display = ("user", "role", "school", "division")
    list_filter = ("role",)
    raw_id_fields = ("user", "school", "division")
    search_fields = ("user__username",)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at")


class ReadOnlyUserAdmin(ReadOnlyAdmin, UserAdmin):
    """Users are read-only too: accounts are made and changed on the account pages (or by
    ``create_account``, ``changepassword`` on the server), which record every change."""


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), ReadOnlyUserAdmin)
