"""What PostgreSQL and MySQL datastores share, each test run once per engine against the
real PostgreSQL and MariaDB servers that scripts/test starts: validation, browsing, row
previews, the read-only query box and CSV downloads.

Where the engines word things differently (their error messages, their column types),
the `engine` fixture holds each one's own words, so every run asserts exactly what its
server says. What only one engine has is in test_sql_postgres.py and test_sql_mysql.py;
the databases themselves are made in tests/sql/servers.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from datastores.models import Datastore
from datastores.storage.sql.base import SqlBackend
from datastores.storage.sql.mysql import BACKEND as MYSQL_BACKEND
from datastores.storage.sql.postgres import BACKEND as POSTGRESQL_BACKEND
from datastores.storage.tables import CsvStream
from tests.pages import field_block
from tests.support import free_port, remember_secret

from .servers import (
    ORDERS,
    MariaDatabase,
    PgDatabase,
    csv_rows,
    listed_row,
    run_query,
    url,
)

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Engine:
    """One engine's database, backend and own words, for the tests both engines share."""

    database: PgDatabase | MariaDatabase
    backend: SqlBackend
    schema: str  # where the sales tables are: a PostgreSQL schema, or the MySQL database itself
    odd_table: tuple[str, str]  # (schema, table) of the table whose name needs quoting
    odd_table_link: str  # its link on the tables page, as HTML
    orders_columns: list[tuple[str, str, str]]  # (name, type, nullable) as the table page shows them
    orders_csv_header: list[str]
    orders_csv_rows: list[list[str]]  # a few of the rows a download holds
    insert_order: str
    insert_refused: list[str]  # what the page says when the read-only transaction refuses the insert
    drop_refused: str
    sleep_5_seconds: str


@pytest.fixture(params=["postgres", "mysql"])
def engine(request) -> Engine:
    if request.param == "postgres":
        pg = request.getfixturevalue("pg")
        return Engine(
            database=pg,
            backend=POSTGRESQL_BACKEND,
            schema="public",
            odd_table=("sales ops", 'Weird "name"'),
            odd_table_link=">Weird &quot;name&quot;</a>",
            orders_columns=[
                ("id", "integer", "No"),
                ("amount", "numeric(10,2)", "No"),
                ("placed_at", "timestamp with time zone", "No"),
                ("note", "text", "Yes"),
            ],
            orders_csv_header=["id", "customer", "amount", "placed_at", "note"],
            orders_csv_rows=[
                ["1", "customer 1", "1.50", "2024-01-01 01:00:00+00", ""],
                ["10", "customer 10", "15.00", "2024-01-01 10:00:00+00", "tenth"],
            ],
            insert_order="INSERT INTO orders VALUES (999, 'x', 1, now(), NULL)",
            insert_refused=["Cannot execute INSERT in a read-only transaction", "SQLSTATE 25006"],
            drop_refused="Cannot execute DROP TABLE in a read-only transaction",
            sleep_5_seconds="SELECT pg_sleep(5)",
        )
    maria = request.getfixturevalue("maria")
    return Engine(
        database=maria,
        backend=MYSQL_BACKEND,
        schema=maria.name,
        odd_table=(maria.name, "odd `name`"),
        odd_table_link=">odd `name`</a>",
        orders_columns=[
            ("id", "int", "No"),
            ("customer", "varchar(40)", "No"),
            ("amount", "decimal(10,2)", "No"),
            ("note", "text", "Yes"),
        ],
        orders_csv_header=["id", "customer", "amount", "note"],
        orders_csv_rows=[["1", "customer 1", "1.50", ""], ["10", "customer 10", "15.00", "tenth"]],
        insert_order="INSERT INTO orders VALUES (999, 'x', 1, NULL)",
        insert_refused=["Cannot execute statement in a READ ONLY transaction [MySQL error 1792]"],
        drop_refused="Cannot execute statement in a READ ONLY transaction",
        sleep_5_seconds="SELECT SLEEP(5)",
    )


