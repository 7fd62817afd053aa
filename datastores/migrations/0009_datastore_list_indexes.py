from django.db import migrations, models


class Migration(migrations.Migration):
    """An index the datastore list's filters count and page through (name, storage type, health)."""

    dependencies = [
        ("datastores", "0008_direct_transfers"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="datastore",
            index=models.Index(
                fields=["workspace", "name", "storage_type", "last_check_ok", "id"], name="datastore_list_filters"
            ),
        ),
    ]
