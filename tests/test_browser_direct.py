"""Direct transfers in real headless Chromium against an Azurite of the test's own (its CORS rules
are the test's to set): the bytes of an upload and a download go between the browser and Azurite,
never through the studio, which the studio's own request log shows (every request it handled,
recorded from Django's request_started signal: no PUT to the streaming upload route, no request
with a file's body) and what Azurite holds proves (read back with azure-storage-blob)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from azure.storage.blob import CorsRule
from django.core.signals import request_started
from playwright.sync_api import Page, expect

from datastores.models import AuditAction, AuditEntry
from datastores.storage import AuthType

from .browser import wait_for_listing_refresh
from .support import AZURITE_KEY, register_blob, sqlite_pass_only

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-results" / "screenshots"
CONTAINER = "direct"
BIG = 9 * 1024 * 1024 + 123  # two blocks of the 8 MiB a Blob upload sends at once


class RequestLog:
    """Every request the live studio handled: (method, path, query, bytes of body)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str, int]] = []

    def __enter__(self) -> RequestLog:
        request_started.connect(self.note, weak=False)
        return self

    def __exit__(self, *exc: object) -> None:
        request_started.disconnect(self.note)

    def note(self, sender: object, environ: dict, **kwargs: object) -> None:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("QUERY_STRING", ""), length))

    def largest_body(self) -> int:
        return max((length for *_, length in self.seen), default=0)

    def puts(self) -> list[str]:
        return [path for method, path, *_ in self.seen if method == "PUT"]


def register_on(azurite, workspace):
    return register_blob(
        workspace,
        CONTAINER,
        azurite.endpoint,
        name="direct",
        auth_type=AuthType.ACCOUNT_KEY,
        account_key=AZURITE_KEY,
        create_if_not_exists=True,
    )


def studio_rule(origin: str) -> CorsRule:
    return CorsRule([origin], ["GET", "HEAD", "PUT", "OPTIONS"], allowed_headers=["*"], exposed_headers=["*"])


def requests_to(page: Page, origin: str) -> list[str]:
    """Every request the page sends to `origin` from now on, as "METHOD URL"."""
    seen: list[str] = []
    page.on(
        "request",
        lambda request: seen.append(f"{request.method} {request.url}") if request.url.startswith(origin) else None,
    )
    return seen


def upload_and_wait(page: Page, local: Path, summary: str) -> None:
    """Pick a file to upload; wait for the upload's summary and the listing that follows it."""
    page.set_input_files("#upload-files", str(local))
    expect(page.get_by_text(summary)).to_be_visible()
    wait_for_listing_refresh(page)


def download_from_the_list(page: Page, name: str) -> bytes:
    """Click a file's Download link; the bytes the browser saved, under the file's own name."""
    row = page.get_by_role("row").filter(has_text=name)
    with page.expect_download() as download_info:
        row.get_by_role("link", name="Download").click()
    assert download_info.value.suggested_filename == name
    return Path(download_info.value.path()).read_bytes()


def browse(page: Page, live_server, workspace) -> None:
    page.goto(f"{live_server.url}/workspaces/{workspace.name}/datastores/direct/browse/")
    expect(page.locator("#direct-status[data-mode]")).to_have_count(1)
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def stored(azurite, name: str) -> bytes:
    return azurite.service().get_container_client(CONTAINER).download_blob(name).readall()


