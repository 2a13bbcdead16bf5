"""The stored name sound keys are qualified by the birth year (``duplicates.keys.year_keys``:
``2016:wang-zi-xuan``): a probe of a key at entry meets the children of that year only
instead of every child of the province with that sound. The column becomes ``text[]``
(a qualified key of a long name no longer fits 80 characters).

One rewrite of the table in SQL, without its GIN index (rebuilt after): on a province of a
million pupils it takes seconds (BENCHMARKS.md), where updating the rows one by one through
the index took minutes."""

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
from django.db import migrations, models

TABLE = "provinces_pupilmatchkey"

FORWARD = f"""
CREATE FUNCTION pg_temp.year_keys(year integer, keys varchar[]) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(year || ':' || key ORDER BY position), '{{}}')
    FROM unnest(keys) WITH ORDINALITY AS k(key, position) $$;
ALTER TABLE {TABLE} ALTER COLUMN sound_keys TYPE text[] USING pg_temp.year_keys(birth_year, sound_keys);
DROP FUNCTION pg_temp.year_keys(integer, varchar[]);
"""

BACKWARD = f"""
CREATE FUNCTION pg_temp.plain_keys(keys text[]) RETURNS varchar(80)[] LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(left(regexp_replace(key, '^[0-9]+:', ''), 80) ORDER BY position), '{{}}')
    FROM unnest(keys) WITH ORDINALITY AS k(key, position) $$;
ALTER TABLE {TABLE} ALTER COLUMN sound_keys TYPE varchar(80)[] USING pg_temp.plain_keys(sound_keys);
DROP FUNCTION pg_temp.plain_keys(text[]);
"""


class Migration(migrations.Migration):

    dependencies = [
        ("duplicates", "0015_sweep_ask_peers"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="pupilmatchkey", name="matchkey_sound_gin"),
        migrations.RunSQL(
            FORWARD, BACKWARD,
            state_operations=[
                migrations.AlterField(
                    model_name="pupilmatchkey",
                    name="sound_keys",
                    field=django.contrib.postgres.fields.ArrayField(base_field=models.TextField(), default=list,
                                                                    size=None),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="pupilmatchkey",
            index=django.contrib.postgres.indexes.GinIndex(fastupdate=False, fields=["sound_keys"],
                                                           name="matchkey_sound_gin"),
        ),
    ]
