"""Identity-based ADLS Gen1 and Azure SQL datastores, and identity-based datastores in Azure ML's
datastore API (credentialsType None). Gen1 runs against the Gen1 stand-in (tests/standins/
adls_gen1.py: no emulator exists), which accepts the managed identity's tokens for its resource."""

from __future__ import annotations

import pytest
from django.urls import reverse

from datastores.models import Datastore
from datastores.services import datastore_register
from datastores.storage import AuthType, backend_for

from ..api_support import ApiClient, token_for
from ..pages import field_block
from ..support import free_port, put

pytestmark = pytest.mark.django_db

ARM_VERSION = "api-version=2024-10-01-preview"


@pytest.fixture
def gen1_store(identity_provider, studio_identity):
    from tests.lakes.stores import TENANT
    from tests.standins.adls_gen1 import AdlsGen1Standin

    with AdlsGen1Standin(identity_provider, tenant_id=TENANT) as server:
        yield server


def register_gen1(client, workspace, store):
    return client.post(
        reverse("datastore_new", args=[workspace.name]),
        {
            "name": "old_lake",
            "storage_type": "AzureDataLake",
            "auth_type": "identity_based",
            "store_name": "studiostore",
            "endpoint": f"127.0.0.1:{store.port}",
            "validate_now": "on",
        },
    )


def test_a_gen1_store_that_granted_the_identity_nothing_says_which_access_to_give(client, workspace, gen1_store):
    page = register_gen1(client, workspace, gen1_store).content.decode()
    assert "Read and Execute (r-x)" in field_block(page, "auth_type") or "read and execute (r-x)" in field_block(
        page, "auth_type"
    )
    assert not Datastore.objects.filter(name="old_lake").exists()


def test_a_gen1_store_that_granted_the_identity_validates_and_takes_uploads(
    client, workspace, gen1_store, studio_identity
):
    gen1_store.grant(studio_identity.client_id)
    assert register_gen1(client, workspace, gen1_store).status_code == 302
    datastore = Datastore.objects.get(name="old_lake")
    assert put(client, datastore, "a.txt", b"alpha").status_code in (200, 201)
    assert gen1_store.items["/a.txt"].data == b"alpha"


def test_an_azure_sql_datastore_asks_the_identity_for_a_database_token(
    client, workspace, settings, studio_identity, identity_provider
):
    """No SQL Server runs here (live Azure SQL tests need STUDIO_TEST_AZURE_SQL_DSN): this shows the
    token request, for the database resource, and that the form then goes on to the server."""
    port = free_port()
    page = client.post(
        reverse("datastore_new", args=[workspace.name]),
        {
            "name": "sales",
            "storage_type": "AzureSqlDatabase",
            "auth_type": "identity_based",
            "server_name": "localhost",
            "database_name": "sales",
            "port": str(port),
            "endpoint": "127.0.0.1",
        },
    ).content.decode()
    assert identity_provider.managed_identity_requests == ["https://database.windows.net"]
    assert "could not be reached" in page
    assert not Datastore.objects.filter(name="sales").exists()


def arm_url(workspace, name: str = "") -> str:
    from django.conf import settings

    return (
        f"/subscriptions/{settings.STUDIO_SUBSCRIPTION_ID}/resourceGroups/{settings.STUDIO_RESOURCE_GROUP}/providers/"
        f"Microsoft.MachineLearningServices/workspaces/{workspace.name}/datastores{name}?{ARM_VERSION}"
    )


def test_azure_mls_api_shows_and_takes_identity_based_datastores_as_credentials_type_none(workspace, user, settings):
    backend = backend_for("AzureBlob")
    datastore_register(
        workspace=workspace,
        name="by_identity",
        storage_type="AzureBlob",
        auth_type=AuthType.IDENTITY,
        values=backend.clean_values(
            AuthType.IDENTITY, {"account_name": "acct", "container_name": "data", "skip_validation": True}
        ),
    )
    api = ApiClient(token_for(user))
    shown = api.get(arm_url(workspace, "/by_identity")).json()
    assert shown["properties"]["credentials"] == {"credentialsType": "None"}
    body = {
        "properties": {
            "datastoreType": "AzureDataLakeGen2",
            "accountName": "lakeacct",
            "filesystem": "raw",
            "credentials": {"credentialsType": "None"},
        }
    }
    created = api.put(arm_url(workspace, "/lake_by_identity").replace("?", "?skipValidation=true&"), json=body)
    assert created.status_code == 201, created.content
    assert Datastore.objects.get(name="lake_by_identity").auth_type == "identity_based"
    settings.IDENTITY_BASED_DATASTORES = False
    refused = api.put(arm_url(workspace, "/other").replace("?", "?skipValidation=true&"), json=body)
    assert refused.status_code == 400 and "IDENTITY_BASED_DATASTORES" in refused.json()["error"]["message"]


def test_the_identity_endpoint_is_trusted_for_token_requests_only(settings, studio_identity, identity_provider):
    """IDENTITY_ENDPOINT names a loopback address: the studio's token request may go there even when
    DATASTORE_ALLOWED_HOSTS lists nothing, and nothing else may, not even to the same address."""
    from datastores.storage import network
    from datastores.storage import studio_identity as identity

    settings.DATASTORE_ALLOWED_HOSTS = []
    token = identity.access_token(identity.STORAGE_SCOPE)
    assert identity_provider.token_info(token).client_id == studio_identity.client_id
    with pytest.raises(network.AddressRefused):
        network.open_socket("127.0.0.1", identity_provider.port)
