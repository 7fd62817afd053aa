"""Steps a person takes in real headless Chromium, shared by the browser tests (no tests here)."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

# The local folder a person uploads in the file tests.
FILES = {
    "train.csv": b"x,y\n" + b"1,2\n" * 5000,
    "notes/readme.txt": b"hello",
    "notes/deep/model.bin": bytes(range(256)) * 4000,
}


def choose(page: Page, label: str, option: str) -> None:
    """Pick an option and wait until htmx has swapped in and wired up the new fields,
    as a person's next click would."""
    page.evaluate(
        "() => { window.swapLoaded = new Promise(done => "
        "document.body.addEventListener('htmx:load', () => done(true), {once: true})); }"
    )
    page.get_by_label(label).select_option(label=option)
    swapped = page.evaluate(
        "Promise.race([window.swapLoaded, new Promise(done => setTimeout(() => done(false), 10000))])"
    )
    assert swapped, f"choosing {option!r} in {label!r} swapped nothing in"


def wait_for_listing_refresh(page: Page) -> None:
    """After an upload's summary, upload.js refreshes the listing through htmx (the target carries
    htmx-request meanwhile): wait for it, as a person sees the new rows before clicking one."""
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_local_folder(parent: Path) -> Path:
    root = parent / "dataset"
    for relative, data in FILES.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    return root


def register_files_datastore(page: Page, live_server, workspace, fields: dict) -> None:
    """Fill the New datastore form with `fields` (label: value) as "files" and register it."""
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


def upload_browse_download_and_delete(
    page: Page,
    live_server,
    workspace,
    local_folder: Path,
    fields: dict,
    stored_bytes: Callable[[str], bytes],
    stored_names: Callable[[], list[str]],
) -> None:
    """Register a files datastore, upload a folder twice (the second time everything is skipped),
    open it, download a file and the folder as a zip, and delete a file; at each step what
    storage holds (`stored_bytes`, `stored_names`) is checked."""
    register_files_datastore(page, live_server, workspace, fields)
    page.get_by_role("link", name="Browse", exact=True).click()
    expect(page.get_by_text("This folder is empty.")).to_be_visible()

    page.get_by_label("Target path").fill("incoming")
    page.set_input_files("#upload-folder", local_folder)
    expect(page.locator("progress.overall")).to_be_visible()
    expect(page.get_by_text("3 uploaded, 0 skipped, 0 failed.")).to_be_visible()
    wait_for_listing_refresh(page)
    assert stored_names() == sorted(f"incoming/dataset/{name}" for name in FILES)
    assert stored_bytes("incoming/dataset/notes/deep/model.bin") == FILES["notes/deep/model.bin"]

    page.get_by_label("Target path").fill("incoming")
    page.set_input_files("#upload-folder", local_folder)
    expect(page.get_by_text("0 uploaded, 3 skipped, 0 failed.")).to_be_visible()
    expect(page.get_by_text("Skipped (already there; tick Overwrite to replace):")).to_be_visible()
    expect(page.locator(".upload-summary li")).to_have_count(3)
    skipped = sorted(page.locator(".upload-summary li").all_text_contents())  # one per line
    assert skipped == sorted(f"incoming/dataset/{name}" for name in FILES)
    wait_for_listing_refresh(page)

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
