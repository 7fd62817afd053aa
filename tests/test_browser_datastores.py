"""A person registers datastores in real headless Chromium (Debian's /usr/bin/chromium)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .browser import choose
from .support import AZURITE_ACCOUNT, AZURITE_KEY, WRONG_KEY

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The labels a person sees for each storage type and authentication type, as shown in the select boxes.
SWAPS = {
    "Azure Blob Storage": {
        "Account key": ["Account name", "Container name", "Account key"],
        "SAS token": ["SAS token"],
    },
    "Azure File Share": {
        "Account key": ["File share name", "Account key"],
        "SAS token": ["File share name", "SAS token"],
    },
    "Azure Data Lake Storage Gen1": {"Service principal": ["Store name", "Tenant ID", "Client ID", "Client secret"]},
    "Azure Data Lake Storage Gen2": {
        "Service principal": ["Filesystem", "Tenant ID", "Client ID", "Client secret", "Authority URL"]
    },
    "Azure SQL Database": {
        "SQL authentication": ["Server name", "User ID", "Password"],
        "Service principal": ["Server name", "Client secret"],
    },
    "Azure Database for PostgreSQL": {
        "SQL authentication": ["Server name", "Database name", "Enforce SSL", "Password"]
    },
    "Azure Database for MySQL": {"SQL authentication": ["Server name", "Database name", "Port", "Password"]},
    "Databricks File System": {"No authentication": ["Workspace URL", "Personal access token"]},
}
GONE_AFTER_SWAP = {"SAS token": "Account key", "Service principal": "Password"}


def test_the_form_swaps_fields_in_place_for_every_storage_and_auth_type(page: Page, live_server, signed_in):
    page.goto(f"{live_server.url}/workspaces/{signed_in.name}/new-datastore/")
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_label("Datastore name").fill("kept_name")
    for storage_label, auth_types in SWAPS.items():
        choose(page, "Storage type", storage_label)
        for auth_label, field_labels in auth_types.items():
            choose(page, "Authentication type", auth_label)
            for field_label in field_labels:
                expect(page.get_by_label(field_label, exact=True)).to_be_visible()
            if auth_label in GONE_AFTER_SWAP:
                expect(page.get_by_label(GONE_AFTER_SWAP[auth_label], exact=True)).to_have_count(0)
    assert page.evaluate("window.stillTheSamePage") is True  # no reload happened
    expect(page.get_by_label("Datastore name")).to_have_value("kept_name")


def test_a_person_registers_a_blob_datastore_and_makes_it_the_default(
    page: Page, live_server, signed_in, azurite_endpoint, container_name
):
    page.goto(f"{live_server.url}/workspaces/{signed_in.name}/datastores/")
    page.get_by_role("link", name="+ New datastore").click()
    page.get_by_label("Datastore name").fill("browser_blob")
    choose(page, "Storage type", "Azure Blob Storage")
    page.get_by_label("Account name").fill(AZURITE_ACCOUNT)
    page.get_by_label("Container name").fill(container_name)
    page.get_by_label("Protocol").select_option("http")
    page.get_by_label("Endpoint").fill(azurite_endpoint)
    wrong_key = WRONG_KEY
    page.get_by_label("Account key").fill(wrong_key)
    page.get_by_role("button", name="Register datastore").click()

    # The error summary at the top takes the focus, in view at 1440x900, and links to the field.
    page.set_viewport_size({"width": 1440, "height": 900})
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    link = summary.get_by_role(
        "link", name="Account key: Authentication failed: the storage account refused the account key"
    )
    link.click()
    expect(page.locator("#field-account_key").get_by_role("alert")).to_contain_text("refused the account key")
    expect(page.get_by_label("Account key")).to_have_value("")
    assert wrong_key not in page.content()

    page.get_by_label("Account key").fill(AZURITE_KEY)
    page.get_by_role("button", name="Register datastore").click()
    expect(page.get_by_role("heading", name="browser_blob")).to_be_visible()
    assert AZURITE_KEY not in page.content()

    page.get_by_role("button", name="Set as default").click()
    page.get_by_role("link", name="Datastores", exact=True).first.click()
    row = page.get_by_role("row").filter(has_text="browser_blob")
    expect(row).to_contain_text("Default")
    expect(page.get_by_role("row").filter(has_text="workspaceblobstore")).not_to_contain_text("Default")
