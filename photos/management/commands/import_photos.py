"""``python manage.py import_photos ZIP --school CODE [--user USERNAME] [--report FILE.json]``.

The same bulk import as the upload page, run in this process. Without ``--user`` it acts
as the school's first active 学籍管理员 (operator) and says so; the audit records the command.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from accounts.audit import acting_as
from accounts.models import Membership
from kernel.errors import RegistryError
from photos import imports, reports
from schools.models import School


class Command(BaseCommand):
    help = "Import a ZIP of pupil photos for one school and print (or write) the per-file report."

    def add_arguments(self, parser):
        parser.add_argument("zip", help="path of the ZIP file")
        parser.add_argument("--school", required=True, help="10-digit school code (学校标识码)")
        parser.add_argument("--user", help="username of the acting user (default: the school's operator)")
        parser.add_argument("--report", help="write the report as JSON to this file")

    def handle(self, *args, **options):
        school = School.objects.filter(code=options["school"]).first()
        if school is None:
            raise CommandError(f"no school with code {options['school']}")
        user = self._user(school, options.get("user"))
        path = Path(options["zip"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            with path.open("rb") as fh, acting_as(user, command="import_photos"):
                job = imports.photo_bulk_start(user=user, school=school, upload=File(fh, name=path.name),
                                              file_name=path.name, enqueue=False)
                job = imports.photo_import_run_inline(job=job)
        except RegistryError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        report = [
            {"entry": r["entry"], "status": r["status"], "code": r["code"], "message": r["message"]}
            for r in reports.photo_import_report(user=user, job=job)
        ]
        if options.get("report"):
            Path(options["report"]).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        else:
            for row in report:
                self.stdout.write(f"{row['status']}\t{row['code']}\t{row['entry']}\t{row['message']}")
        self.stdout.write(
            f"job {job.pk} {job.state}: {job.total} entries, {job.accepted} accepted "
            f"({job.unchanged} unchanged), {job.refused} refused, {job.ignored} ignored"
        )
        if job.state == job.State.FAILED:
            raise CommandError(f"{job.error_code}: {job.error_message}")

    def _user(self, school: School, username: str | None):
        if username:
            user = get_user_model().objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(f"no active user {username}")
            return user
        membership = (
            Membership.objects.select_related("user")
            .filter(school=school, role=Membership.Role.OPERATOR, user__is_active=True)
            .order_by("pk")
            .first()
        )
        if membership is None:
            raise CommandError(f"school {school.code} has no active operator; pass --user")
        self.stderr.write(f"acting as {membership.user.get_username()} (operator of {school.code})")
        return membership.user
