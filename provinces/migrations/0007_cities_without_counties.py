"""Cities without counties (不设区的地级市) get their county-level unit in existing databases.

东莞市, 中山市, 儋州市 and 嘉峪关市 have no county (区县) below them, but schools and pupils'
户口所在地 are registered at county level, so each gets a county-level division of its own
name (``441900`` 东莞市, parent ``4419``), as ``fixtures/divisions.json`` now ships them.

Only a database whose division table is filled is touched (an empty table is loaded from the
fixture by ``load_reference_data``, which loads only into an empty table), only for a city
present, and a row already there is kept as it is: running it again changes nothing.
"""

from django.db import migrations

#: (county code, name, parent city code)
COUNTIES = (
    ("441900", "东莞市", "4419"),
    ("442000", "中山市", "4420"),
    ("460400", "儋州市", "4604"),
    ("620200", "嘉峪关市", "6202"),
)


def add_counties(apps, schema_editor):
    Division = apps.get_model("provinces", "Division")
    present = set(Division.objects.filter(code__in=[city for _, _, city in COUNTIES]).values_list("code", flat=True))
    for code, name, city in COUNTIES:
        if city in present:
            Division.objects.get_or_create(code=code, defaults={"name": name, "level": "county", "parent_id": city})


class Migration(migrations.Migration):

    dependencies = [
        ("provinces", "0006_merge_audit_and_guards"),
    ]

    operations = [
        migrations.RunPython(add_counties, migrations.RunPython.noop),
    ]
