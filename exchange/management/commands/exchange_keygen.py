"""Make this registry's Ed25519 key: write the private key to a file, print the public key."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from exchange import signing


class Command(BaseCommand):
    help = "Generate the exchange signing key (private key to FILE, public key printed for the peers)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="where to write the private key (mode 600); set EXCHANGE_PRIVATE_KEY_FILE")
        parser.add_argument("--force", action="store_true", help="overwrite an existing file")

    def handle(self, *args, file, force, **options):
        path = Path(file)
        if path.exists() and not force:
            raise CommandError(f"{path} exists (use --force to replace it; the peers must then get the new key)")
        private, public = signing.key_generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(private + "\n")
        self.stdout.write(public)
