from django.db import migrations, models


class Migration(migrations.Migration):
    """An index that goes straight to one storage type and health of a workspace, in name order,
    so that the datastore list counts a filtered list without testing every name (SQLite)."""

    dependencies = [
        ("datastores", "0010_direct_gen2_and_outcomes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="datastore",
            index=models.Index(
                fields=["workspace", "storage_type", "last_check_ok", "name", "id"], name="datastore_list_type_health"
            ),
        ),
    ]
