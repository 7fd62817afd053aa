"""Registering Blob datastores against the real Azurite, and managing datastores."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from datastores.models import Datastore

from .pages import field_block
from .support import AZURITE_ACCOUNT, AZURITE_KEY, WRONG_KEY, free_port, remember_secret, sas_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def register(client, workspace, azurite_endpoint):
    def post(name="azurite_blob", **overrides):
        data = {
            "name": name,
            "storage_type": "AzureBlob",
            "auth_type": "account_key",
            "account_name": AZURITE_ACCOUNT,
            "protocol": "http",
            "endpoint": azurite_endpoint,
            "account_key": remember_secret(AZURITE_KEY),
            **overrides,
        }
        return client.post(reverse("datastore_new", args=[workspace.name]), data)

    return post


def test_the_right_account_key_registers_the_datastore(register, container_name, workspace):
    response = register(container_name=container_name)
    assert response.status_code == 302
    datastore = Datastore.objects.get(workspace=workspace, name="azurite_blob")
    assert datastore.connection_settings["container_name"] == container_name


def test_a_wrong_account_key_is_refused_with_an_authentication_message(register, container_name):
    page = register(container_name=container_name, account_key=remember_secret(WRONG_KEY)).content.decode()
    assert "Authentication failed: the storage account refused the account key" in field_block(page, "account_key")
    assert not Datastore.objects.filter(name="azurite_blob").exists()


def test_a_sas_token_with_read_and_list_registers(register, container_name):
    response = register(
        container_name=container_name, auth_type="sas_token", sas_token=sas_for(container_name, read=True, list=True)
    )
    assert response.status_code == 302
    assert Datastore.objects.get(name="azurite_blob").auth_type == "sas_token"


def test_a_sas_token_without_list_permission_says_which_permission_is_missing(register, container_name):
    page = register(
        container_name=container_name, auth_type="sas_token", sas_token=sas_for(container_name, read=True)
    ).content.decode()
    assert "lacks a permission" in field_block(page, "sas_token")
    assert "list (l)" in field_block(page, "sas_token")
    assert not Datastore.objects.filter(name="azurite_blob").exists()


def test_a_missing_container_is_named_with_a_hint_about_create_if_not_exists(register, blob_service):
    page = register(container_name="no-such-container").content.decode()
    block = field_block(page, "container_name")
    assert "'no-such-container' was not found" in block and "Create if not exists" in block
    assert not blob_service.get_container_client("no-such-container").exists()


def test_create_if_not_exists_creates_the_container_in_storage(register, blob_service):
    response = register(container_name="made-by-the-studio", create_if_not_exists="on")
    assert response.status_code == 302
    assert blob_service.get_container_client("made-by-the-studio").exists()


def test_an_unreachable_port_fails_fast_with_a_clear_message(register, container_name):
    port = free_port()
    started = time.monotonic()
    page = register(container_name=container_name, endpoint=f"127.0.0.1:{port}").content.decode()
    assert time.monotonic() - started < 10
    assert f"127.0.0.1:{port} could not be reached" in field_block(page, "endpoint")


def test_a_silent_server_times_out_within_the_configured_bound(register, container_name, settings, silent_port):
    settings.STORAGE_TIMEOUT_SECONDS = 2
    started = time.monotonic()
    page = register(container_name=container_name, endpoint=f"127.0.0.1:{silent_port}").content.decode()
    elapsed = time.monotonic() - started
    assert elapsed < 8
    assert f"127.0.0.1:{silent_port} could not be reached" in field_block(page, "endpoint")


def test_test_connection_on_the_detail_page_uses_the_stored_credentials(client, workspace, register, container_name):
    url = reverse("datastore_test_connection", args=[workspace.name, "workspaceblobstore"])
    page = client.post(url, headers={"HX-Request": "true"}).content.decode()
    assert "Connection succeeded" in page
    assert "<html" not in page
    # Azurite checks the key it is sent: a datastore stored with a wrong one fails the same test.
    register(
        name="wrong_key", container_name=container_name, account_key=remember_secret(WRONG_KEY), skip_validation="on"
    )
    url = reverse("datastore_test_connection", args=[workspace.name, "wrong_key"])
    page = client.post(url, headers={"HX-Request": "true"}).content.decode()
    assert "Authentication failed: the storage account refused the account key" in page


def test_set_as_default_moves_the_badge(client, workspace, register, container_name):
    register(container_name=container_name)
    client.post(reverse("datastore_set_default", args=[workspace.name, "azurite_blob"]))
    assert list(workspace.datastores.filter(is_default=True).values_list("name", flat=True)) == ["azurite_blob"]
    page = client.get(reverse("datastore_list", args=[workspace.name])).content.decode()
    row = page[page.index(">azurite_blob<") : page.index("</tr>", page.index(">azurite_blob<"))]
    assert "Default" in row


def test_unregistering_the_default_hands_the_default_back_to_workspaceblobstore(
    client, workspace, register, container_name, blob_service
):
    register(container_name=container_name)
    client.post(reverse("datastore_set_default", args=[workspace.name, "azurite_blob"]))
    confirm = client.get(reverse("datastore_unregister", args=[workspace.name, "azurite_blob"])).content.decode()
    assert "is the workspace's default datastore" in confirm
    response = client.post(reverse("datastore_unregister", args=[workspace.name, "azurite_blob"]), follow=True)
    assert "workspaceblobstore is now the default datastore" in response.content.decode()
    assert not Datastore.objects.filter(name="azurite_blob").exists()
    assert workspace.datastores.get(is_default=True).name == "workspaceblobstore"
    assert blob_service.get_container_client(container_name).exists()  # the data is untouched


def edit_url(workspace, name):
    return reverse("datastore_edit_auth", args=[workspace.name, name])


def test_update_authentication_keeps_a_blank_secret(client, workspace, register, container_name, azurite_endpoint):
    register(container_name=container_name)
    before = Datastore.objects.get(name="azurite_blob")
    response = client.post(
        edit_url(workspace, "azurite_blob"),
        {
            "auth_type": "account_key",
            "account_name": AZURITE_ACCOUNT,
            "container_name": container_name,
            "protocol": "http",
            "endpoint": azurite_endpoint,
            "account_key": "",
        },
    )
    assert response.status_code == 302
    after = Datastore.objects.get(name="azurite_blob")
    assert after.connection()["account_key"] == AZURITE_KEY
    assert after.secrets_updated_at == before.secrets_updated_at


def test_update_authentication_to_a_sas_token_replaces_the_key(
    client, workspace, register, container_name, azurite_endpoint
):
    register(container_name=container_name)
    sas = sas_for(container_name, read=True, list=True)
    response = client.post(
        edit_url(workspace, "azurite_blob"),
        {
            "auth_type": "sas_token",
            "account_name": AZURITE_ACCOUNT,
            "container_name": container_name,
            "protocol": "http",
            "endpoint": azurite_endpoint,
            "sas_token": sas,
        },
    )
    assert response.status_code == 302
    connection = Datastore.objects.get(name="azurite_blob").connection()
    assert connection.auth_type == "sas_token" and connection["sas_token"] == sas
    assert "account_key" not in connection.values


def test_changing_the_endpoint_requires_typing_the_secret_again(client, workspace, register, container_name):
    register(container_name=container_name)
    page = client.post(
        edit_url(workspace, "azurite_blob"),
        {
            "auth_type": "account_key",
            "account_name": AZURITE_ACCOUNT,
            "container_name": container_name,
            "protocol": "https",
            "endpoint": "core.windows.net",
            "account_key": "",
            "skip_validation": "on",
        },
    ).content.decode()
    assert "a stored secret is never sent to a new place" in field_block(page, "account_key")
    assert Datastore.objects.get(name="azurite_blob").connection_settings["endpoint"] != "core.windows.net"


def test_update_authentication_with_a_wrong_key_changes_nothing(
    client, workspace, register, container_name, azurite_endpoint
):
    register(container_name=container_name)
    page = client.post(
        edit_url(workspace, "azurite_blob"),
        {
            "auth_type": "account_key",
            "account_name": AZURITE_ACCOUNT,
            "container_name": container_name,
            "protocol": "http",
            "endpoint": azurite_endpoint,
            "account_key": remember_secret(WRONG_KEY),
        },
    ).content.decode()
    assert "Authentication failed" in field_block(page, "account_key")
    assert Datastore.objects.get(name="azurite_blob").connection()["account_key"] == AZURITE_KEY


def test_the_detail_page_shows_the_key_only_as_stored_and_a_script_that_names_the_datastore(client, workspace):
    page = client.get(reverse("datastore_detail", args=[workspace.name, "workspaceblobstore"])).content.decode()
    assert "<dt>Account key</dt><dd>Stored (encrypted)" in page
    assert AZURITE_KEY not in page
    # The script snippets: azure-ai-ml against this studio, and curl (no SDK v1, which talks to Azure).
    assert "ml_client.datastores.get(&#x27;workspaceblobstore&#x27;, include_secrets=True)" in page
    assert "/api/v1/workspaces/" in page and "azureml.core" not in page
    # This repository's SDK and CLI, and the azureml:// URI, each with a copy button.
    assert "Datastore.get(ws, &#x27;workspaceblobstore&#x27;)" in page
    assert f"datastore-studio upload ./data -d workspaceblobstore --target-path data -w {workspace.name}" in page
    uri = f"/workspaces/{workspace.name}/datastores/workspaceblobstore/paths/"
    assert "azureml://subscriptions/" in page and uri in page
    assert page.count('data-copy="') >= 5 and 'aria-label="Copy: azureml:// URI"' in page


def test_the_list_filter_narrows_by_name_through_htmx(client, workspace):
    response = client.get(
        reverse("datastore_list", args=[workspace.name]),
        {"name": "file"},
        headers={"HX-Request": "true", "HX-Target": "datastore-table"},
    )
    page = response.content.decode()
    assert "<html" not in page
    assert "workspacefilestore" in page and "workspaceblobstore" not in page


def test_the_script_box_offers_azureml_paths_only_where_the_client_can_open_them(client, workspace, datastore):
    """pandas on azureml:// paths goes through adlfs, which speaks the Blob protocol: the box shows the
    URI and the pandas line for a Blob datastore, and for a File Share (the server is a stand-in) it
    offers the SDK's upload and download instead of a path the client would refuse."""
    page = client.get(reverse("datastore_detail", args=[workspace.name, datastore.name])).content.decode()
    assert "Datastore.get(ws, &#x27;files&#x27;)" in page and "datastore.download(" in page
    offered = "azureml://datastores/files/paths/" in page and 'aria-label="Copy: azureml:// URI"' in page
    assert offered == (datastore.storage_type == "AzureBlob")
