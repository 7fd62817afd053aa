"""The browse, upload and download pages of Blob (real Azurite) and File Share (the local
stand-in server: no Azure Files emulator exists) datastores, through the studio's HTTP endpoints.
The Data Lake pages are in tests/lakes/test_lake_pages.py."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import socket
import zipfile
from urllib.parse import unquote, urlsplit

import pytest
from django.urls import reverse

from .support import put, url

pytestmark = pytest.mark.django_db


def stored(datastore, path) -> bytes:
    return b"".join(datastore.backend.download(datastore.connection(), path).chunks)


def test_uploading_a_file_puts_its_bytes_in_storage(client, datastore):
    response = put(client, datastore, "inbox/report.csv", b"a,b\n1,2\n")
    assert response.json() == {"outcome": "uploaded", "path": "inbox/report.csv"}
    assert stored(datastore, "inbox/report.csv") == b"a,b\n1,2\n"


def test_a_file_of_several_blocks_is_stored_byte_for_byte(client, datastore):
    """The view reads the body in 1 MiB pieces and joins them into the backend's blocks."""
    data = os.urandom(2 * datastore.backend.upload_block_size + 1024 * 1024 + 5)
    assert put(client, datastore, "big/blocks.bin", data).json()["outcome"] == "uploaded"
    assert hashlib.sha256(stored(datastore, "big/blocks.bin")).digest() == hashlib.sha256(data).digest()


def test_a_second_upload_with_overwrite_off_is_skipped_and_on_replaces(client, datastore):
    put(client, datastore, "x.txt", b"first")
    assert put(client, datastore, "x.txt", b"second").json()["outcome"] == "skipped"
    assert stored(datastore, "x.txt") == b"first"
    assert put(client, datastore, "x.txt", b"third", overwrite=True).json()["outcome"] == "uploaded"
    assert stored(datastore, "x.txt") == b"third"


@pytest.mark.django_db(transaction=True)
def test_an_upload_cut_short_leaves_nothing_visible(live_server, user, datastore):
    """A real server and a raw socket: the browser announces 8 MiB, sends 1 MiB, and goes away."""
    from django.test import Client

    session = Client()
    session.force_login(user)
    csrf = "c" * 32
    target = urlsplit(live_server.url)
    with socket.create_connection((target.hostname, target.port), timeout=10) as connection:
        connection.sendall(
            f"PUT {url(datastore, 'datastore_file', 'cut/file.bin')}?overwrite=0 HTTP/1.1\r\n"
            f"Host: {target.netloc}\r\nContent-Length: {8 * 1024 * 1024}\r\n"
            f"Cookie: sessionid={session.cookies['sessionid'].value}; csrftoken={csrf}\r\n"
            f"X-CSRFToken: {csrf}\r\nContent-Type: application/octet-stream\r\n\r\n".encode()
        )
        connection.sendall(b"x" * 1024 * 1024)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    text = answer.decode(errors="replace")
    assert text.startswith("HTTP/1.1 400")
    assert "Nothing was saved" in text
    assert list(datastore.backend.walk_files(datastore.connection(), "")) == []


@pytest.mark.parametrize("bad_path", ["../outside.txt", "a/../../b.txt", "a//b.txt", "a\\b.txt"])
def test_a_path_with_dot_dot_or_backslashes_is_refused(client, datastore, bad_path):
    response = put(client, datastore, bad_path, b"x")
    assert response.status_code == 400
    assert response.json()["outcome"] == "failed"
    assert list(datastore.backend.walk_files(datastore.connection(), "")) == []


def test_the_folder_view_lists_folders_first_with_breadcrumbs(client, datastore):
    for path in ["data/b.csv", "data/a.csv", "data/raw/z.bin", "top.txt"]:
        put(client, datastore, path, b"12345")
    page = client.get(url(datastore, "datastore_browse"), {"path": "data", "listing": "1"}).content.decode()
    assert page.index("raw/") < page.index("a.csv") < page.index("b.csv")
    assert 'href="?path=data/raw"' in page
    assert ">Root</a>" in page and 'aria-current="page">data<' in page
    assert "5\xa0bytes" in page  # filesizeformat, with its non-breaking space
    assert "top.txt" not in page


def test_load_more_follows_the_continuation_without_listing_everything(client, datastore):
    for number in range(130):
        put(client, datastore, f"many/f{number:03d}.txt", b"x")
    first = client.get(url(datastore, "datastore_browse"), {"path": "many", "listing": "1"}).content.decode()
    assert first.count("Copy path") == 100
    assert "Load more" in first
    continuation = first.split("continuation=")[1].split('"')[0].split("&amp;")[0]
    more = client.get(
        url(datastore, "datastore_browse"),
        {"path": "many", "continuation": unquote(continuation)},
        headers={"HX-Request": "true", "HX-Target": "load-more-row"},
    ).content.decode()
    assert "<html" not in more
    assert more.count("Copy path") == 30 and "Load more" not in more
    assert "f000.txt" in first and "f129.txt" in more


def test_the_name_prefix_filter_narrows_the_listing(client, datastore):
    for path in ["logs/2024-01.txt", "logs/2024-02.txt", "logs/2025-01.txt"]:
        put(client, datastore, path, b"x")
    page = client.get(
        url(datastore, "datastore_browse"),
        {"path": "logs", "prefix": "2024"},
        headers={"HX-Request": "true", "HX-Target": "listing"},
    ).content.decode()
    assert "2024-01.txt" in page and "2024-02.txt" in page and "2025-01.txt" not in page