def test_a_file_goes_up_to_azurite_and_comes_back_without_passing_through_the_studio(
    page: Page, live_server, signed_in, azurite_of_its_own, tmp_path
):
    azurite_of_its_own.service().set_service_properties(cors=[studio_rule(live_server.url)])
    register_on(azurite_of_its_own, signed_in)
    data = os.urandom(BIG)
    local = tmp_path / "big.bin"
    local.write_bytes(data)
    to_storage = requests_to(page, azurite_of_its_own.origin)

    with RequestLog() as log:
        browse(page, live_server, signed_in)
        expect(page.get_by_text("Files go straight from your browser to Azure Blob Storage")).to_be_visible()
        upload_and_wait(page, local, "1 uploaded, 0 skipped, 0 failed.")
        assert stored(azurite_of_its_own, "big.bin") == data

        # Again, with Overwrite off: the conditional commit skips it, and Azurite keeps the first.
        local.write_bytes(b"something else")
        page.set_input_files("#upload-files", str(local))
        expect(page.get_by_text("0 uploaded, 1 skipped, 0 failed.")).to_be_visible()
        expect(page.locator(".upload-summary li")).to_have_text(["big.bin"])
        wait_for_listing_refresh(page)
        assert stored(azurite_of_its_own, "big.bin") == data

        assert download_from_the_list(page, "big.bin") == data

    assert log.puts() == []  # the streaming upload route was never asked
    assert log.largest_body() < 1024  # no request to the studio carried a file
    assert any(path.endswith("/direct/big.bin") for method, path, *_ in log.seen if method == "POST")
    assert ("GET", f"/workspaces/{signed_in.name}/datastores/direct/files/big.bin", "direct=1") in [
        entry[:3] for entry in log.seen
    ]
    blocks = [line for line in to_storage if line.startswith("PUT") and "comp=block&" in line]
    assert len(blocks) == 3  # two blocks of the first upload, one of the second (skipped at its commit)
    assert sum("comp=blocklist" in line for line in to_storage) == 2
    assert any(line.startswith("GET") and "/big.bin?" in line for line in to_storage)
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert actions.count(AuditAction.DIRECT_UPLOAD_GRANTED) == 2
    assert actions.count(AuditAction.DIRECT_DOWNLOAD_GRANTED) == 1
    assert AuditAction.FILE_UPLOADED not in actions and AuditAction.FILE_DOWNLOADED not in actions


@sqlite_pass_only("the screenshots")
def test_without_a_cors_rule_the_page_says_so_once_and_an_owner_lets_the_studio_in(
    page: Page, live_server, signed_in, azurite_of_its_own, tmp_path
):
    register_on(azurite_of_its_own, signed_in)
    local = tmp_path / "small.txt"
    local.write_bytes(b"through the studio")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    with RequestLog() as log:
        browse(page, live_server, signed_in)
        notice = page.get_by_role("note").filter(has_text="CORS rules do not allow")
        expect(notice).to_have_count(1)
        button = page.get_by_role("button", name="Allow this studio in the account's CORS rules")
        expect(button).to_be_visible()
        for size, viewport in {"desktop": (1280, 800), "phone": (390, 844)}.items():
            page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
            notice.scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOTS / f"direct-cors-notice-{size}.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})

        page.set_input_files("#upload-files", str(local))
        expect(page.get_by_text("1 uploaded, 0 skipped, 0 failed.")).to_be_visible()
        assert log.puts() == [f"/workspaces/{signed_in.name}/datastores/direct/files/small.txt"]
        assert stored(azurite_of_its_own, "small.txt") == b"through the studio"

        button.click()
        expect(page.get_by_text("The storage account's CORS rules now allow")).to_be_visible()
        expect(page.get_by_text("Files go straight from your browser")).to_be_visible()
        rules = azurite_of_its_own.service().get_service_properties()["cors"]
        assert [rule.allowed_origins for rule in rules] == [live_server.url]

        local.write_bytes(b"straight to storage")
        page.get_by_label("Overwrite").check()
        page.set_input_files("#upload-files", str(local))
        expect(page.get_by_text("1 uploaded, 0 skipped, 0 failed.")).to_be_visible()
        assert stored(azurite_of_its_own, "small.txt") == b"straight to storage"
        assert len(log.puts()) == 1  # only the first upload went through the studio


def test_when_storage_turns_the_browser_away_the_file_goes_through_the_studio_and_the_page_says_so(
    page: Page, live_server, signed_in, azurite_of_its_own, tmp_path
):
    """The rules the studio read (and remembers for a minute) let it in; they are removed before
    the upload, so Azurite refuses the browser's preflight."""
    service = azurite_of_its_own.service()
    service.set_service_properties(cors=[studio_rule(live_server.url)])
    register_on(azurite_of_its_own, signed_in)
    browse(page, live_server, signed_in)
    expect(page.get_by_text("Files go straight from your browser")).to_be_visible()
    service.set_service_properties(cors=[])
    local = tmp_path / "a.txt"
    local.write_bytes(b"fell back")

    with RequestLog() as log:
        page.set_input_files("#upload-files", str(local))
        expect(page.get_by_text("1 uploaded, 0 skipped, 0 failed.")).to_be_visible()
    expect(page.get_by_role("note").filter(has_text="could not reach the storage service directly")).to_have_count(1)
    assert log.puts() == [f"/workspaces/{signed_in.name}/datastores/direct/files/a.txt"]
    assert stored(azurite_of_its_own, "a.txt") == b"fell back"


