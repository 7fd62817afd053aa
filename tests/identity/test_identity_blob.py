"""Identity-based Blob datastores: no stored credential; the studio reaches the container with its
own identity (DefaultAzureCredential, here a managed identity served by the Entra ID stand-in
through IDENTITY_ENDPOINT and IDENTITY_HEADER), against a real Azurite that checks the bearer
tokens (basic OAuth over HTTPS) and implements Get User Delegation Key and user delegation SAS."""

from __future__ import annotations

import html
import json
from urllib.parse import parse_qs

import pytest
from azure.storage.blob import BlobServiceClient
from django.db import connection as db_connection
from django.urls import reverse

from datastores.access import Actor
from datastores.crypto import decrypt_secrets
from datastores.models import Datastore, Role
from datastores.services import member_add

from ..api_support import ApiClient, token_for
from ..pages import field_block
from ..standins.tls import ca_bundle_path
from ..support import AZURITE_ACCOUNT, AZURITE_KEY, put, remember_secret, url
from .identities import IDENTITY_CLIENT_ID

pytestmark = pytest.mark.django_db


@pytest.fixture
def register(client, workspace, oauth_azurite, oauth_container):
    def post(name: str = "by_identity", **overrides: str):
        data = {
            "name": name,
            "storage_type": "AzureBlob",
            "auth_type": "identity_based",
            "account_name": AZURITE_ACCOUNT,
            "container_name": oauth_container,
            "protocol": "https",
            "endpoint": oauth_azurite.endpoint,
            **overrides,
        }
        return client.post(reverse("datastore_new", args=[workspace.name]), data)

    return post


def stored_row(datastore: Datastore) -> str:
    """Every column of the datastore's row as the database holds it."""
    with db_connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Datastore._meta.db_table} WHERE id = %s", [datastore.pk])
        return repr(cursor.fetchone())


def test_an_identity_based_blob_datastore_registers_browses_uploads_and_downloads(
    register, client, studio_identity, identity_provider, oauth_azurite, oauth_container
):
    registered = register()
    assert registered.status_code == 302, registered.content.decode()[:2000]
    datastore = Datastore.objects.get(name="by_identity")
    assert datastore.get_auth_type_display() == "Identity-based (no stored credential)"
    assert identity_provider.managed_identity_requests == ["https://storage.azure.com"]

    uploaded = put(client, datastore, "data/a.csv", b"x,y\n1,2\n")
    assert uploaded.status_code in (200, 201), uploaded.content
    direct = BlobServiceClient(
        oauth_azurite.url,
        credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY},
        connection_verify=ca_bundle_path(),
    ).get_container_client(oauth_container)
    assert direct.download_blob("data/a.csv").readall() == b"x,y\n1,2\n"

    listing = client.get(url(datastore, "datastore_browse"), {"path": "data", "listing": "1"}).content.decode()
    assert "a.csv" in listing
    downloaded = client.get(url(datastore, "datastore_file", "data/a.csv"))
    assert downloaded.status_code == 200 and b"".join(downloaded.streaming_content) == b"x,y\n1,2\n"
    moved = client.post(url(datastore, "datastore_move"), {"path": "data/a.csv", "destination": "archive/a.csv"})
    assert moved.status_code == 302, moved.content.decode()[:1000]
    assert [blob.name for blob in direct.list_blobs()] == ["archive/a.csv"]
    tested = client.post(url(datastore, "datastore_test_connection"))
    assert tested.status_code in (200, 302)
    datastore.refresh_from_db()
    assert datastore.last_check_ok is True


def test_the_stored_row_of_an_identity_based_datastore_holds_no_secret_at_all(
    register, studio_identity, identity_provider
):
    assert register().status_code == 302
    datastore = Datastore.objects.get(name="by_identity")
    assert decrypt_secrets(datastore.encrypted_secrets) == {}
    row = stored_row(datastore)
    for token in identity_provider.tokens:
        assert token not in row
    assert identity_provider.identity_header not in row
    assert set(datastore.connection_settings) <= {
        "account_name",
        "container_name",
        "protocol",
        "endpoint",
        "grant_workspace_access",
        "subscription_id",
        "resource_group",
    }


def test_a_reader_gets_a_user_delegation_sas_from_azurite_never_the_identitys_token(
    register, workspace, user, django_user_model, studio_identity, identity_provider, oauth_container
):
    """Azurite hands out the user delegation key (Get User Delegation Key, for the token's oid),
    but Azurite 3.35 checks SASs of versions up to 2025-11-05, and azure-storage-blob 12.31 signs
    2026-10-06 ones (two more lines in the string to sign): that the SAS reads and cannot write is
    proven against the ADLS Gen2 stand-in, which checks the signature (test_identity_gen2.py)."""
    assert register().status_code == 302
    reader = django_user_model.objects.create_user(username="rita")
    member_add(actor=Actor(user=user), workspace=workspace, who="rita", role=Role.READER)
    answer = ApiClient(token_for(reader)).post(
        f"workspaces/{workspace.name}/datastores/by_identity/credentials", json={"write": False}
    )
    assert answer.status_code == 200, answer.content
    credential = answer.json()
    remember_secret(credential["sas_token"])
    assert credential["permissions"] == "rl" and credential["stored"] is False
    assert credential["resource_url"].endswith(f"/{AZURITE_ACCOUNT}/{oauth_container}")
    signed = parse_qs(credential["sas_token"])
    assert signed["skoid"] == [studio_identity.object_id] and signed["sktid"] == [studio_identity.tenant_id]
    assert not any(token in answer.content.decode() for token in identity_provider.tokens)


