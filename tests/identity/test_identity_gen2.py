"""Identity-based ADLS Gen2 datastores, against the Gen2 stand-in (tests/standins/adls_gen2.py:
Azurite has no DFS endpoint), which accepts the tokens the studio's managed identity gets from
the Entra ID stand-in, refuses an identity it has granted nothing, and checks the signature and
permissions of user delegation SASs."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.filedatalake import FileSystemClient
from django.urls import reverse

from datastores.access import Actor
from datastores.models import Datastore, Role
from datastores.services import member_add

from ..api_support import ApiClient, token_for
from ..pages import field_block
from ..standins.adls_gen2 import Node
from ..standins.tls import ca_bundle_path
from ..support import put, remember_secret, url

pytestmark = pytest.mark.django_db

FILESYSTEM = "raw"


@pytest.fixture
def lake(identity_provider, studio_identity):
    from tests.lakes.stores import TENANT
    from tests.standins.adls_gen2 import AdlsGen2Standin

    with AdlsGen2Standin(identity_provider, tenant_id=TENANT) as server:
        server.add_filesystem(FILESYSTEM)
        yield server


@pytest.fixture
def register(client, workspace, lake):
    def post(**overrides: str):
        data = {
            "name": "lake_by_identity",
            "storage_type": "AzureDataLakeGen2",
            "auth_type": "identity_based",
            "account_name": lake.account_name,
            "filesystem": FILESYSTEM,
            "protocol": "https",
            "endpoint": f"127.0.0.1:{lake.port}",
            "validate_now": "on",
            **overrides,
        }
        return client.post(reverse("datastore_new", args=[workspace.name]), data)

    return post


def test_an_identity_the_account_granted_nothing_is_told_which_role_to_grant(register, lake, studio_identity):
    page = register().content.decode()
    assert "has no access to the filesystem" in page.replace("&#x27;", "'")
    assert "Storage Blob Data Reader" in field_block(page, "auth_type")
    assert not Datastore.objects.filter(name="lake_by_identity").exists()


def test_a_granted_identity_validates_uploads_and_downloads(register, client, lake, studio_identity):
    lake.grant(studio_identity.client_id, FILESYSTEM)
    assert register().status_code == 302
    datastore = Datastore.objects.get(name="lake_by_identity")
    assert put(client, datastore, "in/a.txt", b"alpha").status_code in (200, 201)
    assert lake.filesystems[FILESYSTEM]["in/a.txt"].data == b"alpha"
    downloaded = client.get(url(datastore, "datastore_file", "in/a.txt"))
    assert b"".join(downloaded.streaming_content) == b"alpha"


def test_a_readers_user_delegation_sas_reads_and_cannot_write(
    register, workspace, user, django_user_model, lake, studio_identity
):
    lake.grant(studio_identity.client_id, FILESYSTEM)
    assert register().status_code == 302
    lake.filesystems[FILESYSTEM]["a.txt"] = Node(is_dir=False, data=b"alpha")
    reader = django_user_model.objects.create_user(username="rita")
    member_add(actor=Actor(user=user), workspace=workspace, who="rita", role=Role.READER)
    api = ApiClient(token_for(reader))
    refused_key = api.post(f"workspaces/{workspace.name}/datastores/lake_by_identity/credentials", json={})
    assert refused_key.status_code == 502 and "Storage Blob Delegator" in refused_key.json()["detail"]
    assert "on the storage account itself" in refused_key.json()["detail"]
    lake.grant(studio_identity.client_id, "*")  # a role on the account covers user delegation keys
    answer = api.post(f"workspaces/{workspace.name}/datastores/lake_by_identity/credentials", json={})
    assert answer.status_code == 200, answer.content
    credential = answer.json()
    remember_secret(credential["sas_token"])
    assert credential["permissions"] == "rl"
    assert lake.delegation_keys[-1]["SignedOid"] == studio_identity.client_id  # the stand-in names keys by client ID
    account_url, _, filesystem = credential["resource_url"].rpartition("/")
    assert filesystem == FILESYSTEM
    direct = FileSystemClient(
        account_url, filesystem, credential=credential["sas_token"], connection_verify=ca_bundle_path()
    )
    assert [path.name for path in direct.get_paths()] == ["a.txt"]
    assert direct.get_file_client("a.txt").download_file().readall() == b"alpha"
    with pytest.raises(HttpResponseError) as refused:
        direct.get_file_client("b.txt").create_file()
    assert refused.value.status_code == 403 and refused.value.error_code == "AuthorizationPermissionMismatch"
    assert "b.txt" not in lake.filesystems[FILESYSTEM]
