"""``manage.py archive_audit --before YYYY-MM`` / ``--load FOLDER`` (accounts.audit_archive)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts.audit_archive import audit_archive, audit_load
from kernel.errors import ValidationFailed


class Command(BaseCommand):
    help = "Move audit events older than a month into compressed files (or load such files back)."

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--before", help="archive the events before the first day of this month (YYYY-MM)")
        action.add_argument("--load", type=Path, help="load an archived month folder back")
        parser.add_argument("--folder", type=Path, default=None, help="archive folder (AUDIT_ARCHIVE_DIR)")

    def handle(self, *args, before, load, folder, **options):
        try:
            if load is not None:
                loaded = audit_load(folder=load)
                self.stdout.write(_("已载回 %(rows)s 条审计记录（%(tables)s 张表）")
                                  % {"rows": sum(loaded.values()), "tables": len(loaded)})
                return
            folder = folder or Path(settings.AUDIT_ARCHIVE_DIR)
            results = audit_archive(before=before, folder=folder)
        except ValidationFailed as error:
            raise CommandError(str(error.message)) from error
        moved = [r for r in results if r.rows]
        for result in moved:
            self.stdout.write(f"{result.table}: {result.rows} → {result.path}")
        self.stdout.write(_("已归档 %(rows)s 条 %(before)s 之前的审计记录到 %(folder)s")
                          % {"rows": sum(r.rows for r in moved), "before": before, "folder": folder / before})
