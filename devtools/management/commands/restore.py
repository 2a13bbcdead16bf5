"""``manage.py restore FILE``: an archive of ``manage.py backup`` into an empty database and
media folder (a fresh ``var/``), checked against the archive's row counts."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from devtools.backup import BackupError, backup_restore
from devtools.management.commands.backup import stop_embedded_started_here


class Command(BaseCommand):
    help = "Restore a backup archive into an empty database and media folder."

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path)
        parser.add_argument("--stop-embedded", action="store_true",
                            help="stop the embedded servers this command started (make restore)")
        parser.add_argument("--database", default="default", help="database alias (default)")
        parser.add_argument("--media-root", type=Path, default=None, help="media folder (MEDIA_ROOT)")

    def handle(self, *args, stop_embedded, archive, database, media_root, **options):
        if not archive.is_file():
            raise CommandError(_("找不到备份文件 %(path)s") % {"path": archive})
        try:
            report = backup_restore(archive=archive, alias=database, media_root=media_root)
        except BackupError as error:
            raise CommandError(_("恢复失败：%(error)s") % {"error": error}) from error
        finally:
            if stop_embedded:
                stop_embedded_started_here()
        self.stdout.write(
            _("已从 %(path)s 恢复：%(tables)s 张表，%(rows)s 行，%(files)s 个上传文件（备份时间 %(at)s）")
            % {"path": archive, "tables": report.tables, "rows": report.rows, "files": report.media_files,
               "at": report.manifest["created_at"]}
        )
