"""The "New datastore" form: every storage type and authentication type, the htmx swaps,
field checks, the host allow-list and overwrite. No service is reached here except where
a test says so."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from datastores.models import Datastore
from datastores.storage import backend_for

from .pages import field_block, tied_labels, untied_labels
from .support import remember_secret

pytestmark = pytest.mark.django_db

SAS_EXPIRY = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
SERVICE_PRINCIPAL = ["Tenant ID", "Client ID", "Client secret", "Resource URL", "Authority URL"]

# What a user must see for each storage type and authentication type, worded as in the Azure ML docs.
EXPECTED_LABELS = {
    ("AzureBlob", "account_key"): [
        "Account name",
        "Container name",
        "Protocol",
        "Endpoint",
        "Grant workspace access",
        "Subscription ID",
        "Resource group",
        "Account key",
        "Create if not exists",
        "Skip validation",
    ],
    ("AzureBlob", "sas_token"): [
        "Account name",
        "Container name",
        "Protocol",
        "Endpoint",
        "Grant workspace access",
        "Subscription ID",
        "Resource group",
        "SAS token",
        "Create if not exists",
        "Skip validation",
    ],
    ("AzureFile", "account_key"): [
        "Account name",
        "File share name",
        "Protocol",
        "Endpoint",
        "Account key",
        "Create if not exists",
        "Skip validation",
    ],
    ("AzureFile", "sas_token"): [
        "Account name",
        "File share name",
        "Protocol",
        "Endpoint",
        "SAS token",
        "Create if not exists",
        "Skip validation",
    ],
    ("AzureDataLake", "service_principal"): [
        "Store name",
        "Endpoint",
        "Subscription ID",
        "Resource group",
        *SERVICE_PRINCIPAL,
        "Validate now",
    ],
    ("AzureDataLakeGen2", "service_principal"): [
        "Account name",
        "Filesystem",
        "Protocol",
        "Endpoint",
        *SERVICE_PRINCIPAL,
        "Validate now",
    ],
    ("AzureSqlDatabase", "sql_authentication"): [
        "Server name",
        "Database name",
        "Port",
        "Endpoint",
        "User ID",
        "Password",
        "Skip validation",
    ],
    ("AzureSqlDatabase", "service_principal"): [
        "Server name",
        "Database name",
        "Port",
        "Endpoint",
        *SERVICE_PRINCIPAL,
        "Skip validation",
    ],
    ("AzurePostgreSql", "sql_authentication"): [
        "Server name",
        "Database name",
        "Port",
        "Endpoint",
        "Enforce SSL",
        "User ID",
        "Password",
        "Skip validation",
    ],
    ("AzureMySql", "sql_authentication"): [
        "Server name",
        "Database name",
        "Port",
        "Endpoint",
        "User ID",
        "Password",
        "Skip validation",
    ],
    ("DBFS", "none"): ["Workspace URL", "Personal access token", "Validate now"],
}
AUTH_LABELS = {
    "account_key": "Account key",
    "sas_token": "SAS token",
    "service_principal": "Service principal",
    "sql_authentication": "SQL authentication",
    "none": "No authentication",
}


def new_url(workspace) -> str:
    return reverse("datastore_new", args=[workspace.name])


def swap(client, workspace, **typed):
    return client.get(new_url(workspace), typed, headers={"HX-Request": "true", "HX-Target": "datastore-fields"})


@pytest.mark.parametrize("storage_type, auth_type", list(EXPECTED_LABELS))
def test_the_swap_renders_the_fields_of_each_type_and_auth_type(client, workspace, storage_type, auth_type):
    response = swap(client, workspace, storage_type=storage_type, auth_type=auth_type)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page and 'id="datastore-fields"' in page  # only the fields block
    assert tied_labels(page) == ["Authentication type", *EXPECTED_LABELS[(storage_type, auth_type)]]
    assert f'value="{auth_type}" selected' in page


@pytest.mark.parametrize("storage_type, auth_type", list(EXPECTED_LABELS))
def test_the_full_page_shows_every_control_with_a_tied_label(client, workspace, storage_type, auth_type):
    page = client.get(new_url(workspace), {"storage_type": storage_type, "auth_type": auth_type}).content.decode()
    assert tied_labels(page) == [
        "Datastore name",
        "Storage type",
        "Authentication type",
        *EXPECTED_LABELS[(storage_type, auth_type)],
        "Overwrite",
    ]
    assert untied_labels(page) == []
    assert "Register datastore" in page


def test_changing_the_storage_type_offers_only_its_auth_types(client, workspace):
    page = swap(client, workspace, storage_type="AzureSqlDatabase", auth_type="account_key").content.decode()
    assert ">SQL authentication<" in page and ">Service principal<" in page
    assert ">Account key<" not in page
    assert 'value="sql_authentication" selected' in page  # the first offered when the old one does not apply


def test_values_typed_into_shared_fields_survive_a_swap_but_secrets_do_not(client, workspace):
    typed_key = remember_secret("c2VjcmV0LWtleS10aGF0LW11c3Qtbm90LWNvbWUtYmFjaw==")
    page = swap(
        client,
        workspace,
        storage_type="AzureFile",
        auth_type="account_key",
        account_name="sharedacct",
        container_name="data",
        endpoint="core.chinacloudapi.cn",
        account_key=typed_key,
    ).content.decode()
    assert 'value="sharedacct"' in field_block(page, "account_name")
    assert 'value="core.chinacloudapi.cn"' in field_block(page, "endpoint")
    assert "Account key" in tied_labels(page)  # the secret's field is on the page, empty
    assert typed_key not in page


def test_the_retirement_of_gen1_is_shown_on_the_form(client, workspace):
    page = swap(client, workspace, storage_type="AzureDataLake", auth_type="service_principal").content.decode()
    assert "retired Data Lake Storage Gen1 on 2024-02-29" in page


def test_the_form_works_without_javascript_through_the_refresh_button(client, workspace):
    response = client.post(new_url(workspace), {"name": "x1", "storage_type": "AzureMySql", "_refresh": "1"})
    page = response.content.decode()
    assert "Show the fields for this type" in page
    assert "Server name" in tied_labels(page) and "Account key" not in tied_labels(page)
    assert "This field is required" not in page  # a refresh is not a submit
    assert not Datastore.objects.filter(name="x1").exists()


def blob_post(**overrides) -> dict:
    data = {
        "name": "blobby",
        "storage_type": "AzureBlob",
        "auth_type": "account_key",
        "account_name": "myaccount",
        "container_name": "data",
        "protocol": "https",
        "endpoint": "core.windows.net",
        "account_key": remember_secret("QWxsIHRoZSB3b3JsZCdzIGEgc3RhZ2UsIGFuZCBhbGwgdGhlIG1lbiBhbmQ="),
        "skip_validation": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"account_name": "My_Account"}, "account_name", "3 to 24 characters, lowercase letters and digits only"),
        ({"account_name": "ab"}, "account_name", "3 to 24 characters"),
        ({"container_name": "Data--Set"}, "container_name", "lowercase letters, digits and single hyphens"),
        ({"container_name": None}, "container_name", "This field is required."),
        ({"account_key": "not base64!"}, "account_key", "An account key is base64 text"),
        ({"account_key": None}, "account_key", "This field is required."),
        ({"auth_type": "sas_token", "sas_token": "sv=2024&sp=rl&se=2030-01-01"}, "sas_token", "no signature (sig)"),
        ({"auth_type": "sas_token", "sas_token": "sv=2024&se=2030-01-01&sig=abc"}, "sas_token", "has no sp"),
        (
            {"auth_type": "sas_token", "sas_token": "?sv=2024&sp=rl&se=2020-01-01T00:00:00Z&sig=abc"},
            "sas_token",
            "expired on 2020-01-01",
        ),
        (
            {"auth_type": "sas_token", "sas_token": "sv=2024&sp=rl&se=soon&sig=abc"},
            "sas_token",
            "expiry time (se) is not a date",
        ),
        ({"subscription_id": "subscription-1"}, "subscription_id", "Enter a GUID"),
        ({"endpoint": "storage.evil.example"}, "endpoint", "is not an Azure endpoint"),
    ],
)
def test_bad_blob_input_gets_a_message_on_the_field_and_saves_nothing(client, workspace, overrides, field, message):
    response = client.post(new_url(workspace), blob_post(**overrides))
    page = response.content.decode()
    assert response.status_code == 200
    assert message in field_block(page, field)
    assert not Datastore.objects.filter(name="blobby").exists()


@pytest.mark.parametrize(
    "data, field, message",
    [
        (
            {"storage_type": "AzureDataLakeGen2", "auth_type": "service_principal", "tenant_id": "tenant"},
            "tenant_id",
            "Enter a GUID",
        ),
        (
            {"storage_type": "AzureDataLakeGen2", "auth_type": "service_principal", "client_id": "app"},
            "client_id",
            "Enter a GUID",
        ),
        (
            {
                "storage_type": "AzureDataLakeGen2",
                "auth_type": "service_principal",
                "authority_url": "https://login.evil.example",
            },
            "authority_url",
            "is not an Azure endpoint",
        ),
        (
            {"storage_type": "AzurePostgreSql", "auth_type": "sql_authentication", "port": "99999"},
            "port",
            "less than or equal to 65535",
        ),
        (
            {"storage_type": "AzureMySql", "auth_type": "sql_authentication", "port": "three"},
            "port",
            "A port is a whole number",
        ),
        (
            {"storage_type": "AzureSqlDatabase", "auth_type": "sql_authentication", "endpoint": "db.evil.example"},
            "endpoint",
            "is not an Azure endpoint",
        ),
        (
            {"storage_type": "DBFS", "auth_type": "none", "workspace_url": "http://adb-1.azuredatabricks.net"},
            "workspace_url",
            "Type an https URL",
        ),
    ],
)
def test_bad_input_for_other_types_gets_a_message_on_the_field(client, workspace, data, field, message):
    page = client.post(new_url(workspace), {"name": "other", **data}).content.decode()
    assert message in field_block(page, field)
    assert not Datastore.objects.filter(name="other").exists()


def test_a_host_not_on_the_allow_list_is_refused_before_any_connection(client, workspace):
    listener = socket.socket()
    listener.bind(("127.0.0.2", 0))
    listener.listen()
    listener.settimeout(0.5)
    connections = []
    accept = threading.Thread(target=lambda: connections.append(_accept_once(listener)))
    accept.start()
    port = listener.getsockname()[1]
    page = client.post(
        new_url(workspace), blob_post(endpoint=f"127.0.0.2:{port}", protocol="http", skip_validation=None)
    ).content.decode()
    accept.join()
    listener.close()
    assert "is not an Azure endpoint, nor a host this studio allows" in field_block(page, "endpoint")
    assert connections == [None]  # the listener saw nobody
    assert not Datastore.objects.filter(name="blobby").exists()


def _accept_once(listener):
    try:
        connection, _ = listener.accept()
    except TimeoutError:
        return None
    connection.close()
    return "connected"


def test_a_secret_is_never_rendered_back_after_a_failed_submit(client, workspace):
    secret = remember_secret("dGhpcyBrZXkgbXVzdCBuZXZlciBjb21lIGJhY2sgdG8gdGhlIHBhZ2U=")
    page = client.post(new_url(workspace), blob_post(account_name="BAD", account_key=secret)).content.decode()
    assert secret not in page
    assert "secrets are never sent back to the page: type them again" in page


def test_registering_an_existing_name_needs_overwrite(client, workspace):
    dbfs = {"name": "shared_name", "storage_type": "DBFS", "auth_type": "none"}
    assert client.post(new_url(workspace), dbfs).status_code == 302
    page = client.post(new_url(workspace), blob_post(name="shared_name")).content.decode()
    assert "already exists in this workspace. Tick Overwrite to replace it." in field_block(page, "name")
    assert Datastore.objects.get(workspace=workspace, name="shared_name").storage_type == "DBFS"

    response = client.post(new_url(workspace), blob_post(name="shared_name", overwrite="on"))
    assert response.status_code == 302
    replaced = Datastore.objects.get(workspace=workspace, name="shared_name")
    assert replaced.storage_type == "AzureBlob"
    assert replaced.connection_settings["account_name"] == "myaccount"


def test_azure_sql_is_checked_on_register_unless_skip_validation(client, workspace):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = {
        "name": "sqldb",
        "storage_type": "AzureSqlDatabase",
        "auth_type": "sql_authentication",
        "server_name": "myserver",
        "database_name": "sales",
        "port": str(port),
        "endpoint": "127.0.0.1",
        "user_id": "reader",
        "password": remember_secret("Pa55word-for-sql"),
    }
    page = client.post(new_url(workspace), data).content.decode()
    assert f"127.0.0.1:{port} could not be reached" in field_block(page, "server_name")
    assert client.post(new_url(workspace), {**data, "skip_validation": "on"}).status_code == 302
    assert Datastore.objects.get(name="sqldb").connection()["password"] == "Pa55word-for-sql"


def test_adls_gen2_registers_without_a_check_when_validate_now_is_off(client, workspace):
    """Azure's own endpoints, unreachable from here: a check would fail. With "Validate now" a
    check is made: tests/lakes/test_lake_registration.py."""
    data = {
        "name": "lake",
        "storage_type": "AzureDataLakeGen2",
        "auth_type": "service_principal",
        "account_name": "lakeacct",
        "filesystem": "raw",
        "protocol": "https",
        "endpoint": "core.windows.net",
        "tenant_id": TENANT,
        "client_id": CLIENT,
        "client_secret": remember_secret("sp-secret-value-123"),
        "resource_url": "https://storage.azure.com/",
        "authority_url": "https://login.microsoftonline.com",
    }
    assert client.post(new_url(workspace), data).status_code == 302
    assert Datastore.objects.get(name="lake").auth_type == "service_principal"


@pytest.mark.parametrize(
    "storage_type, port, endpoint",
    [
        ("AzurePostgreSql", "5432", "postgres.database.azure.com"),
        ("AzureMySql", "3306", "mysql.database.azure.com"),
        ("AzureSqlDatabase", "1433", "database.windows.net"),
        ("AzureDataLake", None, "azuredatalakestore.net"),
    ],
)
def test_a_swap_brings_the_new_types_defaults_in_place_of_the_old_types(
    client, workspace, storage_type, port, endpoint
):
    """The page sends what it shows (Azure SQL's port 1433, Blob's endpoint); untouched defaults
    of the type shown give way to the new type's own."""
    shown = "AzureSqlDatabase" if storage_type != "AzureSqlDatabase" else "AzurePostgreSql"
    shown_port = "1433" if shown == "AzureSqlDatabase" else "5432"
    page = swap(
        client,
        workspace,
        storage_type=storage_type,
        _shown_type=shown,
        port=shown_port,
        endpoint=backend_for(shown).connection_fields["endpoint"].initial,
        server_name="myserver",
    ).content.decode()
    if port:
        assert f'value="{port}"' in field_block(page, "port")
        assert 'value="myserver"' in field_block(page, "server_name")  # typed: kept
    assert f'value="{endpoint}"' in field_block(page, "endpoint")


