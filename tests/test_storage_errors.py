"""Storage errors answered in one place (datastores/errors.py) and logged there through the
secret-redacting filter (datastores/logs.py), through real requests against the real Azurite
(and, for the timeout, a DBFS datastore whose workspace is a port that never answers):
each kind of StorageError answers the page the user was on (its status, the datastore's header
and tabs, the message, the ways out), only the error part to htmx (with HX-Reswap: innerHTML),
and JSON to the upload PUT; its log line holds the message and no secret."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote

import pytest
from azure.storage.blob import ContainerSasPermissions, generate_container_sas
from cryptography.fernet import Fernet
from django.urls import reverse

from datastores.errors import logger as storage_error_logger
from datastores.models import Datastore
from datastores.services import datastore_register
from datastores.storage import (
    AuthenticationFailed,
    AuthType,
    InvalidInput,
    NotFound,
    PermissionMissing,
    StorageError,
    StoredSettingsInvalid,
    TimedOut,
    backend_for,
)

from .pages import links
from .support import AZURITE_ACCOUNT, AZURITE_KEY, WRONG_KEY, remember_secret

pytestmark = pytest.mark.django_db

BLOB = "AzureBlob"  # the storage type of most cases: Blob Storage, on the real Azurite
DBFS = "DBFS"  # for the timeout (see the fixture)


@dataclass(frozen=True)
class Failure:
    """A datastore set up to fail, and what the studio must answer."""

    datastore: Datastore
    kind: type[StorageError]
    status: int
    message: str
    update_authentication: bool  # whether "Update authentication" is offered as a way out
    field: str | None = None  # the form field at fault, as the JSON names it
    path: str = ""  # the folder browsed, and the folder the upload goes into
    secrets: tuple[str, ...] = ()  # what no answer or log line may hold
    listing_message: str = ""  # what the browse listing says, when not `message` (a page-level deadline)
    upload_status: int = 0  # what the upload PUT answers, when not `status`

    @property
    def page_message(self) -> str:
        return self.listing_message or self.message


def blob_datastore(workspace, container: str, *, endpoint: str, **credentials) -> Datastore:
    auth_type = AuthType.SAS_TOKEN if "sas_token" in credentials else AuthType.ACCOUNT_KEY
    values = backend_for(BLOB).clean_values(
        auth_type,
        {
            "account_name": AZURITE_ACCOUNT,
            "container_name": container,
            "protocol": "http",
            "endpoint": endpoint,
            "skip_validation": True,
            **credentials,
        },
    )
    return datastore_register(
        workspace=workspace, name="failing", storage_type=BLOB, auth_type=auth_type, values=values
    )


def read_only_sas(container: str) -> str:
    return remember_secret(
        generate_container_sas(
            AZURITE_ACCOUNT,
            container,
            account_key=AZURITE_KEY,
            permission=ContainerSasPermissions(read=True),
            expiry=datetime.now(UTC) + timedelta(hours=1),
        )
    )


@pytest.fixture(
    params=[
        "NotFound",
        "AuthenticationFailed",
        "PermissionMissing",
        "TimedOut",
        "StoredSettingsInvalid",
        "InvalidInput",
    ]
)
def failure(request, workspace, azurite_endpoint, blob_service, container_name, settings) -> Failure:
    kind = request.param
    if kind == "NotFound":  # the container was deleted after registration
        datastore = blob_datastore(workspace, container_name, endpoint=azurite_endpoint, account_key=AZURITE_KEY)
        blob_service.delete_container(container_name)
        message = (
            f"The container '{container_name}' was not found in account '{AZURITE_ACCOUNT}'. "
            "Check that it still exists."
        )
        return Failure(datastore, NotFound, 404, message, True, "container_name", secrets=(AZURITE_KEY,))
    if kind == "AuthenticationFailed":  # a wrong account key
        wrong_key = remember_secret(WRONG_KEY)
        datastore = blob_datastore(workspace, container_name, endpoint=azurite_endpoint, account_key=wrong_key)
        message = (
            "Authentication failed: the storage account refused the account key. "
            "Copy it again from the portal, and check the account name."
        )
        return Failure(datastore, AuthenticationFailed, 502, message, True, "account_key", secrets=(wrong_key,))
    if kind == "PermissionMissing":  # a read-only SAS: no list to browse, no write to upload
        sas = read_only_sas(container_name)
        datastore = blob_datastore(workspace, container_name, endpoint=azurite_endpoint, sas_token=sas)
        message = "The SAS token is valid but lacks a permission this needs: generate one with"
        signature = parse_qs(sas)["sig"][0]
        return Failure(datastore, PermissionMissing, 502, message, True, "sas_token", secrets=(sas, signature))
    if kind == "TimedOut":  # a port that accepts connections and never answers
        # The page stops waiting at STORAGE_TIMEOUT_SECONDS (504); the upload's own call to the
        # host ends in the one message every transport failure gets (502, see endpoints/network).
        port = request.getfixturevalue("silent_port")
        settings.STORAGE_TIMEOUT_SECONDS = 1
        token = remember_secret("dapi0123456789abcdef0123456789abcdef")
        values = backend_for(DBFS).clean_values(
            AuthType.NONE, {"workspace_url": f"https://127.0.0.1:{port}", "access_token": token}
        )
        datastore = datastore_register(
            workspace=workspace, name="failing", storage_type=DBFS, auth_type=AuthType.NONE, values=values
        )
        return Failure(
            datastore,
            TimedOut,
            504,
            f"127.0.0.1:{port} could not be reached.",
            True,
            "workspace_url",
            secrets=(token,),
            upload_status=502,
            listing_message="The storage service did not answer within 1 s while listing the folder.",
        )
    if kind == "StoredSettingsInvalid":  # secrets encrypted under a key the studio no longer has
        datastore = blob_datastore(workspace, container_name, endpoint=azurite_endpoint, account_key=AZURITE_KEY)
        lost_key = Fernet(Fernet.generate_key())
        Datastore.objects.filter(pk=datastore.pk).update(encrypted_secrets=lost_key.encrypt(b"{}").decode())
        message = "The stored secrets cannot be decrypted with any key in DATASTORE_ENCRYPTION_KEYS."
        return Failure(datastore, StoredSettingsInvalid, 409, message, True, secrets=(AZURITE_KEY,))
    # A path a user typed that cannot be used: nothing about the datastore to update.
    datastore = blob_datastore(workspace, container_name, endpoint=azurite_endpoint, account_key=AZURITE_KEY)
    message = "A path cannot contain empty, '.' or '..' folders."
    return Failure(datastore, InvalidInput, 400, message, False, path="a/../b", secrets=(AZURITE_KEY,))


def browse_url(failure: Failure) -> str:
    """The browse page with its listing in the page (as without JavaScript; htmx loads it into place)."""
    url = reverse("datastore_browse", args=[failure.datastore.workspace.name, failure.datastore.name])
    return f"{url}?listing=1&path={quote(failure.path)}" if failure.path else f"{url}?listing=1"


def upload_url(failure: Failure) -> str:
    path = f"{failure.path}/new.csv" if failure.path else "new.csv"
    return (
        reverse("datastore_file", args=[failure.datastore.workspace.name, failure.datastore.name, path])
        + "?overwrite=0"
    )


def error_part(page: str) -> str:
    """The error section of a page or partial, as a user reads it."""
    start = page.index('<section class="card storage-error"')
    return page[start : page.index("</section>", start)].replace("&#x27;", "'")


def ways_out(failure: Failure) -> list[tuple[str, str]]:
    """The ways out a page offers. A page-level deadline names no field, so it offers no fix."""
    args = [failure.datastore.workspace.name, failure.datastore.name]
    fixable = failure.update_authentication and not failure.listing_message
    ways = [("Update authentication", reverse("datastore_edit_auth", args=args))] if fixable else []
    return [*ways, (f"Overview of {failure.datastore.name}", reverse("datastore_detail", args=args))]


def shown_ways_out(failure: Failure, part: str) -> list[tuple[str, str]]:
    labels = ("Update authentication", f"Overview of {failure.datastore.name}")
    return [(label, href) for label in labels for href in links(part, label)]


def assert_logged(caplog, failure: Failure) -> None:
    """One line on the errors logger with the message (a warning when the service failed), no secret."""
    [record] = [record for record in caplog.records if record.name == storage_error_logger.name]
    assert failure.message in record.getMessage() or failure.page_message in record.getMessage()
    assert record.levelno == (logging.WARNING if failure.status >= 500 else logging.INFO)
    for secret in failure.secrets:
        assert secret not in caplog.text


@pytest.fixture
def logged(caplog):
    caplog.set_level(logging.INFO, logger=storage_error_logger.name)
    return caplog


def test_a_storage_error_answers_the_page_with_its_status_tabs_message_and_ways_out(client, failure, logged):
    response = client.get(browse_url(failure))

    assert response.status_code == failure.status
    page = response.content.decode()
    assert page.lstrip().lower().startswith("<!doctype html>") and f"<h1>{failure.datastore.name}" in page
    tabs_start = page.index('<nav class="tabs" aria-label="Datastore">')
    tabs = page[tabs_start : page.index("</nav>", tabs_start)]
    assert ">Overview</a>" in tabs and 'aria-current="page">Overview' not in tabs
    assert 'aria-current="page">Browse</a>' in tabs
    part = error_part(page)
    assert failure.page_message in part
    assert shown_ways_out(failure, part) == ways_out(failure)
    assert "Create if not exists" not in part  # a hint for the registration form only
    assert_logged(logged, failure)


def test_a_storage_error_answers_htmx_with_only_the_error_part_swapped_inside_its_target(client, failure, logged):
    response = client.get(browse_url(failure), headers={"HX-Request": "true", "HX-Target": "listing"})

    assert response.status_code == failure.status
    assert response["HX-Reswap"] == "innerHTML"
    part = response.content.decode()
    assert "<html" not in part and 'class="tabs"' not in part
    assert part.strip().startswith('<section class="card storage-error"')
    assert failure.page_message in error_part(part)
    assert shown_ways_out(failure, error_part(part)) == ways_out(failure)
    assert_logged(logged, failure)


def test_a_storage_error_answers_the_upload_put_with_json(client, failure, logged):
    response = client.put(upload_url(failure), data=b"a,b\n", content_type="text/csv")

    assert response.status_code == (failure.upload_status or failure.status)
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["outcome"] == "failed" and failure.message in body["message"]
    assert body["field"] == failure.field and set(body) == {"outcome", "message", "field", "ways_out"}
    assert_logged(logged, failure)


def test_a_log_record_with_a_sas_url_and_an_account_key_is_redacted(caplog):
    """Whatever a storage error carries (the SDK's text holds the request URL, a connection
    string holds the key), the secrets are stripped from the message, its arguments and the
    exception text. Two filters guard this: the errors logger's own (errors.py) and the console
    handler's (settings.LOGGING), which rewrites the record for the handlers after it; this
    fails only when both are gone."""
    signature = "Xy%2Bq9Zc1Zm9vYmFyYmF6cXV4%3D"
    sas_url = f"https://studiodata.blob.core.windows.net/raw/a.csv?sv=2024-08-04&sp=r&se=2030-01-01&sig={signature}"
    connection_string = f"DefaultEndpointsProtocol=https;AccountName=studiodata;AccountKey={AZURITE_KEY};"
    caplog.set_level(logging.INFO, logger=storage_error_logger.name)

    try:
        raise ConnectionError(f"GET {sas_url} failed ({connection_string})")
    except ConnectionError:
        storage_error_logger.warning("download of %s failed with %s", sas_url, connection_string, exc_info=True)

    assert "sig=[redacted]" in caplog.text and "AccountKey=[redacted]" in caplog.text
    assert signature not in caplog.text and AZURITE_KEY not in caplog.text
    assert caplog.text.count("[redacted]") == 4  # twice in the message, twice in the exception text
