"""upload and download through the installed SDK: a folder tree (nested folders, unicode names,
an empty file, a 64 MiB file) with and without overwrite, checked in Azurite with
azure-storage-blob directly, and in the Azure Files stand-in (no emulator exists). For Blob
Storage the studio is shown to be out of the data path: no request to it carries file bytes; and
a SAS about to expire is replaced during one upload."""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest

from datastores.access import Actor
from datastores.models import AuditAction, AuditEntry
from datastores.services import workspace_create

from ..api_support import token_for
from ..support import put_blob_raw
from .support import ONE_PASS

pytestmark = [ONE_PASS, pytest.mark.django_db(transaction=True)]
BIG = 64 * 1024 * 1024
TREE = {
    "a.txt": b"alpha\n",
    "empty.dat": b"",
    "nested/deeper/b.csv": b"x,y\n1,2\n",
    "nested/ünïcødé – 数据.txt": "grüße\n".encode(),
    "nested/c.json": b'{"c": 3}\n',
}


def write_tree(root, files):
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def local_files(root):
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user(username="olive")


def test_a_folder_tree_goes_straight_to_blob_storage_and_back_with_overwrite_honoured(
    installed, studio, owner, blob_service, azurite_url, tmp_path
):
    workspace = workspace_create(actor=Actor(user=owner), name=f"up-{uuid.uuid4().hex[:6]}")
    container = workspace.datastores.get(name="workspaceblobstore").connection_settings["container_name"]
    blobs = blob_service.get_container_client(container)
    big = os.urandom(BIG)
    source = tmp_path / "source"
    write_tree(source, {**TREE, "big/model.bin": big})
    put_blob_raw(azurite_url, container, "hostile/../../escape.txt", b"escape")
    blobs.upload_blob("hostile/fine.txt", b"fine")
    blobs.upload_blob("hostile/linked/secret.txt", b"secret")
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "hostile-down" / "hostile").mkdir(parents=True)
    (tmp_path / "hostile-down" / "hostile" / "linked").symlink_to(outside, target_is_directory=True)
    plan = {
        "workspace": workspace.name,
        "datastore": "workspaceblobstore",
        "source": str(source),
        "target": str(tmp_path / "down"),
        "changed": str(source / "a.txt"),
        "files": [str(source / "a.txt"), str(source / "nested/c.json")],
        "hostile_target": str(tmp_path / "hostile-down"),
    }
    seen = installed.run("transfers", plan, token=token_for(owner))

    every = sorted(f"tree/{name}" for name in [*TREE, "big/model.bin"])
    assert seen["first"]["count"] == 6 and seen["first"]["transferred"] == every and seen["first"]["skipped"] == []
    assert seen["again"]["count"] == 0 and seen["again"]["skipped"] == every, "skipped files are named"
    assert seen["overwrite"]["count"] == 6
    assert seen["files"]["transferred"] == ["picked/a.txt", "picked/nested/c.json"]
    stored = {blob.name: blob.size for blob in blobs.list_blobs()}
    assert not [name for name in stored if ".studio-" in name], "no staging name left in storage"
    for name, data in {**TREE, "a.txt": b"changed locally\n"}.items():
        assert blobs.download_blob(f"tree/{name}").readall() == data
    assert digest(blobs.download_blob("tree/big/model.bin").readall()) == digest(big)
    assert (
        blobs.get_blob_client("tree/nested/c.json").get_blob_properties().content_settings.content_type
        == "application/json"
    )
    assert blobs.download_blob("picked/a.txt").readall() == b"changed locally\n"

    assert seen["download"]["count"] == 6 and seen["download_again"]["skipped"] == every
    assert seen["download_overwrite"]["count"] == 3
    downloaded = local_files(tmp_path / "down")
    assert set(downloaded) == set(every), "every file at its full storage path, and no temporary file left"
    assert digest(downloaded["tree/big/model.bin"]) == digest(big) and downloaded["tree/empty.dat"] == b""
    assert downloaded["tree/nested/ünïcødé – 数据.txt"] == "grüße\n".encode()
    assert seen["hostile"]["transferred"] == ["hostile/fine.txt"]
    assert seen["hostile"]["failed"] == [
        {"name": "hostile/../../escape.txt", "reason": "its name would land outside the target folder; not written"},
        {"name": "hostile/linked/secret.txt", "reason": "its name would land outside the target folder; not written"},
    ]
    assert list(outside.iterdir()) == [], "nothing is written through a local folder that links elsewhere"
    assert not (tmp_path / "escape.txt").exists() and local_files(tmp_path / "hostile-down") == {
        "hostile/fine.txt": b"fine"
    }

    # The studio only answered the API's small JSON requests: no file route, and far fewer bytes than one file.
    assert studio.seen and not [seen for seen in studio.seen if "/files/" in seen.path]
    through_studio = sum(request.received + request.sent for request in studio.seen)
    assert through_studio < 200_000, f"{through_studio} bytes went through the studio"
    assert {request.path.rsplit("/", 1)[-1] for request in studio.seen if request.method == "POST"} == {"credentials"}
    issued = AuditEntry.objects.filter(
        action=AuditAction.CREDENTIAL_ISSUED, datastore_name="workspaceblobstore"
    ).count()
    assert issued >= 4 + seen["credentials_fetched"]


