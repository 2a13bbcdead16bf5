"""More national code tables in existing databases: ID types 2–5 and B, 入学方式, 残疾人类型, 政治面貌.

身份证件类型 gains 军官证, 士兵证, 文职干部证, 部队离退休证 (2–5) and 户口簿 (B); the tables
入学方式 (``enrolment_mode``), 残疾人类型 (``disability``) and 政治面貌 (``political_status``,
GB/T 4762) are new, as ``fixtures/codes.json`` now ships them.

Only a filled code table is touched (an empty one is loaded from the fixture by
``load_reference_data``), an item already there (same table and code) is kept as it is, and
running it again changes nothing.
"""

from django.db import migrations

#: (table, code, name)
ITEMS = (
    ("id_type", "2", "军官证"),
    ("id_type", "3", "士兵证"),
    ("id_type", "4", "文职干部证"),
    ("id_type", "5", "部队离退休证"),
    ("id_type", "B", "户口簿"),
    ("enrolment_mode", "1", "就近入学"),
    ("enrolment_mode", "2", "相对就近入学"),
    ("enrolment_mode", "3", "统一招生考试/统招"),
    ("enrolment_mode", "4", "民办学校招生"),
    ("enrolment_mode", "9", "其他"),
    ("disability", "1", "视力残疾"),
    ("disability", "2", "听力残疾"),
    ("disability", "3", "言语残疾"),
    ("disability", "4", "肢体残疾"),
    ("disability", "5", "智力残疾"),
    ("disability", "6", "精神残疾"),
    ("disability", "7", "多重残疾"),
    ("disability", "9", "其他残疾"),
    ("political_status", "01", "中共党员"),
    ("political_status", "02", "中共预备党员"),
    ("political_status", "03", "共青团员"),
    ("political_status", "04", "民革会员"),
    ("political_status", "05", "民盟盟员"),
    ("political_status", "06", "民建会员"),
    ("political_status", "07", "民进会员"),
    ("political_status", "08", "农工党党员"),
    ("political_status", "09", "致公党党员"),
    ("political_status", "10", "九三学社社员"),
    ("political_status", "11", "台盟盟员"),
    ("political_status", "12", "无党派人士"),
    ("political_status", "13", "群众"),
)


def add_items(apps, schema_editor):
    CodeItem = apps.get_model("registry", "CodeItem")
    if not CodeItem.objects.exists():
        return
    for table, code, name in ITEMS:
        CodeItem.objects.get_or_create(table=table, code=code, defaults={"name": name})


class Migration(migrations.Migration):

    dependencies = [
        ("registry", "0009_audit_append_only"),
    ]

    operations = [
        migrations.RunPython(add_items, migrations.RunPython.noop),
    ]