def test_a_swap_from_blob_to_a_database_replaces_core_windows_net(client, workspace):
    page = swap(
        client,
        workspace,
        storage_type="AzurePostgreSql",
        _shown_type="AzureBlob",
        endpoint="core.windows.net",
        protocol="https",
        account_name="acct",
    ).content.decode()
    assert 'value="postgres.database.azure.com"' in field_block(page, "endpoint")
    assert 'value="5432"' in field_block(page, "port")


def test_a_port_the_person_typed_survives_a_swap(client, workspace):
    page = swap(
        client, workspace, storage_type="AzureMySql", _shown_type="AzurePostgreSql", port="6543"
    ).content.decode()
    assert 'value="6543"' in field_block(page, "port")


def test_a_failed_submit_lists_every_error_at_the_top_linked_to_its_field(client, workspace):
    response = client.post(
        new_url(workspace),
        {
            "name": "9bad",
            "storage_type": "AzureBlob",
            "auth_type": "account_key",
            "account_name": "UPPER",
            "container_name": "c1c",
            "protocol": "https",
            "endpoint": "core.windows.net",
            "account_key": "nope",
        },
    )
    page = response.content.decode()
    summary = page.split('id="error-summary"')[1].split("</div>")[0]
    assert "data-focus-on-load" in page.split('id="error-summary"')[0][-200:] + summary[:200]
    assert '<a href="#id_name">Datastore name:' in summary
    assert '<a href="#id_account_name">Account name:' in summary
    assert '<a href="#id_account_key">Account key:' in summary
    assert page.index('id="error-summary"') < page.index('id="field-name"')
