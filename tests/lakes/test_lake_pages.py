"""The browse pages of an ADLS Gen2 datastore, against its stand-in (no emulator exists), through
the studio's HTTP endpoints: what Data Lake folders add to the pages Blob and File Share share
(tests/test_browse_pages.py)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from django.urls import reverse

from datastores.services import datastore_register
from datastores.storage import listing

pytestmark = pytest.mark.django_db


@pytest.fixture
def datastore(workspace, gen2):
    values = gen2.backend.clean_values("service_principal", gen2.values())
    return datastore_register(
        workspace=workspace, name="lake", storage_type=gen2.storage_type, auth_type="service_principal", values=values
    )


def url(datastore, view, *args):
    return reverse(view, args=[datastore.workspace.name, datastore.name, *args])


def test_a_data_lake_folder_is_created_through_the_page(client, gen2, datastore):
    """Directories are real in Data Lake Gen2."""
    response = client.post(url(datastore, "datastore_new_folder"), {"path": "", "folder_name": "curated"})
    assert response.status_code == 302
    assert gen2.files["curated"].is_dir


def test_a_data_lake_filter_that_matches_nothing_on_the_first_pages_offers_to_look_further(
    client, gen2, datastore, monkeypatch
):
    """The service pages by itself, so a name prefix can leave a page empty while more entries
    remain; the page must not say "none"."""
    monkeypatch.setattr(listing, "MAX_PAGES_SCANNED", 1)
    for number in range(120):
        gen2.put(f"logs/a{number:03d}.txt", b"x")
    gen2.put("logs/zz-match.txt", b"x")
    first = client.get(
        url(datastore, "datastore_browse"), {"path": "logs", "prefix": "zz", "listing": "1"}
    ).content.decode()
    assert "zz-match.txt" not in first
    assert "there are more to look at" in first and "Look further" in first
    further = first.split('href="?path=logs&amp;prefix=zz&amp;continuation=')[1].split('"')[0].split("&amp;")[0]
    second = client.get(
        url(datastore, "datastore_browse"),
        {"path": "logs", "prefix": "zz", "continuation": unquote(further), "listing": "1"},
    ).content.decode()
    assert "zz-match.txt" in second and "Look further" not in second
