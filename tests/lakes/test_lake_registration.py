"""Registering ADLS Gen2, ADLS Gen1 and DBFS datastores through the real New datastore form,
with "Validate now", against the local stand-ins (see conftest.py beside this file); and
"Test connection" on a saved datastore. A failed check saves nothing and puts its message
on the field to fix."""

from __future__ import annotations

import socket
import time
from html import unescape

import pytest
from django.urls import reverse

from datastores.models import Datastore
from tests.pages import field_block
from tests.support import free_port, remember_secret

from .stores import OUTSIDER_ID, OUTSIDER_SECRET

pytestmark = pytest.mark.django_db

WRONG_SECRET = remember_secret("not-the-client-secret~123")
UNKNOWN_ID = "33333333-3333-4333-8333-333333333333"


@pytest.fixture
def register(client, workspace):
    def post(lake, *, name="lake", validate_now=True, **overrides):
        data = {
            "name": name,
            "storage_type": lake.storage_type,
            "auth_type": lake.backend.auth_types[0].value,
            **lake.values(),
            **overrides,
        }
        if validate_now:
            data["validate_now"] = "on"
        return client.post(reverse("datastore_new", args=[workspace.name]), data)

    return post


def saved(name="lake") -> bool:
    return Datastore.objects.filter(name=name).exists()


# --- ADLS Gen2 --------------------------------------------------------------------------


def test_gen2_registers_when_validate_now_can_list_the_filesystem(register, gen2):
    response = register(gen2)

    assert response.status_code == 302
    datastore = Datastore.objects.get(name="lake")
    assert datastore.connection_settings["filesystem"] == "raw"
    assert any("resource=filesystem" in request for request in gen2.server.requests)


def test_gen2_without_validate_now_registers_without_asking_anyone(register, gen2, aad):
    response = register(gen2, validate_now=False, client_secret=WRONG_SECRET)

    assert response.status_code == 302
    assert aad.requests == [] and gen2.server.requests == []


def test_gen2_with_a_wrong_secret_says_the_token_request_failed(register, gen2):
    page = register(gen2, client_secret=WRONG_SECRET).content.decode()

    block = field_block(page, "client_secret")
    assert "The token request failed" in block and "AADSTS7000215" in block
    assert not saved()


def test_gen2_with_an_unknown_client_id_points_at_the_client_id(register, gen2):
    page = register(gen2, client_id=UNKNOWN_ID).content.decode()

    assert "The token request failed" in field_block(page, "client_id")
    assert "AADSTS700016" in field_block(page, "client_id")
    assert not saved()


def test_gen2_with_an_unknown_tenant_points_at_the_tenant_id(register, gen2):
    page = register(gen2, tenant_id="6f1c2a4e-0000-4000-8000-0000000bad00").content.decode()

    assert "The token request failed: the authority does not know this tenant" in field_block(page, "tenant_id")
    assert not saved()


def test_gen2_with_a_valid_token_but_no_grant_says_it_has_no_access_to_the_filesystem(register, gen2):
    page = register(gen2, client_id=OUTSIDER_ID, client_secret=OUTSIDER_SECRET).content.decode()

    block = field_block(page, "client_id")
    assert "The token is valid but has no access to the filesystem 'raw'" in block
    assert "Storage Blob Data Reader" in block
    assert "token request failed" not in page
    assert not saved()


def test_gen2_with_a_principal_of_another_tenant_says_the_account_refused_the_token(register, gen2, aad):
    other_tenant = "6f1c2a4e-0000-4000-8000-00000000b22d"
    aad.add_principal(other_tenant, UNKNOWN_ID, OUTSIDER_SECRET)

    page = register(gen2, tenant_id=other_tenant, client_id=UNKNOWN_ID, client_secret=OUTSIDER_SECRET).content.decode()

    assert "the storage account refused the token" in field_block(page, "tenant_id")
    assert not saved()


def test_gen2_with_a_missing_filesystem_names_it(register, gen2):
    page = register(gen2, filesystem="no-such-fs").content.decode()

    assert "The filesystem 'no-such-fs' was not found in account 'studiolake'" in field_block(page, "filesystem")
    assert not saved()


