"""A person browses, uploads, downloads and deletes files in real headless Chromium:
Blob Storage against the real Azurite, File Share against the local stand-in server (no
emulator exists for Azure Files). What storage holds is checked directly, with the SDK.
ADLS Gen2 goes through the same steps in tests/lakes/test_lake_browser.py."""

from __future__ import annotations

import pytest
from azure.storage.fileshare import ShareServiceClient
from playwright.sync_api import Page

from .browser import make_local_folder, upload_browse_download_and_delete
from .support import AZURITE_ACCOUNT, AZURITE_KEY, FILESHARE_ACCOUNT, FILESHARE_KEY

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(params=["blob", "share"])
def target(request, azurite_endpoint, blob_service):
    """How to register the datastore in the form, and how to read what storage holds."""
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


def test_a_person_uploads_a_folder_browses_downloads_and_deletes(page: Page, live_server, signed_in, target, tmp_path):
    fields, stored_bytes, stored_names = target
    upload_browse_download_and_delete(
        page, live_server, signed_in, make_local_folder(tmp_path), fields, stored_bytes, stored_names
    )
