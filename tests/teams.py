"""A workspace with an owner, a contributor and a reader, what the role tests compare, and
what storage holds (the pages' and the API's role tests share these)."""

from __future__ import annotations

from dataclasses import dataclass

from azure.storage.fileshare import ShareServiceClient
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from datastores.models import Datastore, Membership, Role, Workspace

from .sql.servers import PgDatabase
from .support import FILESHARE_ACCOUNT, FILESHARE_KEY


@dataclass
class Team:
    """A workspace with an owner, a contributor and a reader, and who is outside it."""

    workspace: Workspace
    people: dict[str, User]
    container: str
    share: str
    pg_database: PgDatabase

    def client(self, who: str) -> Client:
        client = Client()
        client.force_login(self.people[who])
        return client

    def url(self, name: str, *args: str) -> str:
        return reverse(name, args=[self.workspace.name, *args])


ROLE_OF = {"olive": Role.OWNER, "carl": Role.CONTRIBUTOR, "rita": Role.READER, "admin": Role.OWNER}
ORDER = [Role.READER, Role.CONTRIBUTOR, Role.OWNER]


def state(team: Team, blob_service) -> dict:
    """Everything an action could change, read from the database and from storage directly."""
    share = ShareServiceClient(
        team_share_url(team), credential={"account_name": FILESHARE_ACCOUNT, "account_key": FILESHARE_KEY}
    ).get_share_client(team.share)
    return {
        "datastores": sorted(
            Datastore.objects.filter(workspace=team.workspace).values_list(
                "name", "auth_type", "is_default", "encrypted_secrets", "connection_settings"
            )
        ),
        "members": sorted(Membership.objects.filter(workspace=team.workspace).values_list("user__username", "role")),
        "blobs": sorted(blob.name for blob in blob_service.get_container_client(team.container).list_blobs()),
        "share": sorted(item.name for item in share.get_directory_client("").list_directories_and_files()),
        "orders": team.pg_database.count("orders"),  # psycopg straight to the server
    }


def team_share_url(team: Team) -> str:
    settings = team.workspace.datastores.get(name="share").connection_settings
    return f"http://{settings['endpoint']}/{FILESHARE_ACCOUNT}"
