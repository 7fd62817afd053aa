"""Existing workspaces keep working after the upgrade: each gets an owner. The creator is
not recorded on workspaces made before 0003, so the person who registered the workspace's
oldest datastore (workspaceblobstore, made with it) stands for the creator; where that is
unknown too, every studio administrator becomes an owner."""

from django.conf import settings
from django.db import migrations


def make_owners(apps, schema_editor):
    Workspace = apps.get_model("datastores", "Workspace")
    Membership = apps.get_model("datastores", "Membership")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    administrators = list(User.objects.filter(is_superuser=True))
    for workspace in Workspace.objects.all():
        if Membership.objects.filter(workspace=workspace, role="owner").exists():
            continue
        first = workspace.datastores.exclude(created_by=None).order_by("created_at").first()
        creator = workspace.created_by or (first.created_by if first else None)
        owners = [creator] if creator else administrators
        if creator and workspace.created_by_id is None:
            workspace.created_by = creator
            workspace.save(update_fields=["created_by"])
        for owner in owners:
            Membership.objects.get_or_create(workspace=workspace, user=owner, defaults={"role": "owner"})


class Migration(migrations.Migration):
    dependencies = [
        ("datastores", "0003_workspace_members_and_audit"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(make_owners, migrations.RunPython.noop)]
