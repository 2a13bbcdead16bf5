"""``manage.py promote --user <province admin> [--year 2026] [--inline]``: the yearly promotion (升级).

Queues one Celery task per school (or, with ``--inline``, promotes here, school by school)
and prints the report. Safe to run again: schools already promoted that year are skipped.
"""

from __future__ import annotations

from celery import current_app
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from changes import promotions, selectors
from kernel.errors import RegistryError


class Command(BaseCommand):
    help = "Run the yearly promotion (升级) of the user's province."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="username of a province admin (the acting user)")
        parser.add_argument("--year", type=int, help="school year (the year it starts); default the one under way")
        parser.add_argument("--inline", action="store_true", help="promote here instead of queueing Celery tasks")

    def handle(self, *args, user, year, inline, **options):
        actor = get_user_model().objects.filter(username=user).first()
        if actor is None:
            raise CommandError(f"no user {user!r}")
        try:
            if inline:
                current_app.conf.task_always_eager = True  # the queued per-school tasks run right here
            run = promotions.promotion_start(user=actor, school_year=year)
        except RegistryError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        progress = selectors.promotion_progress(run)
        self.stdout.write(
            f"school year {progress['school_year']}: {progress['done']}/{progress['total']} schools done, "
            f"{progress['moved']} moved, {progress['stayed']} stayed for graduation"
        )
        for key, n in progress["moved_by_grade"].items():
            self.stdout.write(f"  {key}: {n}")