def test_an_empty_folder_says_so(client, datastore):
    page = client.get(url(datastore, "datastore_browse"), {"listing": "1"}).content.decode()
    assert "This folder is empty." in page


def test_a_file_downloads_with_safe_headers(client, datastore):
    name = 'we"ird; name\u00e9.txt'
    put(client, datastore, name, b"payload")
    response = client.get(url(datastore, "datastore_file", name))
    assert b"".join(response.streaming_content) == b"payload"
    assert response["X-Content-Type-Options"] == "nosniff"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;") and "\r" not in disposition and "\n" not in disposition
    assert "filename*=utf-8''we%22ird%3B%20name%C3%A9.txt" in disposition


@pytest.mark.parametrize("datastore", ["AzureBlob"], indirect=True)
def test_a_blob_download_logs_no_signed_url_even_at_debug_level(client, datastore, caplog):
    """A Blob download signs a short SAS with the account key for its GET: no log line shows it,
    even with the root logger at DEBUG (LOG_LEVEL=DEBUG), where urllib3 would log each URL."""
    caplog.set_level(logging.DEBUG)
    put(client, datastore, "logs/a.bin", b"x" * 1000)
    response = client.get(url(datastore, "datastore_file", "logs/a.bin"))
    assert b"".join(response.streaming_content) == b"x" * 1000
    assert "sig=" not in caplog.text


def test_a_folder_downloads_as_a_zip_with_the_same_bytes(client, datastore):
    files = {"set/a.txt": b"alpha", "set/sub/b.bin": bytes(range(256)) * 100, "other.txt": b"no"}
    for path, data in files.items():
        put(client, datastore, path, data)
    response = client.get(url(datastore, "datastore_folder_zip"), {"path": "set"})
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert {info.filename: archive.read(info) for info in archive.infolist()} == {
        "a.txt": b"alpha",
        "sub/b.bin": bytes(range(256)) * 100,
    }


def test_deleting_a_file_removes_it_from_storage(client, datastore):
    put(client, datastore, "old/gone.txt", b"bye")
    response = client.post(url(datastore, "datastore_delete_file"), {"path": "old/gone.txt"})
    assert response.status_code == 302 and response["Location"].endswith("?path=old")
    assert list(datastore.backend.walk_files(datastore.connection(), "")) == []


def test_the_filestore_of_a_connection_string_without_a_file_endpoint_explains_itself(client, workspace):
    response = client.get(reverse("datastore_browse", args=[workspace.name, "workspacefilestore"]), {"listing": "1"})
    assert response.status_code == 502
    page = response.content.decode()
    assert "names no File endpoint" in page and "The storage service answered 400" in page


def test_a_datastore_without_files_has_no_browse_page(client, workspace):
    registered = client.post(
        reverse("datastore_new", args=[workspace.name]),
        {
            "name": "db",
            "storage_type": "AzureMySql",
            "auth_type": "sql_authentication",
            "server_name": "s",
            "database_name": "d",
            "port": "3306",
            "endpoint": "mysql.database.azure.com",
            "user_id": "u",
            "password": "p",
            "skip_validation": "on",
        },
    )
    assert registered.status_code == 302  # it exists, so the 404 is the missing page, not a missing datastore
    assert client.get(reverse("datastore_detail", args=[workspace.name, "db"])).status_code == 200
    assert client.get(reverse("datastore_browse", args=[workspace.name, "db"])).status_code == 404


@pytest.mark.parametrize("datastore", ["AzureFile"], indirect=True)
def test_a_new_folder_is_created_in_azure_files_and_opened(client, datastore):
    page = client.get(url(datastore, "datastore_browse"), {"path": ""}).content.decode()
    assert '<label for="new-folder-name">New folder</label>' in page
    response = client.post(url(datastore, "datastore_new_folder"), {"path": "", "folder_name": "reports"})
    assert response.status_code == 302 and response["Location"].endswith("?path=reports")
    entries = datastore.backend.list_folder(datastore.connection(), "").entries
    assert [(entry.name, entry.is_folder) for entry in entries] == [("reports", True)]


@pytest.mark.parametrize("datastore", ["AzureFile"], indirect=True)
def test_a_new_folder_name_with_dot_dot_is_refused(client, datastore):
    response = client.post(url(datastore, "datastore_new_folder"), {"path": "", "folder_name": "../up"})
    assert response.status_code == 400
    assert "cannot contain empty, '.' or '..' folders" in response.content.decode().replace("&#x27;", "'")
    assert datastore.backend.list_folder(datastore.connection(), "").entries == []


@pytest.mark.parametrize("datastore", ["AzureBlob"], indirect=True)
def test_a_new_blob_folder_opens_empty_and_appears_with_its_first_file(client, datastore, blob_service):
    """Blob folders are name prefixes: "New folder" opens the folder to upload into and writes
    nothing (as Azure Storage Explorer does); the folder shows once a file lands in it."""
    page = client.get(url(datastore, "datastore_browse")).content.decode()
    assert '<label for="new-folder-name">New folder</label>' in page
    response = client.post(url(datastore, "datastore_new_folder"), {"path": "", "folder_name": "drafts"}, follow=True)
    assert response.redirect_chain[-1][0].endswith("?path=drafts")
    assert "shows in listings once a file lands in it" in response.content.decode()
    container = blob_service.get_container_client(datastore.connection_settings["container_name"])
    assert list(container.list_blobs()) == []
    put(client, datastore, "drafts/first.txt", b"x")
    entries = datastore.backend.list_folder(datastore.connection(), "").entries
    assert [(entry.name, entry.is_folder) for entry in entries] == [("drafts", True)]