def test_gen2_with_an_unreachable_endpoint_fails_fast(register, gen2):
    port = free_port()
    started = time.monotonic()

    page = register(gen2, endpoint=f"127.0.0.1:{port}").content.decode()

    assert time.monotonic() - started < 10
    assert f"127.0.0.1:{port} could not be reached" in field_block(page, "endpoint")
    assert not saved()


def test_gen2_with_an_unreachable_authority_points_at_the_authority_url(register, gen2):
    page = register(gen2, authority_url=f"https://127.0.0.1:{free_port()}").content.decode()

    assert "could not be reached. The token request failed" in field_block(page, "authority_url")
    assert not saved()


def test_gen2_a_silent_endpoint_times_out_within_the_configured_bound(register, gen2, settings, silent_port):
    settings.STORAGE_TIMEOUT_SECONDS = 2
    started = time.monotonic()

    page = register(gen2, endpoint=f"127.0.0.1:{silent_port}").content.decode()

    assert time.monotonic() - started < 8
    assert f"127.0.0.1:{silent_port} could not be reached" in field_block(page, "endpoint")


def test_gen2_over_http_is_refused_before_a_token_is_sent(register, gen2, aad):
    page = register(gen2, protocol="http").content.decode()

    assert "only ever sent over https" in field_block(page, "protocol")
    assert aad.requests == []


# --- ADLS Gen1 --------------------------------------------------------------------------


def test_gen1_registers_when_validate_now_can_list_the_store(register, gen1):
    response = register(gen1)

    assert response.status_code == 302
    assert Datastore.objects.get(name="lake").connection_settings["endpoint"] == f"127.0.0.1:{gen1.server.port}"
    assert gen1.server.requests == ["GET LISTSTATUS /"]


def test_gen1_with_a_wrong_secret_says_the_token_request_failed(register, gen1):
    page = register(gen1, client_secret=WRONG_SECRET).content.decode()

    assert "The token request failed" in field_block(page, "client_secret")
    assert gen1.server.requests == []  # the store never saw a request
    assert not saved()


def test_gen1_with_a_valid_token_but_no_grant_says_it_has_no_access_to_the_store(register, gen1):
    page = register(gen1, client_id=OUTSIDER_ID, client_secret=OUTSIDER_SECRET).content.decode()

    assert "The token is valid but has no access to the store 'studiostore'" in field_block(page, "client_id")
    assert not saved()


def test_gen1_with_a_store_name_that_does_not_resolve_says_the_store_could_not_be_reached(register, gen1, monkeypatch):
    real_getaddrinfo = socket.getaddrinfo

    def no_such_host(host, *args, **kwargs):  # as DNS answers for a store that does not exist
        if str(host).endswith(".azuredatalakestore.net"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)

    page = register(gen1, store_name="gonestore", endpoint="azuredatalakestore.net").content.decode()

    block = field_block(page, "endpoint")
    assert "gonestore.azuredatalakestore.net:443 could not be reached" in block and "Gen1 was retired" in block
    assert not saved()


def test_gen1_with_an_unreachable_endpoint_fails_fast(register, gen1):
    port = free_port()

    page = register(gen1, endpoint=f"127.0.0.1:{port}").content.decode()

    assert f"127.0.0.1:{port} could not be reached" in field_block(page, "endpoint")
    assert not saved()


def test_gen1_a_silent_store_times_out_within_the_configured_bound(register, gen1, settings, silent_port):
    settings.STORAGE_TIMEOUT_SECONDS = 2
    started = time.monotonic()

    page = register(gen1, endpoint=f"127.0.0.1:{silent_port}").content.decode()

    assert time.monotonic() - started < 8
    assert f"127.0.0.1:{silent_port} could not be reached" in field_block(page, "endpoint")


def test_gen1_form_offers_the_azure_endpoint_by_default(client, workspace):
    page = client.get(
        reverse("datastore_new", args=[workspace.name]),
        {"storage_type": "AzureDataLake", "auth_type": "service_principal"},
        headers={"HX-Request": "true", "HX-Target": "datastore-fields"},
    ).content.decode()

    assert 'value="azuredatalakestore.net"' in field_block(page, "endpoint")