@pytest.fixture
def sales(register, engine, workspace) -> Datastore:
    assert register(engine.database).status_code == 302
    return Datastore.objects.get(workspace=workspace, name=engine.database.datastore_name)


# --- validation -------------------------------------------------------------------------


def test_the_right_password_registers_the_datastore(register, engine, workspace):
    assert register(engine.database).status_code == 302
    stored = Datastore.objects.get(workspace=workspace, name=engine.database.datastore_name).connection()
    assert stored["user_id"] == engine.database.user and stored["password"] == engine.database.password


def test_a_wrong_password_is_refused_as_failed_authentication(register, engine):
    page = register(engine.database, password=remember_secret("not-the-password-1")).content.decode()
    assert "Authentication failed: the server refused the user ID or password." in field_block(page, "password")
    assert not Datastore.objects.filter(name=engine.database.datastore_name).exists()


def test_a_missing_database_is_named(register, engine):
    missing = engine.database.name + "_missing"
    page = register(engine.database, database_name=missing).content.decode()
    assert f"The database '{missing}' does not exist on this server." in field_block(page, "database_name")


def test_an_unreachable_port_fails_fast_and_says_so(register, engine):
    port = free_port()
    started = time.monotonic()
    page = register(engine.database, port=str(port)).content.decode()
    assert time.monotonic() - started < 5
    assert f"127.0.0.1:{port} could not be reached" in field_block(page, "server_name")


def test_a_silent_server_times_out_within_the_connect_timeout(register, engine, settings, silent_port):
    settings.STORAGE_TIMEOUT_SECONDS = 2
    started = time.monotonic()
    page = register(engine.database, port=str(silent_port)).content.decode()
    elapsed = time.monotonic() - started
    assert elapsed < 8
    assert f"127.0.0.1:{silent_port} could not be reached" in field_block(page, "server_name")


# --- browsing ---------------------------------------------------------------------------


def test_the_tables_page_lists_tables_and_views(client, engine, sales):
    page = client.get(url("datastore_tables", sales), {"listing": "1"}).content.decode()
    assert f">{engine.schema}<" in page
    orders_row = listed_row(page, "orders")
    assert "Table" in orders_row and "≈ " in orders_row  # ANALYZE gave an estimate
    view_row = listed_row(page, "big_orders")
    assert "View" in view_row and "≈" not in view_row
    assert engine.odd_table_link in page


def test_a_table_page_shows_its_columns_with_type_and_nullable(client, engine, sales):
    page = client.get(url("datastore_table", sales, engine.schema, "orders")).content.decode()
    columns = page[page.index('id="columns-heading"') :]
    for name, type_name, nullable in engine.orders_columns:
        row = columns[columns.index(f'<td class="mono">{name}') :]
        row = row[: row.index("</tr>")]
        assert type_name in row and f"<td>{nullable}</td>" in row
    assert 'title="Part of the primary key">Key' in columns


def test_rows_come_100_to_a_page_in_primary_key_order(client, engine, sales):
    first = client.get(url("datastore_table", sales, engine.schema, "orders")).content.decode()
    assert "Rows 1–100" in first
    assert "<td>customer 1</td>" in first and "<td>customer 100</td>" in first and "<td>customer 101</td>" not in first
    assert 'rel="next" href="?page=2"' in first

    last = client.get(url("datastore_table", sales, engine.schema, "orders") + "?page=3").content.decode()
    assert "Rows 201–250" in last and "<td>customer 250</td>" in last and "<td>customer 200</td>" not in last
    assert 'rel="next"' not in last and 'rel="prev" href="?page=2"' in last


def test_htmx_pagination_swaps_only_the_rows(client, engine, sales):
    response = client.get(
        url("datastore_table", sales, engine.schema, "orders") + "?page=2",
        headers={"HX-Request": "true", "HX-Target": "rows"},
    )
    page = response.content.decode()
    assert "<html" not in page and page.lstrip().startswith('<div id="rows"')
    assert "Rows 101–200" in page and "<td>customer 101</td>" in page


def test_nulls_are_shown_as_null_not_as_empty_text(client, engine, sales):
    page = client.get(url("datastore_table", sales, engine.schema, "orders")).content.decode()
    assert '<td class="null">NULL</td>' in page and "<td>tenth</td>" in page


