"""``manage.py backup``: one archive with the database dump and every upload (devtools.backup)."""

from __future__ import annotations

import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from devtools.backup import BackupError, backup_create


class Command(BaseCommand):
    help = "Back up the database (pg_dump) and the uploads into one archive under var/backups/."

    def add_arguments(self, parser):
        parser.add_argument("--stop-embedded", action="store_true",
                            help="stop the embedded servers this command started (make backup)")
        parser.add_argument("--output", type=Path, default=None, help="folder of the archive (var/backups/)")

    def handle(self, *args, stop_embedded, output, **options):
        output = output or Path(settings.VAR_DIR) / "backups"
        try:
            archive = backup_create(output_dir=output)
        except BackupError as error:
            raise CommandError(_("备份失败：%(error)s") % {"error": error}) from error
        finally:
            if stop_embedded:
                stop_embedded_started_here()
        self.stdout.write(_("备份已写入 %(path)s（%(size).1f MB）") % {"path": archive, "size": archive.stat().st_size / 1e6})


def stop_embedded_started_here() -> None:
    """``make backup`` / ``make restore`` leave no embedded server running they started."""
    embedded = sys.modules.get("devtools.embedded")
    if embedded is not None:
        from django.db import connections

        connections.close_all()
        embedded.stop_started()
