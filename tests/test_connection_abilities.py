"""Test connection reports what the stored credential can do: list, read, and (only when asked)
write and delete on a temporary object removed again, for files (real Azurite); connect, list
tables and read for SQL (the real PostgreSQL)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from datastores.models import Datastore

from .support import put, register_sas, sas

pytestmark = pytest.mark.django_db


def abilities(page: str) -> dict[str, str]:
    rows = re.findall(r'<th scope="row">([^<]+)</th>\s*<td><span class="[^"]+">([^<]+)</span>', page)
    return dict(rows)


def test(client, datastore, **form) -> str:
    url = reverse("datastore_test_connection", args=[datastore.workspace.name, datastore.name])
    return client.post(url, form, headers={"HX-Request": "true"}).content.decode()


test.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test: pytest reads the flag


@pytest.mark.parametrize("datastore", ["AzureBlob"], indirect=True)
def test_write_and_delete_are_checked_only_when_asked_and_leave_nothing(client, datastore, blob_service):
    put(client, datastore, "hello.txt", b"hi")
    assert abilities(test(client, datastore)) == {
        "List": "Yes",
        "Read": "Yes",
        "Write": "Not tried",
        "Delete": "Not tried",
    }
    assert abilities(test(client, datastore, write="1")) == {
        "List": "Yes",
        "Read": "Yes",
        "Write": "Yes",
        "Delete": "Yes",
    }
    container = blob_service.get_container_client(datastore.connection_settings["container_name"])
    assert [blob.name for blob in container.list_blobs()] == ["hello.txt"]


def test_a_read_only_sas_can_list_and_read_but_not_write(
    client, workspace, container_name, azurite_endpoint, blob_service
):
    blob_service.get_container_client(container_name).upload_blob("a.txt", b"alpha")
    datastore = register_sas(
        workspace,
        container_name,
        azurite_endpoint,
        sas(container_name, expiry=datetime.now(UTC) + timedelta(days=1), read=True, list=True),
    )
    page = test(client, datastore, write="1")
    assert abilities(page) == {"List": "Yes", "Read": "Yes", "Write": "No", "Delete": "Not tried"}
    assert "write (w) and create (c)" in page


def test_sql_reports_connect_list_tables_and_read(client, register, pg, workspace):
    assert register(pg).status_code == 302
    datastore = Datastore.objects.get(workspace=workspace, name="pg_sales")
    assert abilities(test(client, datastore)) == {"Connect": "Yes", "List tables": "Yes", "Read": "Yes"}
