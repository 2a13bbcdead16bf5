"""``python manage.py load_demo``: the demo province (演示数据) — see docs/demo-data.md."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from devtools import demo
from reports.snapshot import pupil_counts_refresh


class Command(BaseCommand):
    help = "生成演示数据：一个真实省份的学校、班级、学生、家庭成员和各单位账号。"

    def add_arguments(self, parser):
        parser.add_argument("--pupils", type=int, default=demo.DEFAULT_PUPILS, help="学生人数（默认 20000）")
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="随机种子（相同种子生成相同数据）")
        parser.add_argument("--province", default=demo.DEFAULT_PROVINCE, help="省级区划代码（默认 44 广东）")
        parser.add_argument("--schools", type=int, default=None,
                            help="学校数（默认约 30 所，学生多时按每校约 1200 人增加）")
        parser.add_argument("--reset", action="store_true", help="先删除已有的演示学生、学校和账号")
        parser.add_argument("--audit-rows", action="store_true",
                            help="批量写入时保留逐行审计触发器（较慢；默认只记一条汇总审计）")

    def handle(self, *args, **options):
        if options["pupils"] < 0:
            raise CommandError("--pupils 不能为负数。")
        if options["schools"] is not None and options["schools"] < 1:
            raise CommandError("--schools 至少为 1。")
        try:
            summary = demo.demo_load(
                pupils=options["pupils"],
                seed=options["seed"],
                province=options["province"],
                schools=options["schools"],
                reset=options["reset"],
                audit_rows=options["audit_rows"],
                progress=self._progress if options["verbosity"] >= 1 else None,
            )
        except demo.Division.DoesNotExist:
            raise CommandError(f"省级区划代码“{options['province']}”不存在。") from None
        if summary.created:
            pupil_counts_refresh()  # the statistics pages count from it at once, not in 10 minutes
            self.stdout.write(self.style.SUCCESS(
                f"演示数据已生成：{summary.province.name}，{len(summary.schools)} 所学校，"
                f"{summary.pupils} 名学生（其中无身份证号 {summary.no_id_pupils} 名、休学 {summary.suspended} 名），"
                f"{summary.guardians} 名家庭成员，{summary.users} 个账号，用时 {summary.seconds:.1f} 秒。"
            ))
        else:
            self.stdout.write(
                f"演示数据已存在（{summary.province.name}，{len(summary.schools)} 所学校，{summary.pupils} 名学生），"
                "未做任何改动；如需重新生成请加 --reset。"
            )
        for line in demo.logins_summary(summary):
            self.stdout.write(line)

    def _progress(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()
