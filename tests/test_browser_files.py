"""A person browses, uploads, downloads and deletes files in real headless Chromium:
Blob Storage against the real Azurite, File Share against the local stand-in server (no
emulator exists for Azure Files). What storage holds is checked directly, with the SDK.
ADLS Gen2 goes through the same steps in tests/lakes/test_lake_browser.py."""

from __future__ import annotations

import re

import pytest
from azure.storage.fileshare import ShareServiceClient
from playwright.sync_api import Page, expect

from .browser import make_local_folder, upload_browse_download_and_delete
from .support import AZURITE_ACCOUNT, AZURITE_KEY, FILESHARE_ACCOUNT, FILESHARE_KEY

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(params=["blob", "share"])
def target(request, azurite_endpoint, blob_service):
    """How to register the datastore in the form, and how to read what storage holds."""
    if request.param == "blob":
        container = request.getfixturevalue("container_name")
        fields = {
            "Storage type": "Azure Blob Storage",
            "Account name": AZURITE_ACCOUNT,
            "Container name": container,
            "Protocol": "http",
            "Endpoint": azurite_endpoint,
            "Account key": AZURITE_KEY,
        }
        client = blob_service.get_container_client(container)
        return (
            fields,
            lambda path: client.download_blob(path).readall(),
            lambda: sorted(b.name for b in client.list_blobs()),
        )
    standin = request.getfixturevalue("fileshare_standin")
    share = request.getfixturevalue("share_name")
    fields = {
        "Storage type": "Azure File Share",
        "Account name": FILESHARE_ACCOUNT,
        "File share name": share,
        "Protocol": "http",
        "Endpoint": standin.base_url.removeprefix("http://"),
        "Account key": FILESHARE_KEY,
    }
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


def test_a_person_uploads_a_folder_browses_downloads_and_deletes(page: Page, live_server, signed_in, target, tmp_path):
    fields, stored_bytes, stored_names = target
    upload_browse_download_and_delete(
        page, live_server, signed_in, make_local_folder(tmp_path), fields, stored_bytes, stored_names
    )


def test_an_upload_shows_its_progress_and_cancel_keeps_nothing_partial(
    page: Page, live_server, signed_in, blob_service, tmp_path
):
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
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 512 * 1024},
    )

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
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    client = blob_service.get_container_client(container)
    kept = {blob.name: client.download_blob(blob.name).readall() for blob in client.list_blobs()}
    assert len(kept) < len(files)  # the cancel stopped some
    for name, data in kept.items():  # and whatever is there is whole
        number = int(name.removeprefix("part-").removesuffix(".bin"))
        assert data == bytes([number]) * (3 * 1024 * 1024)
