"""The plug-in contract of the storage-services module: a storage type defined here, in this
module, and registered with `datastores.storage.register`, works through the studio's real
pages with no other file changed. It is a folder on the local disk; what it holds is read
straight from the disk.

Every request is the one the pages make: the New datastore form as its HTML stands (CSRF
token included), the links and forms of the browse page, and the PUT of static/upload.js
(its URL from data-upload-url, its CSRF header from the body's hx-headers)."""

from __future__ import annotations

import json
import logging
import mimetypes
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import pytest
from django import forms
from django.core.management import call_command
from django.urls import reverse

from datastores.errors import logger as storage_error_logger
from datastores.models import Datastore
from datastores.storage import (
    AuthType,
    Capabilities,
    Conflict,
    Connection,
    Download,
    Entry,
    FolderPage,
    NotFound,
    StorageBackend,
    UploadOutcome,
    register,
    unregister,
)
from datastores.storage.base import AuthMethod
from datastores.storage.fields import SecretField

from .pages import (
    body_attribute,
    data_attribute,
    field_block,
    form_by_id,
    links,
    page_forms,
    tied_labels,
)
from .support import RecordingClient

pytestmark = pytest.mark.django_db

UPLOADING = ".uploading-"  # where an upload is written before it is moved into place
READ_SIZE = 64 * 1024


class LocalFolderBackend(StorageBackend):
    """A folder on the studio's own disk: the smallest storage type with files."""

    storage_type = "LocalFolder"
    label = "Local folder"
    capabilities = Capabilities(browse=True, upload=True, delete=True, folders=True)
    connection_fields = {"folder": forms.CharField(label="Folder", help_text="An absolute path on the studio's disk.")}
    auth_methods = (AuthMethod(AuthType.NONE, {}),)

    def root(self, connection: Connection) -> Path:
        return Path(connection["folder"])

    def check_connection(self, connection: Connection) -> None:
        if not self.root(connection).is_dir():
            raise NotFound(f"There is no folder {connection['folder']} on the studio's disk.", field="folder")

    def _entry(self, connection: Connection, path: Path) -> Entry:
        stat = path.stat()
        relative = path.relative_to(self.root(connection)).as_posix()
        if path.is_dir():
            return Entry(name=path.name, path=relative, is_folder=True)
        content_type = mimetypes.guess_type(path.name)[0] or ""
        return Entry(path.name, relative, False, stat.st_size, None, content_type)

    def _folder(self, connection: Connection, folder: str) -> Path:
        target = self.root(connection) / folder
        if not target.is_dir():
            raise NotFound(f"There is no folder '{folder}' in this datastore.")
        return target

    def list_folder(
        self,
        connection: Connection,
        folder: str,
        *,
        name_prefix: str = "",
        continuation: str | None = None,
        page_size: int = 200,
    ) -> FolderPage:
        children = sorted(
            (
                child
                for child in self._folder(connection, folder).iterdir()
                if child.name.startswith(name_prefix) and not child.name.startswith(UPLOADING)
            ),
            key=lambda child: (not child.is_dir(), child.name),
        )
        start = int(continuation or 0)
        page = [self._entry(connection, child) for child in children[start : start + page_size]]
        more = start + page_size < len(children)
        return FolderPage(page, str(start + page_size) if more else None)

    def walk_files(self, connection: Connection, folder: str) -> Iterator[Entry]:
        for path in sorted(self._folder(connection, folder).rglob("*")):
            if path.is_file() and not path.name.startswith(UPLOADING):
                yield self._entry(connection, path)

    def download(self, connection: Connection, path: str) -> Download:
        target = self.root(connection) / path
        if not target.is_file():
            raise NotFound(f"There is no file '{path}' in this datastore.")

        def chunks() -> Iterator[bytes]:
            with target.open("rb") as file:
                while chunk := file.read(READ_SIZE):
                    yield chunk

        entry = self._entry(connection, target)
        return Download(entry.name, entry.size, entry.content_type or "application/octet-stream", chunks())

    def upload(
        self,
        connection: Connection,
        path: str,
        chunks: Iterable[bytes],
        *,
        overwrite: bool,
        content_type: str = "",
        size: int | None = None,
    ) -> UploadOutcome:
        target = self.root(connection) / path
        if target.is_dir():
            raise Conflict(f"A folder named '{target.name}' is already there.")
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(prefix=UPLOADING, dir=target.parent)
        try:
            with os.fdopen(handle, "wb") as file:
                for chunk in chunks:
                    file.write(chunk)
            if overwrite:
                os.replace(staging, target)
                return UploadOutcome.UPLOADED
            try:
                os.link(staging, target)  # refuses an existing name, as a conditional request does
            except FileExistsError:
                return UploadOutcome.SKIPPED
            return UploadOutcome.UPLOADED
        finally:
            Path(staging).unlink(missing_ok=True)

    def delete(self, connection: Connection, path: str) -> None:
        target = self.root(connection) / path
        if target.is_dir():
            shutil.rmtree(target)
        elif target.is_file():
            target.unlink()
        else:
            raise NotFound(f"There is no file or folder '{path}' in this datastore.")

    def create_folder(self, connection: Connection, path: str) -> None:
        target = self.root(connection) / path
        if target.is_file():
            raise Conflict(f"A file named '{target.name}' is already there.")
        target.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def local_folder_type() -> Iterator[StorageBackend]:
    backend = register(LocalFolderBackend())
    yield backend
    unregister(backend.storage_type)


