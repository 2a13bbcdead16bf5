"""``python manage.py sweep_duplicates --province 44 [--partitions 8] [--inline] [--incremental] [--ask-peers] [--json FILE]``

Runs a province-wide duplicate sweep as the province's admin: through Celery workers (waits
for them, printing progress), or in this process with ``--inline``. ``--json FILE`` writes
every open case of the province (found at entry or by any sweep) with score, reasons and
members (national number, ID number, name, birth date, school code).
"""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Membership
from duplicates import selectors, sweeps
from duplicates.models import DuplicateSweep
from kernel.errors import RegistryError


class Command(BaseCommand):
    help = "全省查重（duplicate sweep of one province）"

    def add_arguments(self, parser):
        parser.add_argument("--province", required=True, help="省级区划代码，如 44")
        parser.add_argument("--partitions", type=int, default=sweeps.DEFAULT_PARTITIONS)
        parser.add_argument("--inline", action="store_true", help="在本进程内运行，不使用 Celery")
        parser.add_argument("--incremental", action="store_true",
                            help="增量查重：只比对上次查重开始以来写入的学籍（与全省比对）")
        parser.add_argument("--ask-peers", action="store_true",
                            help="全量查重同时询问外省学籍系统（本省全部在籍身份证号分批发给每个外省）")
        parser.add_argument("--json", dest="json_file", help="把本省全部待处理案件写入 JSON 文件")
        parser.add_argument("--timeout", type=int, default=3600, help="等待 Celery 完成的秒数")

    def handle(self, *args, province: str, partitions: int, inline: bool, json_file: str | None, timeout: int,
               incremental: bool = False, ask_peers: bool = False, **options):
        admin = (Membership.objects.select_related("user").filter(role=Membership.Role.ADMIN, division_id=province)
                 .first())
        if admin is None:
            raise CommandError(f"省 {province} 没有省级管理员账号（查重以其名义运行并记录审计）")
        try:
            if inline:
                sweep = sweeps.sweep_run_inline(user=admin.user, province_code=province, partitions=partitions,
                                                incremental=incremental, ask_peers=ask_peers)
            else:
                sweep = sweeps.sweep_start(user=admin.user, province_code=province, partitions=partitions,
                                           incremental=incremental, ask_peers=ask_peers)
                sweep = self._wait(sweep, timeout)
        except RegistryError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        p = selectors.sweep_progress(sweep)
        self.stdout.write(
            f"sweep {p['id']} {p['status']}: partitions {p['partitions_done']}/{p['partitions_total']}, "
            f"blocks {p['blocks_done']}, pairs scored {p['pairs_scored']}, new cases {p['cases_found']}")
        if json_file:
            cases = selectors.open_cases_export(province)
            with open(json_file, "w", encoding="utf-8") as out:
                json.dump({"province": province, "open_cases": cases}, out, ensure_ascii=False, indent=1)
            self.stdout.write(f"{len(cases)} open case(s) written to {json_file}")

    def _wait(self, sweep: DuplicateSweep, timeout: int) -> DuplicateSweep:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sweep.refresh_from_db()
            if sweep.status == DuplicateSweep.Status.FINISHED:
                return sweep
            self.stdout.write(f"  {sweep.partitions_done}/{sweep.partitions_total} partitions…")
            time.sleep(2)
        raise CommandError(f"查重 {sweep.pk} 未在 {timeout} 秒内完成（Celery 工作进程是否在运行？可用 --inline）")
