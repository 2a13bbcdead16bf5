"""``python manage.py create_account USERNAME --unit CODE --role ROLE [--name NAME]``: the first
accounts of an installation (e.g. the province's admin), made on the server.

Later accounts are made by the level above on ``/accounts/`` (docs/accounts.md). A one-time
password is printed once on stdout; it must be changed at the first login.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.services import ASSIGNABLE, account_create_on_server
from kernel.errors import RegistryError


class Command(BaseCommand):
    help = "在服务器上创建账号（如省级管理员），打印一次性初始密码；首次登录须修改密码。"

    def add_arguments(self, parser):
        parser.add_argument("username", help="用户名，例如 44.admin")
        parser.add_argument("--unit", required=True, help="单位代码：10 位学校标识码或区划代码，例如 44")
        parser.add_argument("--role", required=True, choices=[str(r) for r in ASSIGNABLE], help="角色")
        parser.add_argument("--name", default="", help="姓名")

    def handle(self, *args, username, unit, role, name="", **options):
        try:
            user, password = account_create_on_server(unit_code=unit, username=username, role=role, full_name=name)
        except RegistryError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(password)
        self.stderr.write(f"已创建账号 {user.username}（{user.membership.unit_name}，{user.membership.get_role_display()}）。"
                          "初始密码只显示这一次，首次登录须修改。")
