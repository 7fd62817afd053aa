import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from datastores.access import Actor
from datastores.models import Membership, Role, Workspace
from datastores.services import workspace_create
from datastores.storage import StorageError


class Command(BaseCommand):
    help = "Create (or keep) the demo workspace and the demo admin, and print the login. For local use only."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", default="demo")
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, workspace: str, username: str, **options: Any) -> None:
        password = os.environ.get("DEMO_ADMIN_PASSWORD")
        if not password:
            raise CommandError("Set DEMO_ADMIN_PASSWORD (scripts/run generates one in var/local.env).")
        user, _created = get_user_model().objects.get_or_create(username=username, defaults={"is_staff": True})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        demo = Workspace.objects.filter(name=workspace).first()
        if demo is None:
            try:
                workspace_create(
                    actor=Actor(user=user), name=workspace, description="Demo workspace on the local Azurite."
                )
            except StorageError as failure:
                raise CommandError(f"Could not create the demo workspace: {failure.message}") from None
        else:  # a demo made before workspaces had owners
            Membership.objects.get_or_create(workspace=demo, user=user, defaults={"role": Role.OWNER, "added_by": user})
        self.stdout.write(self.style.SUCCESS(f"Demo workspace: {workspace}. Sign in as {username} / {password}"))
