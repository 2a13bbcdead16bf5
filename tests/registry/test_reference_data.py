"""Compose's ``migrate`` runs ``load_reference_data`` on every deploy: fixtures go only into
empty tables, so a division or code item edited since is never overwritten."""

from __future__ import annotations

import io

from django.core.management import call_command

from provinces.models import Division
from registry.models import CodeItem


def run() -> str:
    out = io.StringIO()
    call_command("load_reference_data", stdout=out)
    return out.getvalue()


def test_a_second_deploy_keeps_edited_divisions_and_codes(db):
    Division.objects.filter(code="44").update(name="广东省（已编辑）")
    item = CodeItem.objects.order_by("pk").first()
    CodeItem.objects.filter(pk=item.pk).update(name="已编辑")
    output = run()
    assert "保留现有内容不覆盖" in output and "已载入" not in output
    assert Division.objects.get(code="44").name == "广东省（已编辑）"
    assert CodeItem.objects.get(pk=item.pk).name == "已编辑"


def test_an_empty_table_is_loaded(db):
    count = CodeItem.objects.count()
    CodeItem.objects.all().delete()
    output = run()
    assert "已载入 codes.json" in output
    assert "divisions.json 对应的表已有数据" in output
    assert CodeItem.objects.count() == count
