from django.db import migrations, models


class Migration(migrations.Migration):
    """One log for every chain: the transfer steps' role and reason join the chain events."""

    dependencies = [
        ("workflow", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(model_name="chainevent", old_name="note", new_name="reason"),
        migrations.AlterField(
            model_name="chainevent",
            name="reason",
            field=models.CharField(blank=True, max_length=500, verbose_name="理由"),
        ),
        migrations.AddField(
            model_name="chainevent",
            name="role",
            field=models.CharField(blank=True, max_length=16, verbose_name="角色"),
        ),
    ]
