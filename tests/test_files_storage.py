"""Browsing and transfer in the storage modules of Azure Blob Storage (against the real
Azurite) and Azure File Share (against the local stand-in server, since no emulator of
Azure Files exists), with an account key and with a SAS token."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import ContainerSasPermissions, generate_container_sas
from azure.storage.fileshare import ShareSasPermissions, generate_share_sas

from datastores.storage import (
    AuthType,
    Connection,
    StorageError,
    UploadOutcome,
    backend_for,
)
from datastores.storage.blob.backend import BLOCK_SIZE

from .breaking_proxy import HEADERS_END, BreakingProxy
from .support import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    FILESHARE_ACCOUNT,
    FILESHARE_KEY,
    WRONG_KEY,
    remember_secret,
)

MIB = 1024 * 1024
ALL_PERMISSIONS = {"read": True, "write": True, "delete": True, "list": True, "create": True}


def connect(backend, auth: str, raw: dict) -> Connection:
    return Connection(backend.storage_type, AuthType(auth), backend.clean_values(auth, raw))


def blob_connection(azurite_endpoint, container, *, sas=None):
    backend = backend_for("AzureBlob")
    auth = "sas_token" if sas else "account_key"
    raw = {
        "account_name": AZURITE_ACCOUNT,
        "container_name": container,
        "protocol": "http",
        "endpoint": azurite_endpoint,
    }
    raw.update({"sas_token": sas} if sas else {"account_key": AZURITE_KEY})
    return backend, connect(backend, auth, raw)


def share_connection(standin, share, *, sas=None):
    backend = backend_for("AzureFile")
    auth = "sas_token" if sas else "account_key"
    endpoint = standin.base_url.removeprefix("http://")
    raw = {"account_name": FILESHARE_ACCOUNT, "file_share_name": share, "protocol": "http", "endpoint": endpoint}
    raw.update({"sas_token": sas} if sas else {"account_key": FILESHARE_KEY})
    return backend, connect(backend, auth, raw)


def blob_sas(container, expiry_hours=1, **permissions):
    return remember_secret(
        generate_container_sas(
            AZURITE_ACCOUNT,
            container,
            account_key=AZURITE_KEY,
            permission=ContainerSasPermissions(**(permissions or ALL_PERMISSIONS)),
            expiry=datetime.now(UTC) + timedelta(hours=expiry_hours),
        )
    )


def share_sas(share, expiry_hours=1, **permissions):
    return remember_secret(
        generate_share_sas(
            FILESHARE_ACCOUNT,
            share,
            account_key=FILESHARE_KEY,
            permission=ShareSasPermissions(**(permissions or ALL_PERMISSIONS)),
            expiry=datetime.now(UTC) + timedelta(hours=expiry_hours),
        )
    )


@pytest.fixture(params=["blob-key", "blob-sas", "share-key", "share-sas"])
def store(request, azurite_endpoint, fileshare_standin):
    """A backend and a connection to an empty container or share."""
    kind, auth = request.param.split("-")
    if kind == "blob":
        container = request.getfixturevalue("container_name")
        return blob_connection(azurite_endpoint, container, sas=blob_sas(container) if auth == "sas" else None)
    share = request.getfixturevalue("share_name")
    return share_connection(fileshare_standin, share, sas=share_sas(share) if auth == "sas" else None)


def put(backend, connection, path, data: bytes, *, overwrite=False):
    return backend.upload(connection, path, [data], overwrite=overwrite, size=len(data))


def read(backend, connection, path) -> bytes:
    return b"".join(backend.download(connection, path).chunks)


def test_a_listing_follows_continuations_page_by_page_with_folders_first(store):
    backend, connection = store
    for name in ["b.txt", "a.txt", "d.txt", "c.txt", "e.txt", "sub1/x.txt", "sub2/y.txt"]:
        put(backend, connection, f"top/{name}", name.encode())
    seen, continuation, pages = [], None, 0
    while True:
        page = backend.list_folder(connection, "top", continuation=continuation, page_size=3)
        pages += 1
        kinds = [entry.is_folder for entry in page.entries]
        assert kinds == sorted(kinds, reverse=True)  # folders first within a page
        assert len(page.entries) <= 3
        seen += [(entry.name, entry.is_folder) for entry in page.entries]
        continuation = page.continuation
        if not continuation:
            break
    assert pages >= 3
    assert sorted(seen) == sorted(
        [
            ("a.txt", False),
            ("b.txt", False),
            ("c.txt", False),
            ("d.txt", False),
            ("e.txt", False),
            ("sub1", True),
            ("sub2", True),
        ]
    )


def test_a_listing_shows_sizes_and_filters_by_name_prefix(store):
    backend, connection = store
    put(backend, connection, "reports/2024.csv", b"x" * 1234)
    put(backend, connection, "reports/2025.csv", b"y" * 10)
    put(backend, connection, "reports/notes.md", b"z")
    page = backend.list_folder(connection, "reports", name_prefix="20")
    assert {(entry.name, entry.size) for entry in page.entries} == {("2024.csv", 1234), ("2025.csv", 10)}
    assert all(entry.last_modified for entry in page.entries)


def test_upload_with_overwrite_off_skips_an_existing_file_and_keeps_its_bytes(store):
    backend, connection = store
    assert put(backend, connection, "data/one.bin", b"original") == UploadOutcome.UPLOADED
    assert put(backend, connection, "data/one.bin", b"replacement") == UploadOutcome.SKIPPED
    assert read(backend, connection, "data/one.bin") == b"original"


def test_upload_with_overwrite_on_replaces_the_file(store):
    backend, connection = store
    put(backend, connection, "data/one.bin", b"original")
    assert put(backend, connection, "data/one.bin", b"replacement", overwrite=True) == UploadOutcome.UPLOADED
    assert read(backend, connection, "data/one.bin") == b"replacement"


def test_a_large_file_round_trips_in_many_blocks(store):
    backend, connection = store
    data = os.urandom(6 * BLOCK_SIZE + 17)  # more blocks than are ever in flight at once
    chunks = [data[i : i + MIB] for i in range(0, len(data), MIB)]
    assert backend.upload(connection, "big/file.bin", chunks, overwrite=False, size=len(data)) == UploadOutcome.UPLOADED
    download = backend.download(connection, "big/file.bin")
    assert download.size == len(data)
    assert b"".join(download.chunks) == data


@pytest.fixture
def breaking_proxy(azurite_endpoint):
    """A proxy in front of Azurite that cuts the first download response after 3 MiB."""
    proxy = BreakingProxy(int(azurite_endpoint.rsplit(":", 1)[1]), cut_after=3 * MIB)
    yield proxy
    proxy.close()


@pytest.mark.parametrize("auth", ["account_key", "sas_token"])
def test_a_download_cut_midway_resumes_from_the_byte_reached(azurite_endpoint, container_name, breaking_proxy, auth):
    sas = blob_sas(container_name) if auth == "sas_token" else None
    backend, connection = blob_connection(azurite_endpoint, container_name, sas=sas)
    data = os.urandom(3 * BLOCK_SIZE + 5)
    put(backend, connection, "data/far.bin", data)
    _backend, through_proxy = blob_connection(breaking_proxy.endpoint, container_name, sas=sas)
    assert b"".join(backend.download(through_proxy, "data/far.bin").chunks) == data
    assert breaking_proxy.cut_count == 1


def test_a_download_that_keeps_breaking_fails_with_a_message(azurite_endpoint, container_name, breaking_proxy):
    backend, connection = blob_connection(azurite_endpoint, container_name)
    put(backend, connection, "data/far.bin", os.urandom(BLOCK_SIZE))
    breaking_proxy.cut_after, breaking_proxy.cuts_left = MIB, None
    _backend, through_proxy = blob_connection(breaking_proxy.endpoint, container_name)
    with pytest.raises(StorageError, match=r"broke off 4 times, after \d+ of 8388608 bytes"):
        b"".join(backend.download(through_proxy, "data/far.bin").chunks)


def test_a_blob_replaced_while_it_downloads_fails_the_download_instead_of_mixing_versions(
    azurite_endpoint, container_name, breaking_proxy
):
    backend, connection = blob_connection(azurite_endpoint, container_name)
    put(backend, connection, "data/moving.bin", b"1" * (3 * BLOCK_SIZE))
    _backend, through_proxy = blob_connection(breaking_proxy.endpoint, container_name)
    chunks = backend.download(through_proxy, "data/moving.bin").chunks
    assert set(next(chunks)) == {ord("1")}
    put(backend, connection, "data/moving.bin", b"2" * (3 * BLOCK_SIZE), overwrite=True)
    with pytest.raises(StorageError, match=r"'data/moving\.bin' was replaced while it downloaded"):
        b"".join(chunks)  # the cut comes before the end: the resumed GET finds another version
    assert breaking_proxy.cut_count == 1


def test_a_blob_replaced_before_its_first_byte_arrives_fails_the_download(
    azurite_endpoint, container_name, breaking_proxy
):
    """The cut comes right after the response headers: the resumed GET starts at byte 0 and must
    still ask for the version those headers announced (their size is already sent on)."""
    backend, connection = blob_connection(azurite_endpoint, container_name)
    put(backend, connection, "data/moving.bin", b"1" * MIB)
    breaking_proxy.cut_after = HEADERS_END
    _backend, through_proxy = blob_connection(breaking_proxy.endpoint, container_name)
    download = backend.download(through_proxy, "data/moving.bin")
    assert download.size == MIB
    put(backend, connection, "data/moving.bin", b"2" * (2 * MIB), overwrite=True)
    with pytest.raises(StorageError, match=r"'data/moving\.bin' was replaced while it downloaded"):
        b"".join(download.chunks)
    assert breaking_proxy.cut_count == 1


def test_an_upload_that_fails_midway_leaves_nothing_visible(store):
    backend, connection = store

    def broken_chunks():
        yield b"a" * (5 * MIB)
        raise ConnectionResetError("the browser went away")

    with pytest.raises(ConnectionResetError):
        backend.upload(connection, "half/file.bin", broken_chunks(), overwrite=False, size=10 * MIB)
    assert list(backend.walk_files(connection, "")) == []  # no partial file, nor a temporary one
    assert backend.list_folder(connection, "half").entries == []


def test_walk_files_finds_every_file_below_a_folder(store):
    backend, connection = store
    for path in ["root.txt", "f/a.txt", "f/g/b.txt", "f/g/h/c.txt", "other/d.txt"]:
        put(backend, connection, path, path.encode())
    assert sorted(entry.path for entry in backend.walk_files(connection, "f")) == [
        "f/a.txt",
        "f/g/b.txt",
        "f/g/h/c.txt",
    ]


def test_walking_a_folder_that_does_not_exist_says_which_folder(azurite_endpoint, fileshare_standin, share_name):
    """Azure Files against the local stand-in (no emulator exists): folders are real there."""
    backend, connection = share_connection(fileshare_standin, share_name)
    put(backend, connection, "here/a.txt", b"a")
    with pytest.raises(StorageError, match="There is no folder 'gone' in this datastore"):
        list(backend.walk_files(connection, "gone"))


def test_delete_removes_the_file(store):
    backend, connection = store
    put(backend, connection, "gone.txt", b"bye")
    backend.delete(connection, "gone.txt")
    assert backend.list_folder(connection, "").entries == []
    with pytest.raises(StorageError, match=r"There is no file 'gone\.txt'"):
        backend.download(connection, "gone.txt")


def test_a_deleted_container_is_reported_plainly(azurite_endpoint, blob_service, container_name):
    backend, connection = blob_connection(azurite_endpoint, container_name)
    blob_service.delete_container(container_name)
    with pytest.raises(StorageError, match=r"container .* was not found"):
        backend.list_folder(connection, "")


@pytest.mark.parametrize(
    ("make_sas", "delete_container", "message"),
    [
        (None, True, "container .* was not found"),
        (lambda container: blob_sas(container, list=True, write=True), False, "lacks a permission"),
        (
            lambda container: blob_sas("another-container", read=True),
            False,
            "Authentication failed: the storage account refused the SAS token",
        ),
    ],
    ids=["deleted container", "SAS without read", "SAS of another container"],
)
def test_a_blob_download_that_storage_refuses_says_why(
    azurite_endpoint, blob_service, container_name, make_sas, delete_container, message
):
    blob_service.get_container_client(container_name).upload_blob("data/a.txt", b"a")
    backend, connection = blob_connection(azurite_endpoint, container_name, sas=make_sas and make_sas(container_name))
    if delete_container:
        blob_service.delete_container(container_name)
    with pytest.raises(StorageError, match=message):
        backend.download(connection, "data/a.txt")


def test_a_sas_token_without_write_permission_cannot_upload(azurite_endpoint, container_name):
    backend, connection = blob_connection(
        azurite_endpoint, container_name, sas=blob_sas(container_name, read=True, list=True)
    )
    with pytest.raises(StorageError, match="lacks a permission"):
        put(backend, connection, "x.txt", b"x")


def test_a_wrong_share_key_is_reported_as_authentication_failed(fileshare_standin, share_name):
    backend = backend_for("AzureFile")
    raw = {
        "account_name": FILESHARE_ACCOUNT,
        "file_share_name": share_name,
        "protocol": "http",
        "endpoint": fileshare_standin.base_url.removeprefix("http://"),
        "account_key": remember_secret(WRONG_KEY),
    }
    connection = connect(backend, "account_key", raw)
    with pytest.raises(StorageError, match="Authentication failed"):
        backend.list_folder(connection, "")
