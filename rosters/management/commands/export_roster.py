"""``python manage.py export_roster --user USERNAME (--school CODE | --county CODE) [--grade N]
[--class N] --output FILE.xlsx``: the 花名册 as the user may see it (scoped and audited)."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.audit import acting_as
from kernel.errors import RegistryError
from rosters import exporting


class Command(BaseCommand):
    help = "Export a roster (花名册) of a county, school, grade or class as xlsx."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="username of the acting user")
        parser.add_argument("--school", default="", help="10-digit school code")
        parser.add_argument("--county", default="", help="6-digit county code")
        parser.add_argument("--grade", type=int)
        parser.add_argument("--class", dest="class_number", type=int)
        parser.add_argument("--output", required=True, help="path of the xlsx to write")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {options['user']!r}")
        filters = exporting.RosterFilter(county=options["county"], school=options["school"], grade=options["grade"],
                                      class_number=options["class_number"])
        with acting_as(user, command="export_roster"):
            try:
                content, _name, count = exporting.roster_export(user=user, filters=filters)
            except RegistryError as exc:
                raise CommandError(f"{exc.code}: {exc.message}") from exc
        Path(options["output"]).write_bytes(content)
        self.stdout.write(f"{count} pupils written to {options['output']}")
