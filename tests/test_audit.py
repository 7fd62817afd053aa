"""The audit log, written by the real pages against the real Azurite, the Azure Files stand-in
and PostgreSQL: an entry for every change and every data access, with who, from where, the
request id and the outcome, never a secret; the Activity tab, its filters, cursor and CSV;
retention; and the data migration that gives existing workspaces an owner."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import ContainerSasPermissions, generate_container_sas
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from datastores.access import Actor
from datastores.audit import AuditAction
from datastores.models import AccessToken, AuditEntry, Membership, Role
from datastores.services import member_add

from .support import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    FILESHARE_ACCOUNT,
    FILESHARE_KEY,
    SECRETS_USED,
    remember_secret,
)

pytestmark = pytest.mark.django_db


def url(name: str, *args: str) -> str:
    return reverse(name, args=list(args))


def test_every_change_and_data_access_is_recorded_without_a_secret(
    client,
    user,
    django_user_model,
    azurite_endpoint,
    blob_service,
    fileshare_standin,
    share_name,
    pg,
    azurite_of_its_own,
):
    """One of each action through the pages, as the owner (and one refusal, as a reader)."""
    django_user_model.objects.create_user(username="rita")
    client.post(url("workspace_list"), {"name": "audited", "description": ""})
    ws = "audited"
    client.post(url("workspace_members", ws), {"who": "rita", "role": "contributor"})
    membership = Membership.objects.get(workspace__name=ws, user__username="rita")
    client.post(url("workspace_member_role", ws, "rita"), {f"{membership.pk}-role": "reader"})
    container = f"audit-{uuid.uuid4().hex[:8]}"
    sas = remember_secret(
        generate_container_sas(
            AZURITE_ACCOUNT,
            container,
            account_key=AZURITE_KEY,
            permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True, create=True),
            expiry=datetime.now(UTC) + timedelta(hours=1),
        )
    )
    blob_form = {
        "name": "files",
        "storage_type": "AzureBlob",
        "auth_type": "account_key",
        "account_name": AZURITE_ACCOUNT,
        "container_name": container,
        "protocol": "http",
        "endpoint": azurite_endpoint,
        "account_key": AZURITE_KEY,
        "create_if_not_exists": "on",
    }
    client.post(url("datastore_new", ws), blob_form)
    client.post(url("datastore_new", ws), {**blob_form, "overwrite": "on"})
    # Direct transfers, on an Azurite of the test's own (the CORS rules change).
    client.post(url("datastore_new", ws), {**blob_form, "name": "direct", "endpoint": azurite_of_its_own.endpoint})
    client.post(url("datastore_direct_upload", ws, "direct", "up.txt"), {"size": "1"}, HTTP_ACCEPT="application/json")
    client.post(url("datastore_direct_outcome", ws, "direct", "up.txt"), {"outcome": "uploaded", "size": "1"})
    client.get(url("datastore_file", ws, "direct", "up.txt") + "?direct=1")
    client.post(url("datastore_cors_allow", ws, "direct"))
    client.post(
        url("datastore_edit_auth", ws, "files"),
        {
            "auth_type": "sas_token",
            "account_name": AZURITE_ACCOUNT,
            "container_name": container,
            "protocol": "http",
            "endpoint": azurite_endpoint,
            "sas_token": sas,
        },
    )
    client.post(url("datastore_set_default", ws, "files"))
    client.post(url("datastore_test_connection", ws, "files"))
    client.put(url("datastore_file", ws, "files", "data/a.txt"), b"alpha", content_type="text/plain")
    client.put(url("datastore_file", ws, "files", "data/a.txt"), b"again", content_type="text/plain")  # skipped
    client.get(url("datastore_browse", ws, "files") + "?path=data&listing=1")
    b"".join(client.get(url("datastore_file", ws, "files", "data/a.txt")).streaming_content)
    b"".join(client.get(url("datastore_folder_zip", ws, "files") + "?path=data").streaming_content)
    client.get(url("datastore_preview", ws, "files") + "?path=data/a.txt")
    b"".join(client.post(url("datastore_selection_zip", ws, "files"), {"path": ["data/a.txt"]}).streaming_content)
    client.post(url("datastore_move", ws, "files"), {"path": "data/a.txt", "destination": "moved/a.txt"})
    client.post(url("datastore_delete_file", ws, "files"), {"path": "moved/a.txt"})
    client.put(url("datastore_file", ws, "files", "data/b.txt"), b"beta", content_type="text/plain")
    client.post(url("datastore_delete_folder", ws, "files"), {"path": "data"})
    client.post(
        url("datastore_new", ws),
        {
            "name": "share",
            "storage_type": "AzureFile",
            "auth_type": "account_key",
            "account_name": FILESHARE_ACCOUNT,
            "file_share_name": share_name,
            "protocol": "http",
            "endpoint": fileshare_standin.base_url.removeprefix("http://"),
            "account_key": FILESHARE_KEY,
        },
    )
    client.post(url("datastore_new_folder", ws, "share"), {"path": "", "folder_name": "made"})
    client.post(url("datastore_new", ws), pg.form(name="sales"))
    client.get(url("datastore_tables", ws, "sales") + "?listing=1")
    client.get(url("datastore_table", ws, "sales", "public", "orders"))
    b"".join(client.get(url("datastore_table_csv", ws, "sales", "public", "orders")).streaming_content)
    client.post(url("datastore_query", ws, "sales"), {"sql": "SELECT count(*) FROM orders", "row_limit": "100"})
    b"".join(
        client.post(url("datastore_query_csv", ws, "sales"), {"sql": "SELECT 1", "row_limit": "100"}).streaming_content
    )
    client.post(url("datastore_unregister", ws, "share"))
    reader = Client()
    reader.force_login(django_user_model.objects.get(username="rita"))
    reader.post(url("datastore_delete_file", ws, "files"), {"path": "data/x.txt"})  # refused: readers change nothing
    client.post(url("workspace_member_remove", ws, "rita"))
    call_command("rotate_datastore_keys", stdout=io.StringIO())
    # The API's own: a token created on the Tokens page, used, swapped for an access token, revoked.
    page = client.post(url("token_list"), {"name": "audited", "expires_in_days": "1"}).content.decode()
    client.bodies.pop()  # the one response that shows the new token
    shown = re.search(r'value="(dsp_[^"]+)"', page)
    assert shown, "the page shows the new token"
    raw = remember_secret(shown.group(1))
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    api.post(f"/api/v1/workspaces/{ws}/datastores/workspaceblobstore/credentials", {}, content_type="application/json")
    api.get("/api/identity/token?resource=https://studio", headers={"X-IDENTITY-HEADER": raw})
    client.post(url("token_revoke", str(AccessToken.objects.get(name="audited").pk)))

    recorded = set(AuditEntry.objects.values_list("action", flat=True))
    assert set(AuditAction.values) - recorded == set()
    auth_update = AuditEntry.objects.get(action=AuditAction.AUTHENTICATION_UPDATED)
    assert (
        auth_update.detail == "Changed: account_key, auth_type, sas_token" and auth_update.actor_name == user.username
    )
    skipped = AuditEntry.objects.get(action=AuditAction.FILE_UPLOADED, outcome="skipped")
    assert skipped.target == "data/a.txt"
    query = AuditEntry.objects.get(action=AuditAction.QUERY_RUN)
    assert query.detail == "SELECT count(*) FROM orders" and query.datastore_name == "sales"
    refused = AuditEntry.objects.get(action=AuditAction.ACCESS_REFUSED)
    assert refused.actor_name == "rita" and refused.outcome == "refused" and refused.datastore_name == "files"
    assert AuditEntry.objects.get(action=AuditAction.KEYS_ROTATED).actor_name == "manage.py"
    rows = "\n".join(str(row) for row in AuditEntry.objects.values_list())
    assert [secret for secret in SECRETS_USED if secret and secret in rows] == []


def test_an_entry_holds_the_client_address_and_the_request_id_the_response_names(client, workspace):
    response = client.get(
        url("datastore_browse", workspace.name, "workspaceblobstore") + "?listing=1", REMOTE_ADDR="203.0.113.7"
    )
    entry = AuditEntry.objects.filter(action=AuditAction.FOLDER_BROWSED).latest("id")
    assert entry.client_address == "203.0.113.7"
    assert entry.request_id == response["X-Request-ID"] and len(entry.request_id) == 32


def test_the_proxy_header_is_honoured_only_when_configured(client, workspace, settings):
    browse = url("datastore_browse", workspace.name, "workspaceblobstore") + "?listing=1"
    client.get(browse, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert AuditEntry.objects.latest("id").client_address == "10.0.0.2"  # a header anyone can send
    settings.TRUSTED_PROXY_COUNT = 1
    client.get(browse, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.9")
    assert AuditEntry.objects.latest("id").client_address == "198.51.100.9"  # the address our proxy appended


@pytest.fixture
def busy_workspace(workspace, user, django_user_model):
    """A workspace with 130 browse entries by its owner and 3 by a reader."""
    reader = django_user_model.objects.create_user(username="rita")
    member_add(actor=Actor(user=user), workspace=workspace, who="rita", role=Role.READER)
    entries = [
        AuditEntry(
            actor=user,
            actor_name=user.username,
            workspace=workspace,
            workspace_name=workspace.name,
            datastore_name="workspaceblobstore",
            action=AuditAction.FOLDER_BROWSED,
            target=f"folder-{n}",
            outcome="ok",
        )
        for n in range(130)
    ] + [
        AuditEntry(
            actor=reader,
            actor_name="rita",
            workspace=workspace,
            workspace_name=workspace.name,
            datastore_name="workspacefilestore",
            action=AuditAction.FILE_DOWNLOADED,
            target=f"mine-{n}",
            outcome="ok",
        )
        for n in range(3)
    ]
    AuditEntry.objects.bulk_create(entries)
    return workspace


def shown_targets(page: str) -> list[str]:
    return re.findall(r'<td class="wrap"><span class="mono">([\w-]+)', page)


def test_owners_page_through_everyones_activity_newest_first_by_cursor(client, busy_workspace):
    activity = url("workspace_activity", busy_workspace.name)
    first = client.get(activity).content.decode()
    assert shown_targets(first) == ["mine-2", "mine-1", "mine-0"] + [f"folder-{n}" for n in range(129, 82, -1)]
    older = re.search(r'before=(\d+)"', first)
    assert older, "the page links to older entries"
    cursor = older.group(1)
    second = client.get(activity, {"before": cursor}).content.decode()
    assert shown_targets(second) == [f"folder-{n}" for n in range(82, 32, -1)]
    more = client.get(activity, {"before": cursor}, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in more and shown_targets(more) == shown_targets(second)


def test_filters_narrow_the_activity_and_readers_see_only_their_own(client, busy_workspace, django_user_model):
    activity = url("workspace_activity", busy_workspace.name)
    filtered = client.get(activity, {"actor": "rita"}).content.decode()
    assert "mine-0" in filtered and "folder-" not in filtered
    by_action = client.get(activity, {"action": AuditAction.FILE_DOWNLOADED}).content.decode()
    assert "mine-1" in by_action and "folder-" not in by_action
    by_datastore = client.get(activity, {"datastore": "workspaceblobstore"}).content.decode()
    assert "folder-1" in by_datastore and "mine-" not in by_datastore
    reader = Client()
    reader.force_login(django_user_model.objects.get(username="rita"))
    own = reader.get(activity).content.decode()
    assert "mine-0" in own and "folder-" not in own


def test_the_activity_downloads_as_csv_with_the_filters(client, busy_workspace):
    response = client.get(url("workspace_activity_csv", busy_workspace.name), {"actor": "rita"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["when (UTC)", "user", "datastore", "action"]
    assert [row[4] for row in rows[1:]] == ["mine-2", "mine-1", "mine-0"]


def test_prune_removes_only_entries_older_than_the_retention(busy_workspace, settings):
    old = AuditEntry.objects.order_by("id")[:10]
    AuditEntry.objects.filter(pk__in=[entry.pk for entry in old]).update(at=datetime.now(UTC) - timedelta(days=40))
    total = AuditEntry.objects.count()
    out = io.StringIO()
    call_command("prune_audit", stdout=out)
    assert "kept" in out.getvalue() and AuditEntry.objects.count() == total
    settings.AUDIT_RETENTION_DAYS = 30
    call_command("prune_audit", stdout=io.StringIO())
    assert AuditEntry.objects.count() == total - 10


def test_audit_entries_cannot_be_edited_in_the_admin(client, user, busy_workspace):
    user.is_staff = user.is_superuser = True
    user.save()
    entry = AuditEntry.objects.first()
    assert entry is not None
    assert client.get(reverse("admin:datastores_auditentry_change", args=[entry.pk])).status_code in (200, 403)
    assert (
        client.post(reverse("admin:datastores_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    )
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_makes_the_registrar_of_an_existing_workspace_its_owner(django_user_model):
    executor = MigrationExecutor(connection)
    executor.migrate([("datastores", "0002_registry_types_and_last_check")])
    old = executor.loader.project_state([("datastores", "0002_registry_types_and_last_check")]).apps
    creator = old.get_model("auth", "User").objects.create(username="founder")
    admin = old.get_model("auth", "User").objects.create(username="root", is_superuser=True)
    Workspace, Datastore = old.get_model("datastores", "Workspace"), old.get_model("datastores", "Datastore")
    known = Workspace.objects.create(name="known-ws")
    Datastore.objects.create(
        workspace=known,
        name="workspaceblobstore",
        storage_type="AzureBlob",
        auth_type="account_key",
        created_by=creator,
    )
    Workspace.objects.create(name="orphan-ws")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    owners = set(Membership.objects.filter(role=Role.OWNER).values_list("workspace__name", "user__username"))
    assert owners == {("known-ws", "founder"), ("orphan-ws", "root")}
    assert admin.pk
