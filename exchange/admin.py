from django.contrib import admin

from exchange.models import Peer


@admin.register(Peer)
class PeerAdmin(admin.ModelAdmin):
    """Peers are configured (``exchange_peer`` command, ``EXCHANGE_PEERS_FILE``); the admin shows them."""

    list_display = ("name", "provinces", "base_url", "active")
    readonly_fields = ("name", "provinces", "base_url", "public_key", "active")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
