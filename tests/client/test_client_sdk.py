"""The SDK, installed from client/ into a fresh venv, against the studio: every call of the
source document, registering every storage type (Azurite, PostgreSQL, MariaDB, and the stand-ins
for Azure Files and ADLS Gen1/Gen2), with errors as the SDK's own exceptions."""

from __future__ import annotations

import json
import uuid

import pytest

from datastores.access import Actor
from datastores.models import Datastore, Role
from datastores.services import member_add, workspace_create
from datastores.snippets import config_json

from ..api_support import token_for
from ..support import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    FILESHARE_ACCOUNT,
    FILESHARE_KEY,
    WRONG_KEY,
    remember_secret,
    sas_for,
)
from .support import ONE_PASS

pytestmark = [ONE_PASS, pytest.mark.django_db(transaction=True)]


def test_every_sdk_call_registers_gets_changes_and_unregisters_datastores_of_every_type(
    installed,
    django_user_model,
    azurite_endpoint,
    blob_service,
    fileshare_standin,
    share_name,
    gen1,
    gen2,
    pg,
    maria,
    tmp_path,
):
    owner = django_user_model.objects.create_user(username="olive")
    django_user_model.objects.create_user(username="rita")
    workspace = workspace_create(actor=Actor(user=owner), name=f"sdk-{uuid.uuid4().hex[:6]}")
    member_add(actor=Actor(user=owner), workspace=workspace, who="rita", role=Role.READER)
    container, sas_container = f"sdk-{uuid.uuid4().hex[:8]}", f"sas-{uuid.uuid4().hex[:8]}"
    blob_service.create_container(container)
    blob_service.create_container(sas_container)
    config_dir = tmp_path / "project"
    config_dir.mkdir()
    (config_dir / "config.json").write_text(json.dumps(config_json(workspace.name)))
    pg_form, maria_form = pg.form(), maria.form()
    plan = {
        "config_dir": str(config_dir),
        "workspace": workspace.name,
        "reader_token": token_for(django_user_model.objects.get(username="rita")),
        "wrong_key": WRONG_KEY,
        "sql_password": remember_secret("azure-sql-password-never-sent-back"),
        "blob": {
            "account": AZURITE_ACCOUNT,
            "key": AZURITE_KEY,
            "endpoint": azurite_endpoint,
            "container": container,
            "new_container": sas_container,
            "sas": sas_for(sas_container, read=True, list=True, write=True),
            "created": f"new-{uuid.uuid4().hex[:8]}",
        },
        "share": {
            "account": FILESHARE_ACCOUNT,
            "key": FILESHARE_KEY,
            "share": share_name,
            "endpoint": fileshare_standin.base_url.removeprefix("http://"),
        },
        "gen1": gen1.values(),
        "gen2": gen2.values(),
        "pg": {key: pg_form[key] for key in ("server_name", "database_name", "user_id", "password")}
        | {"port": int(pg_form["port"])},
        "maria": {key: maria_form[key] for key in ("server_name", "database_name", "user_id", "password")}
        | {"port": int(maria_form["port"])},
    }
    seen = installed.run("sdk_calls", plan, token=token_for(owner))

    assert seen["from_config"] == [workspace.name, config_json(workspace.name)["subscription_id"], "owner"]
    assert seen["get"] == workspace.name and seen["missing_workspace"]
    assert seen["registered"] == {
        "blob_key": ["AzureBlobDatastore", "AzureBlob", "AccountKey"],
        "blob_sas": ["AzureBlobDatastore", "AzureBlob", "Sas"],
        "share": ["AzureFileDatastore", "AzureFile", "AccountKey"],
        "gen1": ["AzureDataLakeDatastore", "AzureDataLake", "ServicePrincipal"],
        "gen2": ["AzureDataLakeGen2Datastore", "AzureDataLakeGen2", "ServicePrincipal"],
        "azure_sql": ["AzureSqlDatabaseDatastore", "AzureSqlDatabase", "SqlAuthentication"],
        "pg": ["AzurePostgreSqlDatastore", "AzurePostgreSql", "SqlAuthentication"],
        "maria": ["AzureMySqlDatastore", "AzureMySql", "SqlAuthentication"],
        "dbfs": ["DBFSDatastore", "DBFS", "None"],
    }
    assert blob_service.get_container_client(plan["blob"]["created"]).exists(), "create_if_not_exists created it"
    assert "already exists" in seen["exists"] and seen["overwritten"] == "blob_key"
    assert seen["wrong_key"] == [
        "Authentication failed: the storage account refused the account key. "
        "Copy it again from the portal, and check the account name.",
        502,
    ]
    assert seen["bad_name"][1] == "container_name"
    assert seen["datastores"]["workspaceblobstore"] == "AzureBlob" and seen["datastores"]["dbfs"] == "DBFS"
    assert set(seen["registered"]) | {"blob_new"} <= set(seen["datastores"])
    assert (seen["default_before"], seen["default_after"]) == ("workspaceblobstore", "blob_key")
    assert seen["got"] == ["blob_key", container, AZURITE_ACCOUNT, True, ["account_key"]]
    assert seen["constructed"] == pg.name and seen["constructed_default"] == "blob_key"
    assert seen["missing_datastore"] == "No such datastore."
    assert seen["test_connection"]["ok"] is True
    able = {ability["ability"] for ability in seen["test_connection"]["abilities"] if ability["can"]}
    assert able >= {"List", "Write", "Delete"}
    assert seen["updated_to_key"] == "AccountKey"
    assert "authentication failed" in seen["bad_password"].lower()
    assert "orders" in seen["pg_tables"] and seen["maria_query"] == [[1]]
    assert (
        "blob_new" not in seen["after_unregister"]
        and not Datastore.objects.filter(workspace=workspace, name="blob_new").exists()
    )
    assert seen["reader_role"] == "reader" and seen["reader_register"][1] is True
    stored = Datastore.objects.get(workspace=workspace, name="azure_sql")
    assert stored.connection()["password"] == plan["sql_password"]