def test_an_upload_that_outlives_its_sas_asks_for_a_fresh_one(
    page: Page, live_server, signed_in, azurite_of_its_own, tmp_path, settings
):
    """With one-minute SASs, every block is within the minute direct.js renews before expiry, so it
    asks again before each; the upload completes, and each SAS is audited."""
    settings.DIRECT_TRANSFER_SAS_MINUTES = 1
    azurite_of_its_own.service().set_service_properties(cors=[studio_rule(live_server.url)])
    register_on(azurite_of_its_own, signed_in)
    data = os.urandom(BIG)
    (tmp_path / "renewed.bin").write_bytes(data)
    with RequestLog() as log:
        browse(page, live_server, signed_in)
        expect(page.get_by_text("Files go straight from your browser")).to_be_visible()
        page.set_input_files("#upload-files", str(tmp_path / "renewed.bin"))
        expect(page.get_by_text("1 uploaded, 0 skipped, 0 failed.")).to_be_visible()
    grants = [path for method, path, *_ in log.seen if method == "POST" and path.endswith("/direct/renewed.bin")]
    assert len(grants) >= 3  # the first, then before the blocks and the commit
    assert log.puts() == []
    assert stored(azurite_of_its_own, "renewed.bin") == data
    assert AuditEntry.objects.filter(action=AuditAction.DIRECT_UPLOAD_GRANTED).count() == len(grants)


# --- ADLS Gen2, at the account's blob endpoint (the ADLS Gen2 stand-in: no emulator exists) -------

GEN2_BIG = 2 * 4 * 1024 * 1024 + 321  # three blocks of the 4 MiB a Gen2 upload sends at once


def register_gen2_on(gen2, workspace):
    from datastores.services import datastore_register

    values = gen2.backend.clean_values("service_principal", gen2.values())
    return datastore_register(
        workspace=workspace, name="direct", storage_type=gen2.storage_type, auth_type="service_principal", values=values
    )


def test_a_file_goes_up_to_adls_gen2_and_comes_back_without_passing_through_the_studio(
    page: Page, live_server, signed_in, gen2, tmp_path
):
    """The stand-in checks every user delegation SAS the browser presents, and answers its CORS
    preflights from the rule the test sets; the bytes are read back from the stand-in itself."""
    from tests.lakes.stores import READER_ID
    from tests.standins.adls_gen2 import cors_rule

    gen2.server.service_admins.add(READER_ID)
    gen2.server.cors_rules = [cors_rule(live_server.url)]
    register_gen2_on(gen2, signed_in)
    data = os.urandom(GEN2_BIG)
    local = tmp_path / "lake.bin"
    local.write_bytes(data)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    to_storage = requests_to(page, gen2.server.base_url)

    with RequestLog() as log:
        browse(page, live_server, signed_in)
        expect(page.get_by_text("Files go straight from your browser to Azure Data Lake Storage Gen2")).to_be_visible()
        upload_and_wait(page, local, "1 uploaded, 0 skipped, 0 failed.")
        assert gen2.read("lake.bin") == data

        local.write_bytes(b"something else")
        upload_and_wait(page, local, "0 uploaded, 1 skipped, 0 failed.")
        assert gen2.read("lake.bin") == data

        for size, viewport in {"desktop": (1280, 800), "phone": (390, 844)}.items():
            page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
            page.screenshot(path=str(SCREENSHOTS / f"direct-gen2-browse-{size}.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})

        assert download_from_the_list(page, "lake.bin") == data

    assert log.puts() == []  # the streaming upload route was never asked
    assert log.largest_body() < 1024  # no request to the studio carried a file
    blocks = [line for line in to_storage if line.startswith("PUT") and "comp=block&" in line]
    assert len(blocks) == 4  # three blocks of the first upload, one of the second (skipped at its commit)
    assert sum("comp=blocklist" in line for line in to_storage) == 2
    assert any(line.startswith("GET") and "/raw/lake.bin?" in line for line in to_storage)
    ended = AuditEntry.objects.filter(action=AuditAction.DIRECT_UPLOAD_ENDED).order_by("id")
    assert [(entry.outcome, entry.target) for entry in ended] == [("ok", "lake.bin"), ("skipped", "lake.bin")]
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert AuditAction.FILE_UPLOADED not in actions and AuditAction.FILE_DOWNLOADED not in actions
