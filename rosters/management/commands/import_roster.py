"""``python manage.py import_roster FILE --user USERNAME [--dry-run] [--all-or-nothing]
[--keep-likely-duplicates] [--report FILE]``.

The same import as the 花名册 page, run in this process: a dry run over every row, then
(unless ``--dry-run``) the confirmed import — the good rows, or with ``--all-or-nothing``
nothing unless every row is good. Prints a summary; ``--report`` writes the row report
(CSV, or xlsx when the name ends in .xlsx).
"""

from __future__ import annotations

import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.audit import acting_as
from kernel.errors import RegistryError
from rosters import jobs, reading, reports
from rosters.models import RosterImport


class Command(BaseCommand):
    help = "Import a roster (花名册, xlsx or CSV): dry run, then import the good rows or all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", help="path of the xlsx or CSV file")
        parser.add_argument("--user", required=True, help="username of the acting user (学籍管理员)")
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
        parser.add_argument("--all-or-nothing", action="store_true", help="import nothing unless every row is good")
        parser.add_argument("--keep-likely-duplicates", action="store_true",
                            help="import rows that look like an existing pupil (the county gets a case)")
        parser.add_argument("--report", help="write the row report to this file (.csv or .xlsx)")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {options['user']!r}")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        started = time.monotonic()
        with acting_as(user, command="import_roster"):
            try:
                job = jobs.roster_upload(user=user, content=path.read_bytes(), file_name=path.name,
                                           keep_likely_duplicates=options["keep_likely_duplicates"])
                job = jobs.roster_check(job_id=job.pk)
                if job.status == RosterImport.Status.FAILED:
                    raise CommandError(f"{job.error['code']}: {job.error['message']}")
                self._summary("预检 dry run", job)
                if not options["dry_run"]:
                    mode = RosterImport.Mode.ALL_OR_NOTHING if options["all_or_nothing"] else RosterImport.Mode.GOOD_ROWS
                    if mode == RosterImport.Mode.ALL_OR_NOTHING and job.refused_rows:
                        self.stdout.write(f"all-or-nothing: {job.refused_rows} row(s) refused, nothing imported")
                    else:
                        job = jobs.roster_confirm(user=user, job_id=job.pk, mode=mode)
                        job = jobs.roster_import_rows(job_id=job.pk)
                        self._summary("导入 import", job)
            except RegistryError as exc:
                raise CommandError(f"{exc.code}: {exc.message}") from exc
        if options.get("report"):
            target = Path(options["report"])
            file_format = reading.XLSX if target.suffix.lower() == ".xlsx" else reading.CSV
            target.write_bytes(reports.report_bytes(job, file_format=file_format))
            self.stdout.write(f"row report: {target}")
        self.stdout.write(f"job {job.pk}: {job.get_status_display()} in {time.monotonic() - started:.1f} s")

    def _summary(self, title: str, job: RosterImport) -> None:
        self.stdout.write(
            f"{title}: rows={job.total_rows} new={job.new_rows} unchanged={job.unchanged_rows} "
            f"refused={job.refused_rows} imported={job.imported_rows}"
        )
        for row in job.refused[:20]:
            for p in row["problems"]:
                self.stdout.write(f"  row {row['row']} {p['column']} [{p['code']}] {p['message']}")
        if len(job.refused) > 20:
            self.stdout.write(f"  … {len(job.refused) - 20} more refused rows in the report")
