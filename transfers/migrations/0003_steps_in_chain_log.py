from django.db import migrations


def copy_steps(apps, schema_editor):
    """Every transfer step becomes a row of the one chain log, in its order."""
    content_type = apps.get_model("contenttypes", "ContentType")
    step = apps.get_model("transfers", "TransferStep")
    event = apps.get_model("workflow", "ChainEvent")
    transfer_type, _created = content_type.objects.get_or_create(app_label="transfers", model="transfer")
    batch = []
    for row in step.objects.select_related("transfer").order_by("id").iterator(chunk_size=5000):
        batch.append(event(
            content_type_id=transfer_type.pk, object_id=row.transfer_id, action=row.action,
            from_state=row.from_state, to_state=row.to_state, actor_id=row.actor_id, actor_name=row.actor_name,
            unit_code=row.unit_code, unit_name=row.unit_name, role=row.role, reason=row.reason,
            county_code=row.transfer.dest_county_code, school_id=row.transfer.dest_school_id, at=row.at,
        ))
        if len(batch) >= 5000:
            event.objects.bulk_create(batch)
            batch = []
    event.objects.bulk_create(batch)


def copy_back(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    step = apps.get_model("transfers", "TransferStep")
    event = apps.get_model("workflow", "ChainEvent")
    transfer_type = content_type.objects.filter(app_label="transfers", model="transfer").first()
    if transfer_type is None:
        return
    rows = event.objects.filter(content_type=transfer_type).order_by("id")
    step.objects.bulk_create(
        step(transfer_id=e.object_id, action=e.action, from_state=e.from_state, to_state=e.to_state,
             actor_id=e.actor_id, actor_name=e.actor_name, unit_code=e.unit_code, unit_name=e.unit_name,
             role=e.role, reason=e.reason, at=e.at)
        for e in rows.iterator(chunk_size=5000)
    )
    rows.delete()


class Migration(migrations.Migration):
    """The transfer's log (审核记录) is the chain engine's log now, as for every chain."""

    dependencies = [
        ("transfers", "0002_lookup_by_parent_id"),
        ("workflow", "0002_chainevent_role_reason"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(copy_steps, copy_back),
        migrations.DeleteModel(name="TransferStep"),
    ]