def test_without_an_identity_the_form_says_the_studio_has_none(register, no_studio_identity):
    page = register().content.decode()
    assert "The studio has no Azure identity to use" in field_block(page, "auth_type")
    assert not Datastore.objects.filter(name="by_identity").exists()


def test_the_form_says_which_identity_and_which_role_to_grant(client, workspace, studio_identity):
    page = html.unescape(
        client.get(
            reverse("datastore_new", args=[workspace.name]),
            {"storage_type": "AzureBlob", "auth_type": "identity_based"},
        ).content.decode()
    )
    assert "the studio's user-assigned managed identity with client ID" not in page  # none is configured by client ID
    assert (
        "the studio's managed identity" in page
        and "Storage Blob Data Reader" in page
        and "Storage Blob Data Contributor" in page
    )
    assert 'name="account_key"' not in page and 'name="sas_token"' not in page


def test_the_form_names_a_user_assigned_identity_by_its_client_id(client, workspace, studio_identity, monkeypatch):
    monkeypatch.setenv("AZURE_CLIENT_ID", IDENTITY_CLIENT_ID)
    page = html.unescape(
        client.get(
            reverse("datastore_new", args=[workspace.name]),
            {"storage_type": "AzureBlob", "auth_type": "identity_based"},
        ).content.decode()
    )
    assert f"user-assigned managed identity with client ID {IDENTITY_CLIENT_ID}" in page


def test_the_form_offers_identity_only_for_the_types_that_declare_it(client, workspace):
    offered = {}
    for storage_type in ("AzureBlob", "AzureFile", "AzureDataLakeGen2", "AzurePostgreSql", "DBFS"):
        page = client.get(
            reverse("datastore_new", args=[workspace.name]), {"storage_type": storage_type}
        ).content.decode()
        offered[storage_type] = 'value="identity_based"' in field_block(page, "auth_type")
    assert offered == {
        "AzureBlob": True,
        "AzureFile": False,
        "AzureDataLakeGen2": True,
        "AzurePostgreSql": False,
        "DBFS": False,
    }


def test_turned_off_the_form_does_not_offer_it_and_registering_is_refused(
    client, workspace, settings, register, studio_identity
):
    settings.IDENTITY_BASED_DATASTORES = False
    page = client.get(reverse("datastore_new", args=[workspace.name]), {"storage_type": "AzureBlob"}).content.decode()
    assert 'value="identity_based"' not in field_block(page, "auth_type")
    assert register().status_code == 200
    refused = ApiClient(token_for(workspace.memberships.first().user)).post(
        f"workspaces/{workspace.name}/datastores",
        json={
            "name": "by_identity",
            "storage_type": "AzureBlob",
            "auth_type": "identity_based",
            "account_name": AZURITE_ACCOUNT,
            "container_name": "anything",
            "skip_validation": True,
        },
    )
    assert refused.status_code == 400 and "IDENTITY_BASED_DATASTORES" in json.loads(refused.content)["detail"]
    assert not Datastore.objects.filter(name="by_identity").exists()


def test_turned_off_an_existing_identity_based_datastore_is_refused(client, register, settings, studio_identity):
    assert register().status_code == 302
    settings.IDENTITY_BASED_DATASTORES = False
    datastore = Datastore.objects.get(name="by_identity")
    listing = client.get(url(datastore, "datastore_browse"), {"listing": "1"})
    assert listing.status_code == 400 and "turned off in this studio" in listing.content.decode()


def test_a_browsers_direct_upload_and_download_get_user_delegation_sass_for_one_blob(
    register, client, workspace, studio_identity, identity_provider, oauth_container
):
    """Direct transfers (README, "Direct transfers") sign with a user delegation key: the SAS is for
    the one blob, and neither it nor the page carries the identity's token. (That Azurite refuses a
    SAS of another blob is shown for account keys in tests/test_direct_transfers.py; Azurite 3.35
    does not check this SDK's user delegation SAS version, see the test above.)"""
    assert register().status_code == 302
    datastore = Datastore.objects.get(workspace=workspace, name="by_identity")
    answer = client.post(
        url(datastore, "datastore_direct_upload", "in/a.txt"), {"size": "3"}, HTTP_ACCEPT="application/json"
    )
    assert answer.status_code == 200, answer.content
    signed = parse_qs(answer.json()["url"].split("?", 1)[1])
    assert answer.json()["url"].split("?")[0].endswith(f"/{oauth_container}/in/a.txt")
    assert signed["sr"] == ["b"] and signed["sp"] == ["cw"] and signed["spr"] == ["https"]
    assert signed["skoid"] == [studio_identity.object_id]
    assert put(client, datastore, "in/a.txt", b"abc").json()["outcome"] == "uploaded"  # through the studio
    download = client.get(url(datastore, "datastore_file", "in/a.txt") + "?direct=1")
    assert download.status_code == 302
    read = parse_qs(download["Location"].split("?", 1)[1])
    assert read["sp"] == ["r"] and read["skoid"] == [studio_identity.object_id]
    assert not any(token in answer.content.decode() for token in identity_provider.tokens)
