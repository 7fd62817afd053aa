"""A person browses, uploads, downloads and deletes files of an ADLS Gen2 datastore in real
headless Chromium, against the ADLS Gen2 stand-in and its Entra ID token endpoint (no emulator
exists): the steps Blob and File Share go through in tests/test_browser_files.py. What storage
holds is read straight from the stand-in."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser import make_local_folder, upload_browse_download_and_delete

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_person_uploads_a_folder_browses_downloads_and_deletes(page: Page, live_server, signed_in, gen2, tmp_path):
    values = gen2.values()
    fields = {
        "Storage type": "Azure Data Lake Storage Gen2",
        "Account name": values["account_name"],
        "Filesystem": values["filesystem"],
        "Protocol": "https",
        "Endpoint": values["endpoint"],
        "Tenant ID": values["tenant_id"],
        "Client ID": values["client_id"],
        "Client secret": values["client_secret"],
        "Authority URL": values["authority_url"],
        "Validate now": True,
    }

    def stored_names() -> list[str]:
        return sorted(path for path, node in gen2.files.items() if not node.is_dir)

    upload_browse_download_and_delete(
        page, live_server, signed_in, make_local_folder(tmp_path), fields, gen2.read, stored_names
    )
