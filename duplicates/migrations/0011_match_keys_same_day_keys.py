"""The stored name keys of every pupil gain the same-day ``d:``/``e:`` keys
(``kernel.matching.blocking.date_name_keys``): the check at entry looks children born the
same day up through them instead of reading every child of the province born that day."""

from django.db import migrations

BATCH = 5000


def add_same_day_keys(apps, schema_editor):
    from kernel import matching

    MatchKey = apps.get_model("duplicates", "PupilMatchKey")
    Pupil = apps.get_model("registry", "Pupil")
    pks = list(MatchKey.objects.order_by("pupil_id").values_list("pupil_id", flat=True))
    for start in range(0, len(pks), BATCH):
        batch = pks[start:start + BATCH]
        rows = []
        for pk, name, former, sex, birth_date in Pupil.objects.filter(pk__in=batch).values_list(
                "pk", "name", "former_name", "sex", "birth_date"):
            record = matching.PupilKey(pk=pk, name=name, sex=sex, birth_date=birth_date,
                                       former_names=matching.former_names(former))
            rows.append(MatchKey(pupil_id=pk, sound_keys=matching.candidate_query_keys(record)["name_sound_keys"]))
        MatchKey.objects.bulk_update(rows, ["sound_keys"], batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ("duplicates", "0010_merge_case_history_and_todo"),
        ("registry", "0012_national_enrolment_codes"),
    ]

    operations = [
        migrations.RunPython(add_same_day_keys, migrations.RunPython.noop),
    ]
