"""Every failure a user can meet on a file page answers with the page (never a 500), in plain
words, with a way out. Against the real Azurite: SAS tokens made with the SDK (expired,
read-only), a deleted container, and a listener that never answers."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from django.urls import reverse

from datastores.crypto import encrypt_secrets
from datastores.models import Datastore
from datastores.services import datastore_register
from datastores.storage import AuthType, backend_for

from .support import AZURITE_ACCOUNT, AZURITE_KEY, register_sas, sas

pytestmark = pytest.mark.django_db


def url(datastore, view, *args):
    return reverse(view, args=[datastore.workspace.name, datastore.name, *args])


def text_of(response) -> str:
    return response.content.decode().replace("&#x27;", "'")


@pytest.fixture
def expired(workspace, container_name, azurite_endpoint, blob_service):
    """A datastore whose SAS (made with the SDK) expired after it was registered."""
    blob_service.get_container_client(container_name).upload_blob("data/a.txt", b"alpha")
    datastore = register_sas(
        workspace, container_name, azurite_endpoint, sas(container_name, expiry=datetime.now(UTC) + timedelta(days=1))
    )
    expired_on = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    datastore.encrypted_secrets = encrypt_secrets({"sas_token": sas(container_name, expiry=expired_on)})
    datastore.save()
    return datastore


EXPIRED = "The SAS token expired on 2026-11-30 10:00 UTC."


@pytest.mark.parametrize("action", ["browse", "download", "zip", "delete", "preview", "delete folder", "move"])
def test_an_expired_sas_answers_every_file_page_with_its_date_and_update_authentication(client, expired, action):
    calls = {
        "browse": lambda: client.get(url(expired, "datastore_browse"), {"listing": "1"}),
        "download": lambda: client.get(url(expired, "datastore_file", "data/a.txt")),
        "zip": lambda: client.get(url(expired, "datastore_folder_zip"), {"path": "data"}),
        "delete": lambda: client.post(url(expired, "datastore_delete_file"), {"path": "data/a.txt"}),
        "preview": lambda: client.get(url(expired, "datastore_preview"), {"path": "data/a.txt"}),
        "delete folder": lambda: client.get(url(expired, "datastore_delete_folder"), {"path": "data"}),
        "move": lambda: client.post(url(expired, "datastore_move"), {"path": "data/a.txt", "destination": "b.txt"}),
    }
    response = calls[action]()
    assert 400 <= response.status_code < 500 and not getattr(response, "streaming", False)
    page = text_of(response)
    assert EXPIRED in page
    assert f'href="{url(expired, "datastore_edit_auth")}">Update authentication</a>' in page
    assert "sas_token" not in page  # no internal field name


def test_an_expired_sas_upload_answers_json_with_the_way_out(client, expired):
    response = client.put(
        url(expired, "datastore_file", "up.txt") + "?overwrite=0", data=b"x", content_type="text/plain"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["outcome"] == "failed" and body["message"].startswith(EXPIRED)
    assert {"label": "Update authentication", "url": url(expired, "datastore_edit_auth")} in body["ways_out"]


def test_an_expired_sas_test_connection_says_so_with_the_way_out(client, expired):
    response = client.post(url(expired, "datastore_test_connection"), headers={"HX-Request": "true"})
    page = text_of(response)
    assert EXPIRED in page and "Update authentication" in page


def test_the_list_and_detail_pages_show_an_expired_sas_and_its_facts(client, expired):
    listing = text_of(client.get(reverse("datastore_list", args=[expired.workspace.name])))
    assert "SAS token expired on 2026-11-30 10:00 UTC" in listing
    detail = text_of(client.get(url(expired, "datastore_detail")))
    assert "SAS token expired on 2026-11-30 10:00 UTC" in detail
    assert "read, add, create, write, delete, list" in detail or "read, create, write, delete, list" in detail
    assert "Allowed IP range" in detail and "sig=" not in detail


def test_a_sas_that_expires_within_a_week_gets_a_warning_badge(client, workspace, container_name, azurite_endpoint):
    soon = datetime.now(UTC) + timedelta(days=3, hours=1)
    register_sas(workspace, container_name, azurite_endpoint, sas(container_name, expiry=soon, read=True, list=True))
    register_sas(
        workspace,
        container_name,
        azurite_endpoint,
        sas(container_name, expiry=datetime.now(UTC) + timedelta(days=60), read=True, list=True),
        name="later",
    )
    listing = text_of(client.get(reverse("datastore_list", args=[workspace.name])))
    assert listing.count("badge-warning") == 1
    assert f"SAS token expires in 3 days ({soon:%Y-%m-%d %H:%M} UTC)" in listing


def test_secrets_that_no_longer_decrypt_answer_with_update_authentication(
    client, workspace, container_name, azurite_endpoint
):
    datastore = register_sas(
        workspace, container_name, azurite_endpoint, sas(container_name, expiry=datetime.now(UTC) + timedelta(days=1))
    )
    Datastore.objects.filter(pk=datastore.pk).update(encrypted_secrets="gAAAAAnot-a-fernet-token")
    response = client.get(url(datastore, "datastore_browse"), {"listing": "1"})
    assert response.status_code == 409
    assert "cannot be decrypted" in text_of(response) and "Update authentication" in text_of(response)
    assert client.get(url(datastore, "datastore_detail")).status_code == 200
    assert client.get(reverse("datastore_list", args=[workspace.name])).status_code == 200


def test_a_read_only_sas_names_the_permission_each_action_needs(
    client, workspace, container_name, azurite_endpoint, blob_service
):
    blob_service.get_container_client(container_name).upload_blob("a.txt", b"alpha")
    datastore = register_sas(
        workspace,
        container_name,
        azurite_endpoint,
        sas(container_name, expiry=datetime.now(UTC) + timedelta(days=1), read=True, list=True),
    )
    deleted = client.post(url(datastore, "datastore_delete_file"), {"path": "a.txt"})
    assert deleted.status_code == 502
    assert "generate one with delete (d)" in text_of(deleted) and "write (w)" not in text_of(deleted)
    assert "Back to the root folder" in text_of(deleted)  # a way back to where the person was
    uploaded = client.put(
        url(datastore, "datastore_file", "b.txt") + "?overwrite=0", data=b"x", content_type="text/plain"
    )
    assert "write (w) and create (c)" in uploaded.json()["message"]
    assert blob_service.get_container_client(container_name).get_blob_client("a.txt").exists()


def test_downloading_from_a_deleted_container_hints_for_this_page_only(
    client, workspace, container_name, azurite_endpoint, blob_service
):
    datastore = register_sas(
        workspace, container_name, azurite_endpoint, sas(container_name, expiry=datetime.now(UTC) + timedelta(days=1))
    )
    blob_service.delete_container(container_name)
    for response in (
        client.get(url(datastore, "datastore_file", "a.txt")),
        client.get(url(datastore, "datastore_folder_zip"), {"path": ""}),
    ):
        assert response.status_code == 404 and not response.streaming
        page = text_of(response)
        assert "was not found" in page and "Create if not exists" not in page
        assert "Overview of shared" in page


@override_settings(STORAGE_TIMEOUT_SECONDS=2)
def test_a_listener_that_never_answers_times_out_within_the_timeout_retries_included(client, workspace, silent_port):
    backend = backend_for("AzureBlob")
    values = backend.clean_values(
        AuthType.ACCOUNT_KEY,
        {
            "account_name": AZURITE_ACCOUNT,
            "container_name": "silent",
            "endpoint": f"127.0.0.1:{silent_port}",
            "protocol": "http",
            "account_key": AZURITE_KEY,
            "skip_validation": True,
        },
    )
    datastore = datastore_register(
        workspace=workspace, name="silent", storage_type="AzureBlob", auth_type=AuthType.ACCOUNT_KEY, values=values
    )
    started = time.monotonic()
    page = client.get(url(datastore, "datastore_browse"))
    assert page.status_code == 200 and time.monotonic() - started < 1  # the page itself asks no storage
    assert "Loading the folder" in page.content.decode()
    started = time.monotonic()
    listing = client.get(url(datastore, "datastore_browse"), headers={"HX-Request": "true", "HX-Target": "listing"})
    assert time.monotonic() - started < 3.5
    assert listing.status_code == 504 and listing["HX-Reswap"] == "innerHTML"
    assert "did not answer within 2 s" in text_of(listing)


def test_the_tables_page_opens_at_once_and_an_unreachable_server_answers_in_place(client, workspace, pg):
    """The real PostgreSQL's form values, pointed at a port nothing listens on."""
    from .support import free_port

    form = {**pg.form(name="down", port=str(free_port())), "skip_validation": "on"}
    assert client.post(reverse("datastore_new", args=[workspace.name]), form).status_code == 302
    datastore = Datastore.objects.get(workspace=workspace, name="down")
    page = client.get(url(datastore, "datastore_tables"))
    assert page.status_code == 200 and "Loading the tables" in page.content.decode()
    listing = client.get(
        url(datastore, "datastore_tables"), headers={"HX-Request": "true", "HX-Target": "tables-listing"}
    )
    assert listing.status_code == 502 and listing["HX-Reswap"] == "innerHTML"
    assert "could not be reached" in text_of(listing) and "Update authentication" in text_of(listing)