def test_gen1_retirement_is_shown_on_the_datastore_page(client, workspace, register, gen1):
    register(gen1, validate_now=False)

    page = client.get(reverse("datastore_detail", args=[workspace.name, "lake"])).content.decode()

    assert "retired Data Lake Storage Gen1 on 2024-02-29" in page


# --- DBFS ------------------------------------------------------------------------------


def test_dbfs_registers_with_a_workspace_url_and_token_that_validate_now_accepts(register, dbfs):
    response = register(dbfs)

    assert response.status_code == 302
    datastore = Datastore.objects.get(name="lake")
    assert datastore.connection()["access_token"] == dbfs.server.token
    assert dbfs.server.token not in str(datastore.connection_settings)
    assert dbfs.server.requests == ["GET /api/2.0/dbfs/get-status"]


def test_dbfs_with_a_wrong_token_says_the_workspace_refused_it(register, dbfs):
    page = register(dbfs, access_token=remember_secret("dapi-not-a-real-token")).content.decode()

    assert "The workspace refused the personal access token" in field_block(page, "access_token")
    assert not saved()


def test_dbfs_with_an_unreachable_workspace_fails_fast(register, dbfs):
    port = free_port()

    page = register(dbfs, workspace_url=f"https://127.0.0.1:{port}").content.decode()

    assert f"127.0.0.1:{port} could not be reached" in field_block(page, "workspace_url")
    assert not saved()


def test_dbfs_a_silent_workspace_times_out_within_the_configured_bound(register, dbfs, settings, silent_port):
    settings.STORAGE_TIMEOUT_SECONDS = 2
    started = time.monotonic()

    page = register(dbfs, workspace_url=f"https://127.0.0.1:{silent_port}").content.decode()

    assert time.monotonic() - started < 8
    assert f"127.0.0.1:{silent_port} could not be reached" in field_block(page, "workspace_url")


def test_dbfs_with_a_url_that_is_not_a_databricks_workspace_says_so(register, dbfs, aad):
    page = register(dbfs, workspace_url=aad.base_url).content.decode()

    assert "has no DBFS API" in field_block(page, "workspace_url")
    assert not saved()


def test_dbfs_with_a_workspace_url_but_no_token_asks_for_one(register, dbfs):
    page = register(dbfs, access_token="").content.decode()

    assert "add a personal access token" in field_block(page, "access_token")
    assert dbfs.server.requests == []
    assert not saved()


def test_dbfs_with_a_token_but_no_workspace_url_asks_for_the_url(register, dbfs):
    page = register(dbfs, workspace_url="").content.decode()

    assert "only used with a workspace URL" in field_block(page, "workspace_url")
    assert not saved()


def test_dbfs_for_local_compute_has_nothing_to_check_and_its_page_says_what_browsing_needs(
    client, workspace, register, dbfs
):
    response = register(dbfs, workspace_url="", access_token="")

    assert response.status_code == 302
    page = client.get(reverse("datastore_detail", args=[workspace.name, "lake"])).content.decode()
    assert "add the workspace URL and a personal access token" in page
    assert dbfs.server.requests == []


# --- Test connection on a saved datastore -------------------------------------------------


def press_test_connection(client, workspace, name="lake") -> str:
    url = reverse("datastore_test_connection", args=[workspace.name, name])
    return unescape(client.post(url, headers={"HX-Request": "true"}).content.decode())


@pytest.mark.parametrize("lake_name", ["gen2", "gen1", "dbfs"])
def test_test_connection_on_a_saved_datastore_uses_its_stored_secrets(client, workspace, register, request, lake_name):
    lake = request.getfixturevalue(lake_name)
    register(lake, validate_now=False)

    assert "Connection succeeded" in press_test_connection(client, workspace)


def test_test_connection_reports_a_grant_revoked_after_registration(client, workspace, register, gen2):
    register(gen2)
    gen2.server.grants.clear()

    page = press_test_connection(client, workspace)

    assert "The token is valid but has no access to the filesystem 'raw'" in page
    assert "Connection succeeded" not in page


def test_test_connection_reports_a_token_revoked_after_registration(client, workspace, register, dbfs):
    register(dbfs)
    dbfs.server.tokens.clear()

    assert "The workspace refused the personal access token" in press_test_connection(client, workspace)
