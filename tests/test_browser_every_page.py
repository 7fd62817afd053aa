"""Every page in real headless Chromium at a desktop (1440x900) and a phone (390x844) size:
nothing is wider than the viewport, an axe-core scan (the npm package, injected by Playwright)
finds no serious or critical violation, and a screenshot of each is kept under
test-results/screenshots/ (not committed) for a person to look at. Then the phone's menu,
the skip link, focus on the upload buttons and Ctrl+Enter in the query box.

Storage is the real Azurite and PostgreSQL; files are made with the SDK and pyarrow."""

from __future__ import annotations

import io
import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from playwright.sync_api import Browser, Page, expect

from .support import png, register_sas, sas, sqlite_pass_only

# Screenshots and axe look at what the pages render, not at the app database: once per scripts/test.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), sqlite_pass_only("the screenshots")]

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-results" / "screenshots"
SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
BLOCKING = ("serious", "critical")


@pytest.fixture
def studio(browser: Browser, live_server, django_user_model, azurite_url, blob_service, pg, azurite_endpoint):
    """A signed-in owner with a blob datastore full of files, a SAS datastore about to expire,
    a PostgreSQL datastore and a datastore whose container is gone."""
    from datastores.access import Actor
    from datastores.services import (
        datastore_register,
        datastore_test_connection,
        workspace_create,
    )
    from datastores.storage import backend_for

    password = secrets.token_urlsafe(16)
    user = django_user_model.objects.create_user(username="grace", password=password, email="grace@example.com")
    django_user_model.objects.create_user(username="rita", email="rita@example.com")
    workspace = workspace_create(actor=Actor(user=user), name="browser-ws")
    blobstore = workspace.datastores.get(name="workspaceblobstore")
    container = blobstore.connection_settings["container_name"]
    client = blob_service.get_container_client(container)
    table = pa.table({"id": list(range(120)), "city": [f"city-{n}" for n in range(120)]})
    parquet = io.BytesIO()
    pq.write_table(table, parquet)
    files = {
        "reports/q1.csv": b"quarter,region,total\n"
        + b"".join(f"Q{n % 4 + 1},region-{n},{n * 10}\n".encode() for n in range(40)),
        "reports/chart.png": png(40, 20),
        "reports/cities.parquet": parquet.getvalue(),
        "reports/notes.txt": b"Notes for the quarter.\n" * 40,
        "reports/config.json": json.dumps({"model": "v2", "layers": [64, 32], "dropout": 0.1}).encode(),
        "reports/a-very-long-file-name-that-should-wrap-on-a-phone-screen-and-not-push-the-page-sideways.bin": b"x"
        * 2048,
        "raw/2024/events.log": b"event\n" * 100,
        "top.txt": b"top",
    }
    for path, data in files.items():
        client.upload_blob(path, data)
    datastore_test_connection(blobstore, actor=Actor(user=user))
    register_sas(
        workspace,
        container,
        azurite_endpoint,
        sas(container, expiry=datetime.now(UTC) + timedelta(days=3), read=True, list=True),
        name="expiring_sas",
    )
    pg_backend = backend_for("AzurePostgreSql")
    form = pg.form()
    datastore_register(
        workspace=workspace,
        name="pg_sales",
        storage_type="AzurePostgreSql",
        auth_type="sql_authentication",
        values=pg_backend.clean_values(
            "sql_authentication", {k: v for k, v in form.items() if k not in ("name", "storage_type", "auth_type")}
        ),
        actor=Actor(user=user),
    )
    gone = f"gone-{secrets.token_hex(4)}"
    blob_service.create_container(gone)
    register_sas(
        workspace, gone, azurite_endpoint, sas(gone, expiry=datetime.now(UTC) + timedelta(days=30)), name="vanished"
    )
    blob_service.delete_container(gone)
    add_jobs(workspace, user, blobstore)

    context = browser.new_context(bypass_csp=True)  # axe is injected as a script of its own
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Datastores")).to_be_visible()
    yield page, workspace
    context.close()


def add_jobs(workspace, user, blobstore) -> None:
    """A finished copy with skipped files, a failed one, a running one and a health check, for the
    Jobs tab (written as the workers would; no worker runs here)."""
    from jobs.models import ItemState, Job, JobItem, JobKind, JobState

    copy = {"workspace": workspace, "kind": JobKind.COPY, "started_by": user, "source": blobstore, "target": blobstore}
    done = Job.objects.create(
        **copy,
        state=JobState.DONE,
        source_path="reports",
        source_is_folder=True,
        target_path="backup/2024",
        items_total=6,
        items_done=5,
        items_skipped=1,
        bytes_total=9000,
        bytes_done=8000,
        message="Copied 5 files to workspaceblobstore:backup/2024 by the storage service. Skipped 1 file "
        "already there (overwrite was off): backup/2024/reports/q1.csv.",
    )
    JobItem.objects.create(job=done, path="reports/q1.csv", state=ItemState.SKIPPED)
    Job.objects.create(
        **copy,
        state=JobState.FAILED,
        source_path="raw",
        source_is_folder=True,
        target_path="",
        items_total=1,
        message="The SAS token is valid but lacks a permission this needs: generate one with write (w) and create (c).",
    )
    Job.objects.create(
        **copy,
        state=JobState.RUNNING,
        source_path="reports",
        source_is_folder=True,
        target_path="copy",
        items_total=6,
        items_done=2,
        bytes_total=9000,
        bytes_done=3000,
        attempt=2,
    )
    Job.objects.create(
        workspace=workspace,
        kind=JobKind.HEALTH,
        started_by=None,
        state=JobState.DONE,
        items_total=4,
        items_done=4,
        message="Tested 4 datastores: 3 passed, 1 failed (vanished).",
    )


