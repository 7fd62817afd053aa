"""Run by tests/test_azure_ai_ml.py in a subprocess: the real azure-ai-ml SDK, unmodified, against
the studio. It reads its instructions as JSON on stdin and prints what it saw as JSON on stdout.
Its tokens come from DefaultAzureCredential through the studio's managed-identity route
(IDENTITY_ENDPOINT and IDENTITY_HEADER, set per person below)."""

from __future__ import annotations

import json
import os
import sys

from azure.ai.ml import MLClient
from azure.ai.ml.entities import (
    AccountKeyConfiguration,
    AzureBlobDatastore,
    AzureDataLakeGen1Datastore,
    AzureDataLakeGen2Datastore,
    AzureFileDatastore,
    SasTokenConfiguration,
    ServicePrincipalConfiguration,
)
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential
from azure.storage.blob import ContainerClient


def client(plan: dict, personal_token: str) -> MLClient:
    os.environ["IDENTITY_HEADER"] = personal_token  # the credential reads it when it is built
    return MLClient.from_config(
        DefaultAzureCredential(),
        path=plan["config_path"],
        cloud="DatastoreStudio",
        cloud_metadata=plan["cloud_metadata"],
        enable_telemetry=False,
    )


def main() -> None:
    plan = json.load(sys.stdin)
    seen: dict = {}
    owner = client(plan, plan["owner_token"])
    blob, share, gen2, gen1 = plan["blob"], plan["share"], plan["gen2"], plan["gen1"]
    sp = ServicePrincipalConfiguration(
        tenant_id=gen2["tenant_id"], client_id=gen2["client_id"], client_secret=gen2["client_secret"]
    )
    created = [
        AzureBlobDatastore(
            name="sdk_blob_key",
            account_name=blob["account"],
            container_name=blob["container"],
            protocol="http",
            endpoint=blob["endpoint"],
            credentials=AccountKeyConfiguration(account_key=blob["key"]),
        ),
        AzureBlobDatastore(
            name="sdk_blob_sas",
            account_name=blob["account"],
            container_name=blob["container"],
            protocol="http",
            endpoint=blob["endpoint"],
            credentials=SasTokenConfiguration(sas_token=blob["sas"]),
        ),
        AzureFileDatastore(
            name="sdk_share",
            account_name=share["account"],
            file_share_name=share["share"],
            protocol="http",
            endpoint=share["endpoint"],
            credentials=AccountKeyConfiguration(account_key=share["key"]),
        ),
        AzureDataLakeGen2Datastore(
            name="sdk_gen2",
            account_name=gen2["account"],
            filesystem=gen2["filesystem"],
            protocol="https",
            endpoint=gen2["endpoint"],
            credentials=sp,
        ),
        AzureDataLakeGen1Datastore(name="sdk_gen1", store_name=gen1["store"], credentials=sp),
    ]
    seen["created"] = [type(owner.datastores.create_or_update(datastore)).__name__ for datastore in created]
    seen["got"] = {}
    for datastore in created:
        got = owner.datastores.get(datastore.name)
        seen["got"][datastore.name] = {
            "type": str(got.type),
            "credentials": type(got.credentials).__name__,
            "where": getattr(got, "container_name", None)
            or getattr(got, "file_share_name", None)
            or getattr(got, "filesystem", None)
            or getattr(got, "store_name", None),
        }
    seen["listed"] = sorted(datastore.name for datastore in owner.datastores.list())
    seen["default"] = owner.datastores.get_default().name
    try:
        owner.datastores.get("no_such_datastore")
    except ResourceNotFoundError:
        seen["missing"] = "ResourceNotFoundError"

    reader = client(plan, plan["reader_token"])
    with_secret = reader.datastores.get("sdk_blob_key", include_secrets=True)
    sas = with_secret.credentials.sas_token
    seen["reader_credentials"] = type(with_secret.credentials).__name__
    seen["reader_sas_is_the_key"] = sas == blob["key"]
    container = ContainerClient.from_container_url(
        f"http://{blob['endpoint']}/{blob['account']}/{blob['container']}?{sas}"
    )
    seen["reader_listed"] = sorted(item.name for item in container.list_blobs())
    seen["reader_read"] = container.download_blob(plan["blob_to_read"]).readall().decode()
    try:
        container.upload_blob("written-by-reader.txt", b"no")
        seen["reader_write"] = "allowed"
    except HttpResponseError as refused:
        seen["reader_write"] = refused.status_code
    try:
        reader.datastores.delete("sdk_share")
        seen["reader_delete"] = "allowed"
    except HttpResponseError as refused:
        seen["reader_delete"] = refused.status_code

    owner.datastores.delete("sdk_share")
    seen["after_delete"] = sorted(datastore.name for datastore in owner.datastores.list())
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
