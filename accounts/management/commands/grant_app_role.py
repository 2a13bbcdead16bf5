"""``manage.py grant_app_role ROLE``: the application's non-owner role (accounts.db_roles)."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts.db_roles import grant_app_role


class Command(BaseCommand):
    help = ("Create or update the application's database role: it may read and write records "
            "but never update or delete audit rows. Run as the database owner after migrate.")

    def add_arguments(self, parser):
        parser.add_argument("role", help="name of the application role, e.g. registry_app")
        parser.add_argument("--password-env", default="APP_DB_PASSWORD",
                            help="environment variable holding the role's password (default APP_DB_PASSWORD)")

    def handle(self, *args, role, password_env, **options):
        if not role.replace("_", "").isalnum() or len(role) > 63:
            raise CommandError(_("角色名只能包含字母、数字和下划线，且不超过 63 个字符：%(role)s") % {"role": role})
        grants = grant_app_role(role, password=os.environ.get(password_env) or None)
        self.stdout.write(_("角色 %(role)s：%(tables)s 张表可读写，其中 %(events)s 张审计表只可读和追加")
                          % {"role": grants.role, "tables": grants.tables, "events": grants.event_tables})