def every_page(workspace) -> dict[str, str]:
    ws = f"/workspaces/{workspace.name}"
    blob = f"{ws}/datastores/workspaceblobstore"
    pg = f"{ws}/datastores/pg_sales"
    return {
        "workspaces": "/workspaces/",
        "datastores": f"{ws}/datastores/",
        "new-datastore": f"{ws}/new-datastore/",
        "new-datastore-postgres": f"{ws}/new-datastore/?storage_type=AzurePostgreSql",
        "members": f"{ws}/members/",
        "activity": f"{ws}/activity/",
        "jobs": f"{ws}/jobs/",
        "copy": f"{blob}/copy/?path=reports&folder=1",
        "scripts": f"{ws}/scripts/",
        "tokens": "/tokens/",
        "detail-blob": f"{blob}/",
        "detail-sas": f"{ws}/datastores/expiring_sas/",
        "update-authentication": f"{blob}/authentication/",
        "unregister": f"{blob}/unregister/",
        "browse-root": f"{blob}/browse/",
        "browse-folder": f"{blob}/browse/?path=reports",
        "preview-csv": f"{blob}/preview/?path=reports/q1.csv",
        "preview-png": f"{blob}/preview/?path=reports/chart.png",
        "preview-parquet": f"{blob}/preview/?path=reports/cities.parquet",
        "preview-text": f"{blob}/preview/?path=reports/notes.txt",
        "preview-json": f"{blob}/preview/?path=reports/config.json",
        "preview-other": f"{blob}/preview/?path=reports/"
        "a-very-long-file-name-that-should-wrap-on-a-phone-screen-and-not-push-the-page-sideways.bin",
        "move": f"{blob}/move/?path=reports/q1.csv",
        "delete-folder": f"{blob}/delete-folder/?path=raw",
        "storage-error": f"{ws}/datastores/vanished/files/missing.txt",
        "browse-error": f"{ws}/datastores/vanished/browse/",
        "tables": f"{pg}/tables/",
        "table": f"{pg}/tables/public/orders/",
        "query": f"{pg}/tables/query/?sql=SELECT+*+FROM+orders+ORDER+BY+id",
    }


def settle(page: Page) -> None:
    """Wait until htmx has loaded what the page loads into place."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "() => !document.querySelector('[aria-busy=true]') && !document.querySelector('.htmx-request')"
    )


def blocking_violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, "
        "nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    return [f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}" for v in violations if v["impact"] in BLOCKING]


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_fits_the_screen_and_passes_axe(studio, live_server, size):
    page, workspace = studio
    page.set_viewport_size(SIZES[size])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for name, path in every_page(workspace).items():
        page.goto(live_server.url + path)
        settle(page)
        if name == "query":
            page.get_by_role("button", name="Run query").click()
            expect(page.get_by_role("heading", name="Result")).to_be_visible()
        if name == "detail-blob":
            page.get_by_role("button", name="Test connection").click()
            expect(page.locator("#test-result")).to_contain_text("Connection succeeded")
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > SIZES[size]["width"]:
            problems.append(f"{name}: the page is {width} px wide in a {SIZES[size]['width']} px viewport")
        problems += [f"{name}: {violation}" for violation in blocking_violations(page)]
    assert not problems, "\n".join(problems)


def test_on_a_phone_the_menu_button_reaches_the_side_menu(studio, live_server):
    page, workspace = studio
    page.set_viewport_size(SIZES["phone"])
    page.goto(f"{live_server.url}/workspaces/{workspace.name}/datastores/workspaceblobstore/browse/?path=reports")
    settle(page)
    menu = page.get_by_role("navigation", name="Main")
    expect(menu).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(menu).to_be_visible()
    menu.get_by_role("link", name="Activity").click()
    expect(page.get_by_role("heading", name="Activity")).to_be_visible()
    # Delete and Download stay reachable on the phone, inside the screen.
    page.goto(f"{live_server.url}/workspaces/{workspace.name}/datastores/workspaceblobstore/browse/?path=reports")
    settle(page)
    delete = page.get_by_role("row").filter(has_text="q1.csv").get_by_role("button", name="Delete")
    delete.scroll_into_view_if_needed()
    expect(delete).to_be_in_viewport()
    box = delete.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= SIZES["phone"]["width"]


def test_the_skip_link_comes_first_and_every_control_shows_its_focus(studio, live_server):
    page, workspace = studio
    page.goto(f"{live_server.url}/workspaces/{workspace.name}/datastores/workspaceblobstore/browse/")
    settle(page)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.locator("#upload-files").focus()
    outline = page.evaluate("getComputedStyle(document.querySelector('label[for=upload-files]')).outlineStyle")
    assert outline == "solid"  # the upload button's label shows the focus of its hidden input


def test_ctrl_enter_runs_the_query(studio, live_server):
    page, workspace = studio
    page.goto(f"{live_server.url}/workspaces/{workspace.name}/datastores/pg_sales/tables/query/")
    page.get_by_label("SQL query").fill("SELECT count(*) AS n FROM orders")
    page.get_by_label("SQL query").press("Control+Enter")
    expect(page.locator("#query-result")).to_contain_text("250")
