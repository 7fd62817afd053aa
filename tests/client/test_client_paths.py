"""azureml:// paths (the fsspec filesystem the package registers): pandas reads and writes CSV and
Parquet on a Blob datastore in Azurite, short and long forms, straight to storage through adlfs;
a reader's write is a PermissionError."""

from __future__ import annotations

import io
import uuid

import pyarrow.parquet
import pytest

from datastores.access import Actor
from datastores.models import Role
from datastores.services import member_add, workspace_create
from datastores.snippets import config_json

from ..api_support import token_for
from .support import ONE_PASS

pytestmark = [ONE_PASS, pytest.mark.django_db(transaction=True)]


def test_pandas_reads_and_writes_csv_and_parquet_through_azureml_paths(
    installed, studio, django_user_model, blob_service
):
    owner = django_user_model.objects.create_user(username="olive")
    django_user_model.objects.create_user(username="rita")
    workspace = workspace_create(actor=Actor(user=owner), name=f"paths-{uuid.uuid4().hex[:6]}")
    member_add(actor=Actor(user=owner), workspace=workspace, who="rita", role=Role.READER)
    container = workspace.datastores.get(name="workspaceblobstore").connection_settings["container_name"]
    blobs = blob_service.get_container_client(container)
    blobs.upload_blob("data/train.csv", b"x,y\n1,2\n3,4\n")
    config = config_json(workspace.name)
    long = (
        f"azureml://subscriptions/{config['subscription_id']}/resourcegroups/{config['resource_group']}"
        f"/workspaces/{workspace.name}/datastores/workspaceblobstore/paths/"
    )
    plan = {"datastore": "workspaceblobstore", "long": long}
    seen = installed.run("pandas_paths", plan, token=token_for(owner), DATASTORE_STUDIO_WORKSPACE=workspace.name)

    assert seen["read_csv"] == {"x": [1, 3], "y": [2, 4]}
    assert seen["read_parquet"] == {"x": [1, 3], "y": [2, 4], "total": [3, 7]}
    assert seen["fsspec_open"] == "x,y\n1,2\n3,4\n"
    assert seen["ls"] == [
        "datastores/workspaceblobstore/paths/out/train.csv",
        "datastores/workspaceblobstore/paths/out/train.parquet",
    ]
    assert seen["exists"] == [True, False]
    stored = pyarrow.parquet.read_table(io.BytesIO(blobs.download_blob("out/train.parquet").readall()))
    assert stored.to_pydict() == {"x": [1, 3], "y": [2, 4], "total": [3, 7]}
    assert blobs.download_blob("out/train.csv").readall() == b"x,y,total\n1,2,3\n3,4,7\n"
    assert not [request for request in studio.seen if "/files/" in request.path], "the bytes went straight to storage"

    reader = token_for(django_user_model.objects.get(username="rita"))
    refused = installed.run("pandas_reader", plan, token=reader, DATASTORE_STUDIO_WORKSPACE=workspace.name)
    assert refused["read"] == 2
    assert refused["write"][0] == "PermissionError" and "contributor" in refused["write"][1].lower()
    assert not blobs.get_blob_client("out/by-reader.parquet").exists()


def test_pandas_reads_and_writes_csv_and_parquet_through_azureml_paths_on_adls_gen2(
    installed, studio, django_user_model, gen2
):
    """ADLS Gen2 has no emulator: the Gen2 stand-in (tests/standins/adls_gen2.py) holds the files and
    answers the Blob API calls adlfs makes (a Gen2 account serves both), checking each request's
    user delegation SAS against the key it issued to the studio."""
    from datastores.services import datastore_register
    from tests.standins.tls import ca_bundle_path

    owner = django_user_model.objects.create_user(username="olive")
    workspace = workspace_create(actor=Actor(user=owner), name=f"paths-{uuid.uuid4().hex[:6]}")
    connection = gen2.connection()
    datastore_register(
        workspace=workspace,
        name="lake",
        storage_type=connection.storage_type,
        auth_type=connection.auth_type,
        values=connection.values,
    )
    gen2.put("data/train.csv", b"x,y\n1,2\n3,4\n")
    config = config_json(workspace.name)
    long = (
        f"azureml://subscriptions/{config['subscription_id']}/resourcegroups/{config['resource_group']}"
        f"/workspaces/{workspace.name}/datastores/lake/paths/"
    )
    trusted = {"SSL_CERT_FILE": ca_bundle_path(), "REQUESTS_CA_BUNDLE": ca_bundle_path()}
    seen = installed.run(
        "pandas_paths",
        {"datastore": "lake", "long": long},
        token=token_for(owner),
        DATASTORE_STUDIO_WORKSPACE=workspace.name,
        **trusted,
    )

    assert seen["read_csv"] == {"x": [1, 3], "y": [2, 4]}
    assert seen["read_parquet"] == {"x": [1, 3], "y": [2, 4], "total": [3, 7]}
    assert seen["fsspec_open"] == "x,y\n1,2\n3,4\n"
    assert seen["ls"] == ["datastores/lake/paths/out/train.csv", "datastores/lake/paths/out/train.parquet"]
    assert seen["exists"] == [True, False]
    stored = pyarrow.parquet.read_table(io.BytesIO(gen2.read("out/train.parquet")))
    assert stored.to_pydict() == {"x": [1, 3], "y": [2, 4], "total": [3, 7]}
    assert gen2.read("out/train.csv") == b"x,y,total\n1,2,3\n3,4,7\n"
    assert not [request for request in studio.seen if "/files/" in request.path], "the bytes went straight to storage"
