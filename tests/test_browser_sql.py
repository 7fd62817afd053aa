"""A person registers a PostgreSQL datastore, opens a table, runs a query and downloads the
CSV, in real headless Chromium against the real PostgreSQL server.

Set STUDIO_SCREENSHOTS to a folder to keep a screenshot of every page on the way.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .browser import choose
from .sql.servers import create_database, drop_database, server_url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FRUIT_SETUP = """
    CREATE TABLE fruit (id integer PRIMARY KEY, name text NOT NULL, price numeric(6, 2), origin text);
    INSERT INTO fruit SELECT g, 'fruit ' || lpad(g::text, 3, '0'), g / 10.0,
        CASE WHEN g % 7 = 0 THEN NULL ELSE 'Spain' END
    FROM generate_series(1, 150) g;
    INSERT INTO fruit VALUES (151, 'banana', 0.25, 'Ecuador'), (152, 'cherry', 7.50, 'Chile, "Central"');
    ANALYZE fruit;
"""


@pytest.fixture(scope="module")
def fruit_db():
    database = create_database(server_url("STUDIO_TEST_POSTGRES_URL"), setup=FRUIT_SETUP)
    yield database
    drop_database(database)


def snapshot(page: Page, name: str) -> None:
    folder = os.environ.get("STUDIO_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}.png", full_page=False)


def read_csv(download) -> list[list[str]]:
    with open(download.path(), newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def test_a_person_registers_postgresql_opens_a_table_runs_a_query_and_downloads_csv(
    page: Page, live_server, signed_in, fruit_db
):
    workspace = signed_in.name
    page.goto(f"{live_server.url}/workspaces/{workspace}/new-datastore/")
    page.get_by_label("Datastore name").fill("pg_fruit")
    choose(page, "Storage type", "Azure Database for PostgreSQL")
    page.get_by_label("Server name").fill("local-postgres")
    page.get_by_label("Database name").fill(fruit_db.name)
    page.get_by_label("Port").fill(str(fruit_db.port))
    page.get_by_label("Endpoint").fill("127.0.0.1")
    page.get_by_label("User ID").fill(fruit_db.user)
    page.get_by_label("Password").fill(fruit_db.password)
    page.get_by_role("button", name="Register datastore").click()
    expect(page.get_by_role("heading", name="pg_fruit")).to_be_visible()
    assert fruit_db.password not in page.content()

    tabs = page.get_by_role("navigation", name="Datastore")
    tabs.get_by_role("link", name="Tables").click()
    expect(page.get_by_role("heading", name="Tables")).to_be_visible()
    expect(tabs.get_by_role("link", name="Tables")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("row").filter(has_text="fruit")).to_contain_text("≈ 152")
    snapshot(page, "1-tables")

    page.get_by_role("link", name="fruit", exact=True).click()
    expect(page.get_by_role("heading", name="fruit", exact=True)).to_be_visible()
    expect(page.get_by_text("Rows 1–100")).to_be_visible()
    expect(page.get_by_role("cell", name="fruit 001")).to_be_visible()
    expect(tabs.get_by_role("link", name="Tables")).to_have_attribute("aria-current", "page")  # the tabs stay
    snapshot(page, "2-table")
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("link", name="Next 100").click()
    expect(page.get_by_text("Rows 101–152")).to_be_visible()
    expect(page.get_by_role("cell", name="cherry")).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True  # htmx swapped the rows in place
    assert page.url.endswith("?page=2")

    with page.expect_download() as table_download:
        page.get_by_role("link", name="Download CSV").click()
    assert table_download.value.suggested_filename == "fruit.csv"
    rows = read_csv(table_download.value)
    assert rows[0] == ["id", "name", "price", "origin"] and len(rows) == 153
    assert ["152", "cherry", "7.50", 'Chile, "Central"'] in rows

    page.get_by_role("link", name="Query this table").click()
    editor = page.get_by_label("SQL query")
    expect(editor).to_have_value('SELECT * FROM "public"."fruit"')
    editor.fill("SELECT name, price, origin FROM fruit WHERE price > 14 OR name = 'cherry' ORDER BY price DESC, name")
    page.get_by_role("button", name="Run query").click()
    result = page.locator("#query-result")
    expect(result).to_contain_text("cherry")
    expect(result.get_by_role("columnheader", name="price")).to_be_visible()
    expect(result).to_contain_text("11 rows")
    expect(tabs.get_by_role("link", name="Tables")).to_have_attribute("aria-current", "page")
    snapshot(page, "3-query")

    with page.expect_download() as query_download:
        page.get_by_role("button", name="Download CSV").click()
    assert query_download.value.suggested_filename == "pg_fruit-query.csv"
    rows = read_csv(query_download.value)
    assert rows[0] == ["name", "price", "origin"] and len(rows) == 12
    assert rows[1] == ["fruit 150", "15.00", "Spain"] and ["cherry", "7.50", 'Chile, "Central"'] in rows

    editor.fill("DELETE FROM fruit")
    page.get_by_role("button", name="Run query").click()
    expect(result.get_by_role("alert")).to_contain_text("Cannot execute DELETE in a read-only transaction")
    snapshot(page, "4-refused")
    assert fruit_db.password not in page.content()