def test_a_folder_tree_goes_straight_to_azure_files(installed, studio, owner, fileshare_standin, share_name, tmp_path):
    """Azure Files has no emulator: the stand-in (tests/standins/fileshare.py) checks the SAS."""
    from datastores.services import datastore_register
    from datastores.storage import AuthType, backend_for

    from ..support import FILESHARE_ACCOUNT, FILESHARE_KEY

    workspace = workspace_create(actor=Actor(user=owner), name=f"share-{uuid.uuid4().hex[:6]}")
    datastore_register(
        workspace=workspace,
        name="share",
        storage_type="AzureFile",
        auth_type=AuthType.ACCOUNT_KEY,
        values=backend_for("AzureFile").clean_values(
            AuthType.ACCOUNT_KEY,
            {
                "account_name": FILESHARE_ACCOUNT,
                "file_share_name": share_name,
                "protocol": "http",
                "endpoint": fileshare_standin.base_url.removeprefix("http://"),
                "account_key": FILESHARE_KEY,
            },
        ),
    )
    source = tmp_path / "source"
    write_tree(source, TREE)
    plan = {"workspace": workspace.name, "datastore": "share", "source": str(source), "target": str(tmp_path / "down")}
    seen = installed.run("tree_transfers", plan, token=token_for(owner))

    assert seen["first"]["count"] == 5 and seen["again"]["skipped"] == sorted(f"tree/{name}" for name in TREE)
    for name, data in TREE.items():
        assert fileshare_standin.file_bytes(share_name, f"tree/{name}") == data
    assert local_files(tmp_path / "down") == {f"tree/{name}": data for name, data in TREE.items()}
    assert not [request for request in studio.seen if "/files/" in request.path]


@pytest.mark.parametrize("lake_name", ["gen2", "gen1", "dbfs"])
def test_a_folder_tree_goes_to_a_data_lake_and_back(installed, studio, owner, lake_name, request, tmp_path):
    """ADLS Gen2, Gen1 and Databricks have no emulator: the stand-ins (tests/standins/adls_gen2.py,
    which checks each SAS's signature against the user delegation key it issued, adls_gen1.py,
    which checks the Entra ID stand-in's bearer token, and dbfs.py) hold the files. Gen2's bytes go
    straight from the client to the DFS endpoint with a scoped SAS; Gen1's and DBFS's stream through
    the studio's file routes, the types without script credentials."""
    from datastores.services import datastore_register
    from tests.standins.tls import ca_bundle_path

    lake = request.getfixturevalue(lake_name)
    connection = lake.connection()
    workspace = workspace_create(actor=Actor(user=owner), name=f"lake-{uuid.uuid4().hex[:6]}")
    datastore_register(
        workspace=workspace,
        name="lake",
        storage_type=connection.storage_type,
        auth_type=connection.auth_type,
        values=connection.values,
    )
    source = tmp_path / "source"
    write_tree(source, TREE)
    plan = {"workspace": workspace.name, "datastore": "lake", "source": str(source), "target": str(tmp_path / "down")}
    trusted = {"SSL_CERT_FILE": ca_bundle_path(), "REQUESTS_CA_BUNDLE": ca_bundle_path()}
    seen = installed.run("tree_transfers", plan, token=token_for(owner), **trusted)

    assert seen["first"]["count"] == 5, seen["first"]
    assert seen["again"]["skipped"] == sorted(f"tree/{name}" for name in TREE)
    for name, data in TREE.items():
        assert lake.read(f"tree/{name}") == data
    assert not [path for path in lake.stored_paths() if ".studio-" in path], "no staging file is left"
    assert local_files(tmp_path / "down") == {f"tree/{name}": data for name, data in TREE.items()}
    through_studio = [request for request in studio.seen if "/files/" in request.path]
    if lake_name == "gen2":
        assert not through_studio, "Gen2's bytes went straight to storage"
    else:
        assert sum(request.received for request in through_studio if request.method == "PUT") == sum(
            len(data) for data in TREE.values()
        )


@pytest.mark.parametrize("cuts", [1, None], ids=["cut-once", "cut-every-time"])
def test_a_download_cut_midway_is_resumed_or_stops_leaving_no_partial_file(
    installed, studio, owner, blob_service, azurite_endpoint, tmp_path, cuts
):
    """The network drops between the client and storage (tests/breaking_proxy.py, a TCP proxy in
    front of Azurite, cuts the response after 3 MiB): once, the Azure SDK's retry resumes and the
    file arrives whole; every time, the SDK stops with the storage error's message and leaves no
    file, whole or partial, in the target folder."""
    from datastores.services import datastore_register

    from ..breaking_proxy import BreakingProxy
    from ..support import AZURITE_ACCOUNT, AZURITE_KEY

    container = f"cut-{uuid.uuid4().hex[:8]}"
    blob_service.create_container(container)
    data = os.urandom(20 * 1024 * 1024)
    blob_service.get_blob_client(container, "cut/model.bin").upload_blob(data)
    proxy = BreakingProxy(int(azurite_endpoint.rsplit(":", 1)[1]), cut_after=3 * 1024 * 1024, cuts=cuts)
    try:
        workspace = workspace_create(actor=Actor(user=owner), name=f"cut-{uuid.uuid4().hex[:6]}")
        datastore_register(
            workspace=workspace,
            name="flaky",
            storage_type="AzureBlob",
            auth_type="account_key",
            values={
                "account_name": AZURITE_ACCOUNT,
                "container_name": container,
                "account_key": AZURITE_KEY,
                "protocol": "http",
                "endpoint": proxy.endpoint,
            },
        )
        target = tmp_path / "down"
        plan = {"workspace": workspace.name, "datastore": "flaky", "prefix": "cut", "target": str(target)}
        seen = installed.run("cut_download", plan, token=token_for(owner))
    finally:
        proxy.close()

    assert proxy.cut_count >= 1
    if cuts == 1:
        assert seen["count"] == 1 and seen["transferred"] == ["cut/model.bin"], seen
        assert (target / "cut" / "model.bin").read_bytes() == data
    else:
        assert "stopped" in seen and "cut/model.bin" in seen["stopped"], seen
        assert [path for path in target.rglob("*") if path.is_file()] == [], "no partial file is left"