@pytest.fixture
def browser(user) -> RecordingClient:
    """A signed-in client that, like a browser, must send the CSRF token the page gave it."""
    client = RecordingClient(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.fixture
def disk(tmp_path) -> Path:
    """The folder the datastore points at, with one file already in it."""
    root = tmp_path / "shared data"
    (root / "reports").mkdir(parents=True)
    (root / "reports" / "2024.csv").write_bytes(b"year,total\n2024,7\n")
    return root


def register_through_the_form(browser, workspace, folder: str, *, name: str = "scratch"):
    """Open New datastore, choose the storage type as its select offers it, fill the form as the
    page stands and post it where the page posts it."""
    new_url = reverse("datastore_new", args=[workspace.name])
    page = browser.get(new_url).content.decode()
    offered = [form for form in page_forms(page) if form.attrs.get("id") == "datastore-form"]
    assert offered and f'<option value="{LocalFolderBackend.storage_type}">Local folder</option>' in page
    # Choosing the type swaps in its fields (the htmx GET with the form's values, or the no-JavaScript refresh).
    swapped = browser.get(
        new_url, {**offered[0].values, "storage_type": LocalFolderBackend.storage_type}
    ).content.decode()
    form = form_by_id(swapped, "datastore-form")
    assert form.values["storage_type"] == LocalFolderBackend.storage_type
    assert form.values["auth_type"] == AuthType.NONE
    return browser.post(form.attrs.get("action") or new_url, {**form.values, "name": name, "folder": folder})


def test_the_form_offers_the_plug_in_type_with_its_field_and_auth_type(browser, workspace, local_folder_type):
    page = browser.get(
        reverse("datastore_new", args=[workspace.name]), {"storage_type": "LocalFolder"}
    ).content.decode()

    assert tied_labels(page) == ["Datastore name", "Storage type", "Authentication type", "Folder", "Overwrite"]
    assert '<option value="none" selected>No authentication</option>' in page


def test_a_plug_in_datastore_registered_through_the_form_is_listed_and_shown(
    browser, workspace, local_folder_type, disk
):
    response = register_through_the_form(browser, workspace, str(disk))

    detail_url = reverse("datastore_detail", args=[workspace.name, "scratch"])
    assert response.status_code == 302 and response["Location"] == detail_url
    listing = browser.get(reverse("datastore_list", args=[workspace.name])).content.decode()
    row = listing[listing.index(">scratch</a>") : listing.index("</tr>", listing.index(">scratch</a>"))]
    assert "Local folder" in row and "No authentication" in row
    detail = browser.get(detail_url).content.decode()
    assert "<h1>scratch</h1>" in detail and "Local folder · No authentication" in detail
    assert f'<dt>Folder</dt><dd class="mono">{disk}</dd>' in detail
    assert links(detail, "Browse") == [reverse("datastore_browse", args=[workspace.name, "scratch"])]
    assert links(detail, "Tables") == []  # it declares no tables


def test_a_plug_in_datastore_whose_check_fails_is_not_saved_and_the_form_says_why(
    browser, workspace, local_folder_type, tmp_path
):
    page = register_through_the_form(browser, workspace, str(tmp_path / "missing")).content.decode()

    assert f"There is no folder {tmp_path / 'missing'} on the studio's disk." in field_block(page, "folder")
    assert not Datastore.objects.filter(name="scratch").exists()


def test_a_plug_in_datastore_browses_uploads_downloads_and_deletes_through_the_pages(
    browser, workspace, local_folder_type, disk
):
    assert register_through_the_form(browser, workspace, str(disk)).status_code == 302
    browse_url = reverse("datastore_browse", args=[workspace.name, "scratch"])
    # The listing loads into place with htmx; listing=1 has it in the page, as without JavaScript.
    root = browser.get(browse_url, {"listing": "1"}).content.decode()
    assert links(root, "reports/") == ["?path=reports"]

    # upload.js: one PUT per file to data-upload-url with PATH replaced, the CSRF header from hx-headers.
    upload_url = data_attribute(root, "data-upload-url")
    csrf = json.loads(body_attribute(root, "hx-headers"))["X-CSRFToken"]
    put = browser.put(
        upload_url.removesuffix("PATH") + quote("reports/2025 draft.csv") + "?overwrite=0",
        data=b"year,total\n2025,9\n",
        content_type="text/csv",
        headers={"X-CSRFToken": csrf},
    )
    assert put.json() == {"outcome": "uploaded", "path": "reports/2025 draft.csv"}
    assert (disk / "reports" / "2025 draft.csv").read_bytes() == b"year,total\n2025,9\n"
    again = browser.put(
        upload_url.removesuffix("PATH") + quote("reports/2025 draft.csv") + "?overwrite=0",
        data=b"changed",
        content_type="text/csv",
        headers={"X-CSRFToken": csrf},
    )
    assert again.json()["outcome"] == "skipped" and (disk / "reports" / "2025 draft.csv").read_bytes() != b"changed"

    folder = browser.get(browse_url, {"path": "reports", "listing": "1"}).content.decode()
    assert folder.index("2024.csv") < folder.index("2025 draft.csv")
    [download_url] = [href for href in links(folder, "Download") if href.endswith("2025%20draft.csv")]
    download = browser.get(download_url)
    assert b"".join(download.streaming_content) == b"year,total\n2025,9\n"
    assert download["Content-Disposition"] == 'attachment; filename="2025 draft.csv"'

    [delete] = [form for form in page_forms(folder) if form.values.get("path") == "reports/2025 draft.csv"]
    deleted = browser.post(delete.attrs["action"], delete.values)
    assert deleted.status_code == 302 and deleted["Location"].endswith("?path=reports")
    assert sorted(path.name for path in (disk / "reports").iterdir()) == ["2024.csv"]
    after = browser.get(browse_url, {"path": "reports", "listing": "1"}).content.decode()
    assert "Deleted reports/2025 draft.csv." in after  # the message after the change
    assert not [href for href in links(after, "Download") if href.endswith("2025%20draft.csv")]


def test_a_plug_in_type_with_folders_gets_new_folder_on_its_browse_page(browser, workspace, local_folder_type, disk):
    assert register_through_the_form(browser, workspace, str(disk)).status_code == 302
    page = browser.get(reverse("datastore_browse", args=[workspace.name, "scratch"])).content.decode()

    [new_folder] = [form for form in page_forms(page) if form.attrs.get("action", "").endswith("/new-folder/")]
    response = browser.post(new_folder.attrs["action"], {**new_folder.values, "folder_name": "inbox"})

    assert response.status_code == 302 and response["Location"].endswith("?path=inbox")
    assert (disk / "inbox").is_dir()


def test_registering_a_plug_in_type_needs_no_migration(local_folder_type):
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)  # exits non-zero on a change
    assert "No changes detected" in out.getvalue()


class KeyedFolderBackend(LocalFolderBackend):
    """The same folder behind a key: a plug-in type that declares a secret field."""

    storage_type = "KeyedFolder"
    label = "Keyed local folder"
    auth_methods = (AuthMethod(AuthType.ACCOUNT_KEY, {"folder_key": SecretField(label="Folder key")}),)


def test_a_secret_field_of_a_plug_in_type_registered_after_the_first_log_line_is_redacted(caplog):
    """datastores/logs.py redacts every secret field a registered type declares, also those of
    a type registered after the redacting filter first ran."""
    caplog.set_level(logging.INFO, logger=storage_error_logger.name)
    storage_error_logger.info("a line before the plug-in type is registered")
    register(KeyedFolderBackend())
    try:
        storage_error_logger.warning("refused with folder_key=%s", "k3y-of-the-folder")
    finally:
        unregister(KeyedFolderBackend.storage_type)

    assert "folder_key=[redacted]" in caplog.text
    assert "k3y-of-the-folder" not in caplog.text
