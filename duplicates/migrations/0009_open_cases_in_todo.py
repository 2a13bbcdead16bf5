"""待办 for the cases opened before cases had work items: an item for the county of each
member of every open case, due 10 working days (the province's step time) from today."""

from django.db import migrations


def open_items(apps, schema_editor):
    from django.utils import timezone

    from provinces import calendar

    case_model = apps.get_model("duplicates", "DuplicateCase")
    member_model = apps.get_model("duplicates", "CaseMember")
    item_model = apps.get_model("workflow", "WorkItem")
    content_type_model = apps.get_model("contenttypes", "ContentType")
    content_type, _created = content_type_model.objects.get_or_create(app_label="duplicates", model="duplicatecase")
    today = timezone.localdate()
    waiting = set(item_model.objects.filter(content_type=content_type, state="open").values_list("object_id", flat=True))
    due: dict[str, object] = {}
    items = []
    for case in case_model.objects.filter(status="open").exclude(pk__in=waiting).iterator():
        members = list(member_model.objects.filter(case=case).values_list("pupil_id", "county_code", "pupil__name"))
        names = {pk: name for pk, _county, name in members}
        title = f"疑似重复学籍：{names.get(case.pupil_low_id, '')} / {names.get(case.pupil_high_id, '')}"[:200]
        for county in dict.fromkeys(county for _pk, county, _name in members):
            if county not in due:
                due[county] = calendar.due_date(today, province_code=county)
            items.append(item_model(content_type=content_type, object_id=case.pk, kind="duplicate_case", title=title,
                                    url=f"/province/cases/{case.pk}/", role="operator", division_id=county, scope_code=county,
                                    opened_on=today, due_on=due[county]))
    item_model.objects.bulk_create(items, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("duplicates", "0008_deletion_event_append_only"),
        ("workflow", "0003_workitem_role_choices_viewer_auditor"),
        ("provinces", "0007_cities_without_counties"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(open_items, migrations.RunPython.noop)]
