"""Add or change a peer registry; ``--load FILE`` reads a JSON list of peers instead.

The JSON is ``[{"name": ..., "provinces": ["45"], "base_url": ..., "public_key": ..., "active": true}]``
(see docs/exchange.md).
"""

from django.core.management.base import BaseCommand, CommandError

from exchange import peers


class Command(BaseCommand):
    help = "Add or update a peer registry (name, province codes, base URL, public key)."

    def add_arguments(self, parser):
        parser.add_argument("--load", help="a JSON file with a list of peers")
        parser.add_argument("--name")
        parser.add_argument("--provinces", help="comma-separated two-digit province codes, e.g. 45")
        parser.add_argument("--url")
        parser.add_argument("--public-key")
        parser.add_argument("--inactive", action="store_true")

    def handle(self, *args, load, name, provinces, url, public_key, inactive, **options):
        try:
            if load:
                loaded = peers.peers_load(load)
                self.stdout.write(f"{len(loaded)} peers loaded")
                return
            if not (name and provinces and url and public_key):
                raise CommandError("--name, --provinces, --url and --public-key are needed (or --load FILE)")
            peer = peers.peer_save({"name": name, "provinces": provinces.split(","), "base_url": url,
                                    "public_key": public_key, "active": not inactive})
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"peer {peer}")
