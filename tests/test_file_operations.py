"""Deleting folders, acting on several files, renaming and moving, and the properties panel,
through the studio's pages, for every storage type with files: Blob Storage against the real
Azurite, and File Share, ADLS Gen2, ADLS Gen1 and DBFS against their local stand-ins (no
emulator exists for them). What storage holds afterwards is read directly (the SDK, or the
stand-in's own store), never through the studio."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from azure.storage.fileshare import ShareServiceClient
from django.urls import reverse

from datastores.models import AuditEntry
from datastores.services import datastore_register
from datastores.storage import AuthType, backend_for

from .support import AZURITE_ACCOUNT, AZURITE_KEY, FILESHARE_ACCOUNT, FILESHARE_KEY

pytestmark = pytest.mark.django_db


@dataclass
class Store:
    datastore: object
    read: Callable[[str], bytes | None]  # straight from storage; None when there is no such file
    names: Callable[[], set[str]]  # every file storage holds


def _share_reader(client):
    def read(path):
        try:
            return client.get_file_client(path).download_file().readall()
        except Exception:  # ResourceNotFoundError: nothing there
            return None

    def names():
        found, pending = set(), [""]
        while pending:
            folder = pending.pop()
            for item in client.get_directory_client(folder).list_directories_and_files():
                path = f"{folder}/{item.name}" if folder else item.name
                (pending.append(path) if item.is_directory else found.add(path))
        return found

    return read, names


@pytest.fixture(params=["blob", "share", "gen2", "gen1", "dbfs"])
def store(request, workspace, azurite_endpoint, blob_service) -> Store:
    kind = request.param
    if kind == "blob":
        container = request.getfixturevalue("container_name")
        raw = {
            "account_name": AZURITE_ACCOUNT,
            "container_name": container,
            "endpoint": azurite_endpoint,
            "protocol": "http",
            "account_key": AZURITE_KEY,
        }
        storage_type, auth_type = "AzureBlob", AuthType.ACCOUNT_KEY
        client = blob_service.get_container_client(container)

        def read(path):
            blob = client.get_blob_client(path)
            return blob.download_blob().readall() if blob.exists() else None

        def names():
            return {blob.name for blob in client.list_blobs()}
    elif kind == "share":
        standin = request.getfixturevalue("fileshare_standin")
        share = request.getfixturevalue("share_name")
        raw = {
            "account_name": FILESHARE_ACCOUNT,
            "file_share_name": share,
            "protocol": "http",
            "endpoint": standin.base_url.removeprefix("http://"),
            "account_key": FILESHARE_KEY,
        }
        storage_type, auth_type = "AzureFile", AuthType.ACCOUNT_KEY
        read, names = _share_reader(
            ShareServiceClient(standin.account_url, credential=standin.credential).get_share_client(share)
        )
    else:
        lake = request.getfixturevalue(kind)
        raw, storage_type = lake.values(), lake.storage_type
        auth_type = lake.backend.auth_types[0]
        read = lake.read

        def names():
            return {path for path in lake.stored_paths() if lake.read(path) is not None}

    backend = backend_for(storage_type)
    datastore = datastore_register(
        workspace=workspace,
        name="files",
        storage_type=storage_type,
        auth_type=auth_type,
        values=backend.clean_values(auth_type, raw),
    )
    return Store(datastore, read, names)


def url(datastore, view, *args):
    return reverse(view, args=[datastore.workspace.name, datastore.name, *args])


def put(client, datastore, path, data: bytes):
    response = client.put(
        url(datastore, "datastore_file", path) + "?overwrite=0", data=data, content_type="application/octet-stream"
    )
    assert response.json()["outcome"] == "uploaded", response.content


def messages_of(response) -> str:
    return " ".join(str(message) for message in response.context["messages"])


def test_renaming_a_file_moves_its_bytes_and_removes_the_old_name(client, store):
    put(client, store.datastore, "in/report.csv", b"a,b\n1,2\n")
    response = client.post(
        url(store.datastore, "datastore_move"),
        {"path": "in/report.csv", "destination": "archive/2024/report-final.csv"},
        follow=True,
    )
    assert "Moved in/report.csv to archive/2024/report-final.csv." in messages_of(response)
    assert store.read("archive/2024/report-final.csv") == b"a,b\n1,2\n"
    assert store.read("in/report.csv") is None
    entry = AuditEntry.objects.filter(action="files.moved").get()
    assert (entry.target, entry.detail, entry.outcome) == ("in/report.csv", "to archive/2024/report-final.csv", "ok")


def test_moving_a_folder_takes_everything_below_it(client, store):
    for path in ["raw/a.txt", "raw/sub/b.txt", "other.txt"]:
        put(client, store.datastore, path, path.encode())
    client.post(url(store.datastore, "datastore_move"), {"path": "raw", "folder": "1", "destination": "cooked"})
    assert store.names() == {"cooked/a.txt", "cooked/sub/b.txt", "other.txt"}
    assert store.read("cooked/sub/b.txt") == b"raw/sub/b.txt"


def test_a_move_onto_a_path_that_is_taken_is_refused_and_changes_nothing(client, store):
    put(client, store.datastore, "one.txt", b"one")
    put(client, store.datastore, "two.txt", b"two")
    response = client.post(url(store.datastore, "datastore_move"), {"path": "one.txt", "destination": "two.txt"})
    assert response.status_code == 400
    assert "is already there: choose another name" in response.content.decode().replace("&#x27;", "'")
    assert (store.read("one.txt"), store.read("two.txt")) == (b"one", b"two")


def test_deleting_a_folder_says_how_many_files_go_then_removes_them_all(client, store):
    for path in ["old/a.txt", "old/b.txt", "old/deep/c.txt", "keep.txt"]:
        put(client, store.datastore, path, b"x")
    question = client.get(url(store.datastore, "datastore_delete_folder"), {"path": "old"}).content.decode()
    assert "This removes 3 files from storage" in question
    response = client.post(url(store.datastore, "datastore_delete_folder"), {"path": "old"}, follow=True)
    assert "Deleted the folder old and everything in it." in messages_of(response)
    assert store.names() == {"keep.txt"}
    assert [entry.name for entry in store.datastore.backend.list_folder(store.datastore.connection(), "").entries] == [
        "keep.txt"
    ]


def test_several_ticked_files_are_deleted_at_once_with_a_message(client, store):
    for path in ["set/a.txt", "set/b.txt", "set/c.txt"]:
        put(client, store.datastore, path, b"x")
    response = client.post(
        url(store.datastore, "datastore_delete_file"),
        {"path": ["set/a.txt", "set/c.txt"], "folder": "set"},
        follow=True,
    )
    assert response.redirect_chain[-1][0].endswith("?path=set")
    assert "Deleted 2 files." in messages_of(response)
    assert store.names() == {"set/b.txt"}


def test_several_ticked_files_download_as_one_zip(client, store):
    files = {"set/a.txt": b"alpha", "set/b.bin": bytes(range(256)) * 50, "set/c.txt": b"not chosen"}
    for path, data in files.items():
        put(client, store.datastore, path, data)
    response = client.post(
        url(store.datastore, "datastore_selection_zip"), {"path": ["set/a.txt", "set/b.bin"], "folder": "set"}
    )
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert {info.filename: archive.read(info) for info in archive.infolist()} == {
        "a.txt": b"alpha",
        "b.bin": files["set/b.bin"],
    }


def test_the_properties_panel_shows_size_type_and_a_url_without_credentials(client, store):
    put(client, store.datastore, "docs/notes.bin", b"z" * 1234)
    page = client.get(url(store.datastore, "datastore_preview"), {"path": "docs/notes.bin"}).content.decode()
    assert "1.2\xa0KB (1,234 bytes)" in page
    assert "docs/notes.bin" in page and "Last modified" in page
    assert "There is no preview for this kind of file" in page
    assert "sig=" not in page and AZURITE_KEY not in page


def test_a_reader_sees_no_rename_or_delete_and_is_refused_when_crafting_them(client, store, user, django_user_model):
    from datastores.models import Membership, Role

    put(client, store.datastore, "r/file.txt", b"x")
    reader = django_user_model.objects.create_user(username="rhea")
    Membership.objects.create(workspace=store.datastore.workspace, user=reader, role=Role.READER)
    client.force_login(reader)
    page = client.get(url(store.datastore, "datastore_browse"), {"path": "r", "listing": "1"}).content.decode()
    assert "file.txt" in page and ">Rename<" not in page and ">Delete<" not in page and "Delete selected" not in page
    assert (
        client.post(url(store.datastore, "datastore_move"), {"path": "r/file.txt", "destination": "x.txt"}).status_code
        == 403
    )
    assert client.post(url(store.datastore, "datastore_delete_folder"), {"path": "r"}).status_code == 403
    assert store.read("r/file.txt") == b"x"
