"""A person browses, uploads, downloads and deletes files in real headless Chromium:
Blob Storage against the real Azurite; File Share, and ADLS Gen2 with its Entra ID token
endpoint, against local stand-in servers (no emulator exists for them). What storage
holds is checked directly, with the SDK or in the stand-in."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile

import pytest
from azure.storage.fileshare import ShareServiceClient
from playwright.sync_api import Page, expect

from .conftest import AZURITE_ACCOUNT, AZURITE_KEY, FILESHARE_ACCOUNT, FILESHARE_KEY
from .test_adls_dbfs_fixtures import aad, gen2, trust_standin_ca  # noqa: F401 (fixtures)
from .test_browser_datastores import choose, signed_in  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FILES = {"train.csv": b"x,y\n" + b"1,2\n" * 5000, "notes/readme.txt": b"hello", "notes/deep/model.bin": bytes(range(256)) * 4000}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def local_folder(tmp_path):
    root = tmp_path / "dataset"
    for relative, data in FILES.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    return root


@pytest.fixture(params=["blob", "share", "adls-gen2"])
def target(request, azurite_endpoint, blob_service):
    """How to register the datastore in the form, and how to read what storage holds."""
    if request.param == "adls-gen2":
        lake = request.getfixturevalue("gen2")
        values = lake.values()
        fields = {"Storage type": "Azure Data Lake Storage Gen2", "Account name": values["account_name"],
                  "Filesystem": values["filesystem"], "Protocol": "https", "Endpoint": values["endpoint"],
                  "Tenant ID": values["tenant_id"], "Client ID": values["client_id"],
                  "Client secret": values["client_secret"], "Authority URL": values["authority_url"], "Validate now": True}
        return fields, lake.read, lambda: sorted(path for path, node in lake.files.items() if not node.is_dir)
    if request.param == "blob":
        container = request.getfixturevalue("container_name")
        fields = {"Storage type": "Azure Blob Storage", "Account name": AZURITE_ACCOUNT, "Container name": container,
                  "Protocol": "http", "Endpoint": azurite_endpoint, "Account key": AZURITE_KEY}
        client = blob_service.get_container_client(container)
        return fields, lambda path: client.download_blob(path).readall(), lambda: sorted(b.name for b in client.list_blobs())
    standin = request.getfixturevalue("fileshare_standin")
    share = request.getfixturevalue("share_name")
    fields = {"Storage type": "Azure File Share", "Account name": FILESHARE_ACCOUNT, "File share name": share,
              "Protocol": "http", "Endpoint": standin.base_url.removeprefix("http://"), "Account key": FILESHARE_KEY}
    client = ShareServiceClient(standin.account_url, credential=standin.credential).get_share_client(share)

    def names():
        found, pending = [], [""]
        while pending:
            folder = pending.pop()
            for item in client.get_directory_client(folder).list_directories_and_files():
                path = f"{folder}/{item.name}" if folder else item.name
                (pending.append(path) if item.is_directory else found.append(path))
        return sorted(found)

    return fields, lambda path: client.get_file_client(path).download_file().readall(), names


def register(page: Page, live_server, workspace, fields: dict) -> None:
    page.goto(f"{live_server.url}/workspaces/{workspace.name}/new-datastore/")
    page.get_by_label("Datastore name").fill("files")
    choose(page, "Storage type", fields["Storage type"])
    for label, value in fields.items():
        if label == "Protocol":
            page.get_by_label(label).select_option(value)
        elif value is True:
            page.get_by_label(label, exact=True).check()
        elif label != "Storage type":
            page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Register datastore").click()
    expect(page.get_by_role("heading", name="files")).to_be_visible()


def test_a_person_uploads_a_folder_browses_downloads_and_deletes(page: Page, live_server, signed_in, target, local_folder):
    fields, stored_bytes, stored_names = target
    register(page, live_server, signed_in, fields)
    page.get_by_role("link", name="Browse", exact=True).click()
    expect(page.get_by_text("This folder is empty.")).to_be_visible()

    page.get_by_label("Target path").fill("incoming")
    page.set_input_files("#upload-folder", local_folder)
    expect(page.locator("progress.overall")).to_be_visible()
    expect(page.get_by_text("3 uploaded, 0 skipped, 0 failed.")).to_be_visible()
    assert stored_names() == sorted(f"incoming/dataset/{name}" for name in FILES)
    assert stored_bytes("incoming/dataset/notes/deep/model.bin") == FILES["notes/deep/model.bin"]

    page.get_by_label("Target path").fill("incoming")
    page.set_input_files("#upload-folder", local_folder)
    expect(page.get_by_text("0 uploaded, 3 skipped, 0 failed.")).to_be_visible()
    expect(page.get_by_text("Skipped (already there; tick Overwrite to replace):")).to_be_visible()
    expect(page.locator(".upload-summary li")).to_have_count(3)
    skipped = sorted(page.locator(".upload-summary li").all_text_contents())  # one per line
    assert skipped == sorted(f"incoming/dataset/{name}" for name in FILES)

    page.get_by_role("link", name="incoming/").click()
    page.get_by_role("link", name="dataset/").click()
    expect(page.get_by_role("navigation", name="Folder")).to_have_text(re.compile(r"Root\s*/\s*incoming\s*/\s*dataset"))
    row = page.get_by_role("row").filter(has_text="train.csv")
    with page.expect_download() as download_info:
        row.get_by_role("link", name="Download").click()
    assert sha(open(download_info.value.path(), "rb").read()) == sha(FILES["train.csv"])

    with page.expect_download() as zip_info:
        page.get_by_role("link", name="Download folder as zip").click()
    archive = zipfile.ZipFile(io.BytesIO(open(zip_info.value.path(), "rb").read()))
    assert {info.filename: sha(archive.read(info)) for info in archive.infolist()} == {
        name: sha(data) for name, data in FILES.items()
    }

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("row").filter(has_text="train.csv").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status").filter(has_text="Deleted incoming/dataset/train.csv.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="train.csv")).to_have_count(0)
    assert "incoming/dataset/train.csv" not in stored_names()


def test_an_upload_shows_its_progress_and_cancel_keeps_nothing_partial(page: Page, live_server, signed_in, blob_service, tmp_path):
    """Against the real Azurite, with the browser's upload throttled (Chrome DevTools Protocol) so
    that the upload is still going when Cancel is pressed."""
    container = signed_in.datastores.get(name="workspaceblobstore").connection_settings["container_name"]
    files = [tmp_path / f"part-{n}.bin" for n in range(4)]
    for number, file in enumerate(files):
        file.write_bytes(bytes([number]) * (3 * 1024 * 1024))
    page.goto(f"{live_server.url}/workspaces/{signed_in.name}/datastores/workspaceblobstore/browse/")
    expect(page.get_by_text("This folder is empty.")).to_be_visible()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions",
             {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 512 * 1024})

    page.set_input_files("#upload-files", [str(file) for file in files])
    overall = page.locator("#upload-overall-progress")
    expect(overall).to_contain_text(re.compile(r"\d+% · [\d.]+ (KB|MB)/s · .+ left"))
    expect(page.locator(".upload-list li").first.locator(".upload-state")).to_contain_text("%")
    expect(page.get_by_text("This folder is empty.")).to_have_count(0)  # gone as soon as files start
    expect(page.locator("#upload-files")).to_be_disabled()  # no second upload meanwhile
    expect(page.locator("#upload-folder")).to_be_disabled()
    page.get_by_role("button", name="Cancel upload").click()

    expect(page.locator(".upload-summary")).to_contain_text("cancelled: nothing of them was kept")
    expect(page.locator("#upload-files")).to_be_enabled()
    expect(page.get_by_role("button", name="Cancel upload")).to_be_hidden()
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    client = blob_service.get_container_client(container)
    kept = {blob.name: client.download_blob(blob.name).readall() for blob in client.list_blobs()}
    assert len(kept) < len(files)  # the cancel stopped some
    for name, data in kept.items():  # and whatever is there is whole
        number = int(name.removeprefix("part-").removesuffix(".bin"))
        assert data == bytes([number]) * (3 * 1024 * 1024)
