"""POST …/datastores/{name}/credentials: a short-lived, least-privilege SAS for going to storage
directly, never the stored secret. Each SAS is used for real: against Azurite with
azure-storage-blob, against the Azure Files stand-in (which checks SAS signatures), and for ADLS
Gen2 checked against the user delegation key the Gen2 stand-in handed out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import ContainerClient
from azure.storage.filedatalake import (
    FileSystemSasPermissions,
    UserDelegationKey,
    generate_file_system_sas,
)
from azure.storage.fileshare import ShareClient

from datastores.access import Actor
from datastores.models import AuditAction, AuditEntry, Role
from datastores.services import datastore_register, member_add
from datastores.storage import AuthType, backend_for

from .api_support import ApiClient, token_for
from .support import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    FILESHARE_ACCOUNT,
    FILESHARE_KEY,
    remember_secret,
    sas_for,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(workspace, user, django_user_model) -> dict[str, ApiClient]:
    """The owner (ada), a contributor and a reader of the workspace, each with a token."""
    for name, role in (("carl", Role.CONTRIBUTOR), ("rita", Role.READER)):
        django_user_model.objects.create_user(username=name)
        member_add(actor=Actor(user=user), workspace=workspace, who=name, role=role)
    users = {u.username: u for u in django_user_model.objects.all()}
    return {name: ApiClient(token_for(users[name])) for name in ("ada", "carl", "rita")}


def ask(api: ApiClient, workspace, datastore: str, **body):
    return api.post(f"workspaces/{workspace.name}/datastores/{datastore}/credentials", json=body)


def sas_params(token: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(token).items()}


def register(workspace, name: str, storage_type: str, auth_type: str, values: dict) -> None:
    backend = backend_for(storage_type)
    datastore_register(
        workspace=workspace,
        name=name,
        storage_type=storage_type,
        auth_type=auth_type,
        values=backend.clean_values(auth_type, values),
    )


def test_a_readers_blob_sas_reads_and_lists_but_cannot_write(people, workspace, blob_service):
    container = workspace.datastores.get(name="workspaceblobstore").connection_settings["container_name"]
    blob_service.get_container_client(container).upload_blob("data/a.txt", b"alpha")
    answer = ask(people["rita"], workspace, "workspaceblobstore")
    assert answer.status_code == 200, answer.content
    credential = answer.json()
    remember_secret(credential["sas_token"])
    assert AZURITE_KEY not in answer.content.decode()
    assert credential["permissions"] == "rl" and credential["stored"] is False
    lifetime = datetime.fromisoformat(credential["expires_on"]) - datetime.now(UTC)
    assert timedelta(minutes=55) < lifetime <= timedelta(minutes=60)
    direct = ContainerClient.from_container_url(f"{credential['resource_url']}?{credential['sas_token']}")
    assert [blob.name for blob in direct.list_blobs()] == ["data/a.txt"]
    assert direct.download_blob("data/a.txt").readall() == b"alpha"
    with pytest.raises(HttpResponseError) as refused:
        direct.upload_blob("data/b.txt", b"beta")
    assert refused.value.status_code == 403
    assert AuditEntry.objects.filter(action=AuditAction.CREDENTIAL_ISSUED, actor_name="rita").exists()


def test_a_contributor_asks_for_a_writing_sas_and_a_reader_cannot(people, workspace, blob_service):
    refused = ask(people["rita"], workspace, "workspaceblobstore", write=True)
    assert refused.status_code == 403
    credential = ask(people["carl"], workspace, "workspaceblobstore", write=True, lifetime_minutes=5).json()
    remember_secret(credential["sas_token"])
    assert set(credential["permissions"]) == set("racwdl")
    assert datetime.fromisoformat(credential["expires_on"]) - datetime.now(UTC) <= timedelta(minutes=5)
    direct = ContainerClient.from_container_url(f"{credential['resource_url']}?{credential['sas_token']}")
    direct.upload_blob("written.txt", b"by a script")
    assert (
        blob_service.get_container_client(direct.container_name).download_blob("written.txt").readall()
        == b"by a script"
    )


def test_a_sas_for_one_path_reaches_that_blob_only(people, workspace, blob_service):
    container = workspace.datastores.get(name="workspaceblobstore").connection_settings["container_name"]
    blob_service.get_container_client(container).upload_blob("one.txt", b"1")
    blob_service.get_container_client(container).upload_blob("two.txt", b"2")
    credential = ask(people["rita"], workspace, "workspaceblobstore", path="one.txt").json()
    remember_secret(credential["sas_token"])
    assert sas_params(credential["sas_token"])["sr"] == "b" and credential["resource_url"].endswith("/one.txt")


def test_a_lifetime_over_the_limit_is_refused(people, workspace, settings):
    settings.API_CREDENTIAL_MAX_MINUTES = 10
    refused = ask(people["ada"], workspace, "workspaceblobstore", lifetime_minutes=11)
    assert refused.status_code == 400 and refused.json()["field"] == "lifetime_minutes"


def test_a_sas_datastores_own_sas_goes_to_writers_only(people, workspace, azurite_endpoint, container_name):
    sas = sas_for(container_name, read=True, list=True, write=True)
    register(
        workspace,
        "sas_store",
        "AzureBlob",
        AuthType.SAS_TOKEN,
        {
            "account_name": AZURITE_ACCOUNT,
            "container_name": container_name,
            "protocol": "http",
            "endpoint": azurite_endpoint,
            "sas_token": sas,
        },
    )
    refused = ask(people["rita"], workspace, "sas_store")
    assert refused.status_code == 409 and "contributors and owners only" in refused.json()["detail"]
    assert sas not in refused.content.decode()
    given = ask(people["carl"], workspace, "sas_store").json()
    assert given["stored"] is True and given["sas_token"] == sas and given["permissions"] == "rwl"


def test_a_file_share_sas_is_accepted_by_the_stand_in_for_reading_only(
    people, workspace, fileshare_standin, share_name
):
    register(
        workspace,
        "share",
        "AzureFile",
        AuthType.ACCOUNT_KEY,
        {
            "account_name": FILESHARE_ACCOUNT,
            "file_share_name": share_name,
            "protocol": "http",
            "endpoint": fileshare_standin.base_url.removeprefix("http://"),
            "account_key": FILESHARE_KEY,
        },
    )
    credential = ask(people["rita"], workspace, "share").json()
    remember_secret(credential["sas_token"])
    share = ShareClient.from_share_url(credential["resource_url"], credential=credential["sas_token"])
    assert list(share.get_directory_client("").list_directories_and_files()) == []
    with pytest.raises(HttpResponseError):
        share.get_directory_client("").create_subdirectory("not-allowed")


def test_adls_gen2_gets_a_user_delegation_sas_never_the_client_secret(people, workspace, gen2):
    register(workspace, "lake", "AzureDataLakeGen2", AuthType.SERVICE_PRINCIPAL, gen2.values())
    answer = ask(people["rita"], workspace, "lake")
    assert answer.status_code == 200, answer.content
    credential = answer.json()
    remember_secret(credential["sas_token"])
    assert gen2.values()["client_secret"] not in answer.content.decode()
    params = sas_params(credential["sas_token"])
    [key] = gen2.server.delegation_keys
    assert params["skoid"] == key["SignedOid"] and params["sp"] == "rl"
    delegation = UserDelegationKey()
    delegation.signed_oid, delegation.signed_tid = key["SignedOid"], key["SignedTid"]
    delegation.signed_start, delegation.signed_expiry = key["SignedStart"], key["SignedExpiry"]
    delegation.signed_service, delegation.signed_version, delegation.value = "b", key["SignedVersion"], key["Value"]
    expected = generate_file_system_sas(
        gen2.server.account_name,
        "raw",
        credential=delegation,
        permission=FileSystemSasPermissions(read=True, list=True),
        start=datetime.fromisoformat(params["st"].replace("Z", "+00:00")),
        expiry=datetime.fromisoformat(params["se"].replace("Z", "+00:00")),
    )
    assert sas_params(expected)["sig"] == params["sig"], "signed with the delegation key the account handed out"


@pytest.mark.parametrize("lake_name", ["gen1", "dbfs"])
def test_types_with_no_scoped_credential_answer_409_and_point_to_the_data_routes(request, people, workspace, lake_name):
    lake = request.getfixturevalue(lake_name)
    register(workspace, "lake", lake.storage_type, lake.backend.auth_types[0], lake.values())
    refused = ask(people["ada"], workspace, "lake")
    assert refused.status_code == 409
    assert "use the studio's own file and table routes" in refused.json()["detail"]


def test_sql_has_no_scoped_credential(people, workspace, pg):
    register(workspace, "sales", "AzurePostgreSql", AuthType.SQL_AUTHENTICATION, pg.form())
    refused = ask(people["ada"], workspace, "sales")
    assert refused.status_code == 409 and pg.password not in refused.content.decode()