def test_names_with_quotes_and_spaces_are_quoted_not_interpolated(client, engine, sales):
    page = client.get(url("datastore_table", sales, *engine.odd_table)).content.decode()
    assert "Rows 1–2" in page and "odd col" in page and "x;y" in page
    rows = csv_rows(client.get(url("datastore_table_csv", sales, *engine.odd_table)))
    assert rows == [["odd col", "x;y"], ['a, "quoted"\nline', "1"], ["", "2"]]


# --- the read-only query box ------------------------------------------------------------


def test_a_select_renders_its_rows_as_a_table(client, sales):
    page = run_query(client, sales, "SELECT id, customer FROM orders WHERE id <= 3 ORDER BY id")
    assert '<th scope="col">customer</th>' in page
    assert "<td>customer 3</td>" in page and "3 rows" in page


def test_an_insert_is_refused_by_the_read_only_transaction(client, engine, sales):
    page = run_query(client, sales, engine.insert_order)
    for text in engine.insert_refused:
        assert text in page
    assert engine.database.count() == ORDERS


def test_a_drop_is_refused_and_the_table_stays(client, engine, sales):
    page = run_query(client, sales, "DROP TABLE orders")
    assert engine.drop_refused in page
    assert engine.database.count() == ORDERS


def test_a_statement_longer_than_the_timeout_is_cancelled(client, engine, sales, settings):
    settings.STORAGE_TIMEOUT_SECONDS = 1
    started = time.monotonic()
    page = run_query(client, sales, engine.sleep_5_seconds)
    assert time.monotonic() - started < 4
    assert "The statement ran longer than 1 s and the database cancelled it." in page


def test_the_row_limit_cuts_a_long_result_and_says_so(client, sales):
    page = run_query(client, sales, "SELECT id FROM million ORDER BY id", row_limit="100")
    assert "100 rows shown" in page and "more than 100 rows; only the first 100 are shown" in page
    assert '<td class="number">100</td>' in page and '<td class="number">101</td>' not in page


# --- CSV downloads ----------------------------------------------------------------------


def test_a_table_downloads_as_csv_with_a_header_row(client, engine, sales):
    response = client.get(url("datastore_table_csv", sales, engine.schema, "orders"))
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="orders.csv"'
    rows = csv_rows(response)
    assert rows[0] == engine.orders_csv_header
    assert len(rows) == ORDERS + 1
    assert sorted(int(row[0]) for row in rows[1:]) == list(range(1, ORDERS + 1))
    for row in engine.orders_csv_rows:
        assert row in rows


def test_a_query_result_downloads_as_csv(client, engine, sales):
    response = client.post(
        url("datastore_query_csv", sales),
        {"sql": "SELECT id, amount FROM orders WHERE id < 4 ORDER BY id", "row_limit": "100"},
    )
    assert response["Content-Disposition"] == f'attachment; filename="{engine.database.datastore_name}-query.csv"'
    assert csv_rows(response) == [["id", "amount"], ["1", "1.50"], ["2", "3.00"], ["3", "4.50"]]


def test_a_million_row_table_streams_as_csv_in_small_chunks(client, engine, sales):
    response = client.get(url("datastore_table_csv", sales, engine.schema, "million"))
    lines = chunks = largest = 0
    for chunk in response.streaming_content:
        chunks += 1
        largest = max(largest, len(chunk))
        lines += chunk.count(b"\n")
    response.close()
    assert lines == 1_000_001  # header + rows
    assert chunks > 100 and largest < 1024 * 1024  # streamed, never held whole


def test_an_abandoned_download_stops_and_releases_its_connection(engine, sales):
    stream = engine.backend.stream_table_csv(sales.connection(), engine.schema, "million")
    assert isinstance(stream, CsvStream)
    next(iter(stream))
    stream.close()
    deadline = time.monotonic() + 5
    while engine.database.open_sessions():
        assert time.monotonic() < deadline, "the studio's session is still open"
        time.sleep(0.05)
