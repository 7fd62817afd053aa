"""The real azure-ai-ml SDK (pinned in requirements-test.txt), unmodified, against the studio
over HTTPS (a throwaway CA made with trustme, trusted through REQUESTS_CA_BUNDLE in this test
only). Its token comes from DefaultAzureCredential through the studio's managed-identity route.
It creates Blob (account key and SAS), File Share, ADLS Gen2 and Gen1 datastores, gets each,
lists more than one page, gets the default, gets one with include_secrets=True as a reader and
uses that SAS with azure-storage-blob against Azurite (read and list, not write), and deletes one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from datastores.access import Actor
from datastores.models import AuditAction, AuditEntry, Datastore, Role
from datastores.services import datastore_register, member_add, workspace_create
from datastores.snippets import cloud_metadata, config_json
from datastores.storage import AuthType, backend_for

from .api_support import token_for
from .https_studio import HttpsStudio
from .support import AZURITE_ACCOUNT, AZURITE_KEY, remember_secret, sas_for

pytestmark = pytest.mark.django_db(transaction=True)
SCRIPT = Path(__file__).with_name("aml_sdk_script.py")
TENANT, CLIENT = "6f1c2a4e-0000-4000-8000-00000000a11d", "11111111-1111-4111-8111-111111111111"


def test_the_unmodified_azure_ai_ml_sdk_manages_datastores_through_the_studio(
    django_user_model, azurite_endpoint, blob_service, tmp_path, settings
):
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    owner = django_user_model.objects.create_user(username="olive")
    django_user_model.objects.create_user(username="rita")
    workspace = workspace_create(actor=Actor(user=owner), name=f"aml-{uuid.uuid4().hex[:6]}")
    member_add(actor=Actor(user=owner), workspace=workspace, who="rita", role=Role.READER)
    container = f"aml-{uuid.uuid4().hex[:8]}"
    blob_service.create_container(container)
    blob_service.get_container_client(container).upload_blob("data/hello.txt", b"hello from Azurite")
    # More datastores than one page of the SDK's list (30), registered as the pages do.
    backend = backend_for("AzureBlob")
    for number in range(30):
        datastore_register(
            workspace=workspace,
            name=f"bulk{number:02d}",
            storage_type="AzureBlob",
            auth_type=AuthType.ACCOUNT_KEY,
            values=backend.clean_values(
                AuthType.ACCOUNT_KEY,
                {
                    "account_name": AZURITE_ACCOUNT,
                    "container_name": container,
                    "protocol": "http",
                    "endpoint": azurite_endpoint,
                    "account_key": AZURITE_KEY,
                    "skip_validation": True,
                },
            ),
        )
    datastore_register(
        workspace=workspace,
        name="sales_db",
        storage_type="DBFS",
        auth_type=AuthType.NONE,
        values=backend_for("DBFS").clean_values(AuthType.NONE, {}),
    )  # a type SDK v2 does not model: left out of its lists, never crashing them
    config = tmp_path / "config.json"
    config.write_text(json.dumps(config_json(workspace.name)))
    secret = remember_secret("gen-two-client-secret-never-sent-back")
    with HttpsStudio() as studio:
        plan = {
            "config_path": str(config),
            "cloud_metadata": cloud_metadata(studio.url),
            "owner_token": token_for(owner),
            "reader_token": token_for(django_user_model.objects.get(username="rita")),
            "blob": {
                "account": AZURITE_ACCOUNT,
                "container": container,
                "endpoint": azurite_endpoint,
                "key": AZURITE_KEY,
                "sas": sas_for(container, read=True, list=True),
            },
            "share": {"account": "studiofiles", "share": "shared", "endpoint": "127.0.0.1:1", "key": AZURITE_KEY},
            "gen2": {
                "account": "studiolake",
                "filesystem": "raw",
                "endpoint": "127.0.0.1:1",
                "tenant_id": TENANT,
                "client_id": CLIENT,
                "client_secret": secret,
            },
            "gen1": {"store": "studiostore"},
            "blob_to_read": "data/hello.txt",
        }
        environment = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "REQUESTS_CA_BUNDLE": studio.ca_bundle,
            "SSL_CERT_FILE": studio.ca_bundle,
            "IDENTITY_ENDPOINT": studio.url + "api/identity/token",
        }
        done = subprocess.run(
            [sys.executable, str(SCRIPT)],
            input=json.dumps(plan),
            capture_output=True,
            text=True,
            env=environment,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-4000:]
        seen = json.loads(done.stdout.strip().splitlines()[-1])

    assert seen["created"] == [
        "AzureBlobDatastore",
        "AzureBlobDatastore",
        "AzureFileDatastore",
        "AzureDataLakeGen2Datastore",
        "AzureDataLakeGen1Datastore",
    ]
    assert seen["got"]["sdk_blob_key"] == {
        "type": "DatastoreType.AZURE_BLOB",
        "credentials": "AccountKeyConfiguration",
        "where": container,
    }
    assert seen["got"]["sdk_blob_sas"]["credentials"] == "SasTokenConfiguration"
    assert seen["got"]["sdk_share"]["where"] == "shared"
    assert seen["got"]["sdk_gen2"] == {
        "type": "DatastoreType.AZURE_DATA_LAKE_GEN2",
        "credentials": "ServicePrincipalConfiguration",
        "where": "raw",
    }
    assert seen["got"]["sdk_gen1"]["where"] == "studiostore"
    arm_names = set(Datastore.objects.filter(workspace=workspace).values_list("name", flat=True)) - {"sales_db"}
    assert seen["listed"] == sorted(arm_names | {"sdk_share"}), "every page, and no SQL or DBFS datastore"
    assert any("$skip=" in request for request in studio.requests if "/datastores?" in request), (
        "the SDK followed nextLink"
    )
    assert seen["default"] == "workspaceblobstore"
    assert seen["missing"] == "ResourceNotFoundError"
    # The reader's include_secrets: a short-lived SAS, never the account key; it reads and lists, not writes.
    assert seen["reader_credentials"] == "SasTokenConfiguration" and seen["reader_sas_is_the_key"] is False
    assert seen["reader_listed"] == ["data/hello.txt"] and seen["reader_read"] == "hello from Azurite"
    assert seen["reader_write"] == 403
    assert seen["reader_delete"] == 403
    assert "sdk_share" not in seen["after_delete"]
    assert not Datastore.objects.filter(workspace=workspace, name="sdk_share").exists()
    assert not blob_service.get_container_client(container).get_blob_client("written-by-reader.txt").exists()
    # The tokens came from the managed-identity route, and the SDK sent those, not the personal tokens.
    assert AuditEntry.objects.filter(action=AuditAction.ACCESS_TOKEN_ISSUED, actor_name="olive").exists()
    assert AuditEntry.objects.filter(
        action=AuditAction.CREDENTIAL_ISSUED, actor_name="rita", datastore_name="sdk_blob_key"
    ).exists()
    assert any(
        request.startswith("GET /api/identity/token?api-version=2019-08-01&resource=") for request in studio.requests
    )
    stored = Datastore.objects.get(workspace=workspace, name="sdk_gen2")
    assert stored.connection()["client_secret"] == secret and secret not in done.stdout
