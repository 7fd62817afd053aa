"""PostgreSQL datastores against the real PostgreSQL servers that scripts/test starts:
validation, browsing, row previews, the read-only query box and CSV downloads.

Each test session makes its own database (studio_t_<random>) owned by a login role
with a password. The test servers trust every local login, so the session adds one
pg_hba.conf line that asks the members of studio_password_users for their password:
a wrong password is then really refused by the server.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import psycopg
import pytest
from django.urls import reverse
from psycopg import sql

from datastores.models import Datastore
from datastores.storage.sql import POSTGRESQL_BACKEND, CsvStream

from .conftest import remember_secret
from .pages import field_block, tied_labels

pytestmark = pytest.mark.django_db
PASSWORD_GROUP = "studio_password_users"
ORDERS = 250


@dataclass(frozen=True)
class PgDatabase:
    url: str  # the superuser's URL of the server
    port: int
    name: str
    user: str
    password: str

    def admin(self, dbname: str | None = None) -> psycopg.Connection:
        return psycopg.connect(self.url, dbname=dbname or self.name, autocommit=True)

    def form(self, **overrides) -> dict:
        """What a person types in the New datastore form for this database."""
        return {
            "name": "pg_sales",
            "storage_type": "AzurePostgreSql",
            "auth_type": "sql_authentication",
            "server_name": "local-postgres",
            "database_name": self.name,
            "port": str(self.port),
            "endpoint": "127.0.0.1",
            "user_id": self.user,
            "password": self.password,
            **overrides,
        }


def server_url(variable: str) -> str:
    url = os.environ.get(variable)
    if not url:
        pytest.fail(f"{variable} is not set: run the suite with scripts/test, which starts PostgreSQL.")
    return url


def require_passwords(url: str) -> None:
    """Make the server ask members of PASSWORD_GROUP for their password (once per server)."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PASSWORD_GROUP}') "
            f"THEN CREATE ROLE {PASSWORD_GROUP} NOLOGIN; END IF; END $$"
        )
        rule = f"host all +{PASSWORD_GROUP} 127.0.0.1/32 scram-sha-256"
        hba_file = admin.execute("SELECT current_setting('hba_file')").fetchone()[0]
        content = admin.execute("SELECT pg_read_file(%s)", [hba_file]).fetchone()[0]
        if rule in content:
            return
        lines = [rule, *content.replace("\t", " ").splitlines()]
        admin.execute(sql.SQL("COPY (SELECT unnest({}::text[])) TO {}").format(sql.Literal(lines), sql.Literal(hba_file)))
        admin.execute("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the postmaster rereads the file asynchronously
            rules = admin.execute("SELECT count(*) FROM pg_hba_file_rules WHERE %s = ANY(user_name)", [f"+{PASSWORD_GROUP}"])
            if rules.fetchone()[0]:
                break
            time.sleep(0.05)
        time.sleep(0.2)


def create_database(url: str, *, setup: str = "") -> PgDatabase:
    """A fresh database owned by a fresh password-protected role; `setup` runs as that role."""
    require_passwords(url)
    suffix = secrets.token_hex(4)
    database = PgDatabase(
        url=url,
        port=urlsplit(url).port,
        name=f"studio_t_{suffix}",
        user=f"studio_t_{suffix}_owner",
        password=remember_secret(f"pw-{secrets.token_urlsafe(18)}"),
    )
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                sql.Identifier(database.user), sql.Literal(database.password), sql.Identifier(PASSWORD_GROUP)
            )
        )
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database.name), sql.Identifier(database.user)))
    if setup:
        with database.admin() as owner:
            owner.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(database.user)))
            owner.execute(setup)
    return database


def drop_database(database: PgDatabase) -> None:
    with psycopg.connect(database.url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database.name)))
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(database.user)))


SALES_SETUP = f'''
    CREATE TABLE orders (
        id integer PRIMARY KEY,
        customer text NOT NULL,
        amount numeric(10, 2) NOT NULL,
        placed_at timestamptz NOT NULL,
        note text
    );
    -- inserted in reverse so that only ORDER BY id gives 1, 2, 3, ...
    INSERT INTO orders
    SELECT g, 'customer ' || g, g * 1.5, timestamptz '2024-01-01 00:00Z' + g * interval '1 hour',
           CASE WHEN g % 10 = 0 THEN 'tenth' END
    FROM generate_series({ORDERS}, 1, -1) g;
    ANALYZE orders;
    CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 300;
    CREATE SCHEMA "sales ops";
    CREATE TABLE "sales ops"."Weird ""name""" ("odd col" text, "x;y" int);
    INSERT INTO "sales ops"."Weird ""name""" VALUES ('a, "quoted"' || chr(10) || 'line', 1), (NULL, 2);
    CREATE SCHEMA empty_schema;
    CREATE TABLE odd_values (id int PRIMARY KEY, at timestamptz, doc jsonb, tags text[], blob bytea, ok boolean);
    INSERT INTO odd_values VALUES (1, 'infinity', '{{"a": [1, 2]}}', '{{x,"y z"}}', decode('00ff', 'hex'), true);
    CREATE TABLE million AS SELECT g AS id, md5(g::text) AS label FROM generate_series(1, 1000000) g;
'''


@pytest.fixture(scope="session")
def pg() -> PgDatabase:
    database = create_database(server_url("STUDIO_TEST_POSTGRES_URL"), setup=SALES_SETUP)
    yield database
    drop_database(database)


@pytest.fixture(scope="session")
def pg_tls() -> PgDatabase:
    database = create_database(server_url("STUDIO_TEST_POSTGRES_TLS_URL"), setup="CREATE TABLE t (x int)")
    yield database
    drop_database(database)


@pytest.fixture
def user(django_user_model):
    """The signed-in person. The client signs in with force_login, so no password (and no slow hashing)."""
    return django_user_model.objects.create_user(username="ada")


@pytest.fixture
def register(client, workspace):
    def post(database: PgDatabase, **overrides):
        data = database.form(**overrides)
        remember_secret(data["password"])
        return client.post(reverse("datastore_new", args=[workspace.name]), data)

    return post


@pytest.fixture
def sales(register, pg, workspace) -> Datastore:
    assert register(pg).status_code == 302
    return Datastore.objects.get(workspace=workspace, name="pg_sales")


def url(name: str, datastore: Datastore, *args) -> str:
    return reverse(name, args=[datastore.workspace.name, datastore.name, *args])


def run_query(client, datastore, statement: str, **extra) -> str:
    return client.post(url("datastore_query", datastore), {"sql": statement, "row_limit": "1000", **extra}).content.decode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


# --- validation -------------------------------------------------------------------------


def test_the_right_password_registers_the_datastore(register, pg, workspace):
    response = register(pg)
    assert response.status_code == 302
    assert Datastore.objects.get(workspace=workspace, name="pg_sales").connection()["password"] == pg.password


def test_a_wrong_password_is_refused_as_failed_authentication(register, pg):
    page = register(pg, password=remember_secret("not-the-password-1")).content.decode()
    assert "Authentication failed: the server refused the user ID or password." in field_block(page, "password")
    assert not Datastore.objects.filter(name="pg_sales").exists()


def test_a_missing_database_is_named(register, pg):
    page = register(pg, database_name="no_such_db").content.decode()
    assert "The database 'no_such_db' does not exist on this server." in field_block(page, "database_name")


def test_an_unreachable_port_fails_fast_and_says_so(register, pg):
    port = free_port()
    started = time.monotonic()
    page = register(pg, port=str(port)).content.decode()
    assert time.monotonic() - started < 5
    assert f"Could not reach 127.0.0.1:{port}" in field_block(page, "server_name")


def test_a_silent_server_times_out_within_the_connect_timeout(register, pg, settings):
    settings.STORAGE_TIMEOUT_SECONDS = 2
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel accepts; nobody ever answers
        started = time.monotonic()
        page = register(pg, port=str(silent.getsockname()[1])).content.decode()
        elapsed = time.monotonic() - started
    assert elapsed < 8
    assert "Timed out after 2 s connecting to 127.0.0.1" in field_block(page, "server_name")


def test_enforce_ssl_against_a_server_without_tls_is_refused_with_a_tls_message(register, pg):
    page = register(pg, enforce_ssl="on").content.decode()
    assert "The server does not accept TLS, but this connection requires it." in field_block(page, "enforce_ssl")
    assert not Datastore.objects.filter(name="pg_sales").exists()


def test_enforce_ssl_against_the_tls_server_connects_over_tls(client, register, pg_tls, workspace):
    assert register(pg_tls, name="pg_tls", enforce_ssl="on").status_code == 302
    datastore = Datastore.objects.get(workspace=workspace, name="pg_tls")
    page = run_query(client, datastore, "SELECT ssl AS over_tls FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    assert "<th scope=\"col\">over_tls</th>" in page and "<td>t</td>" in page


def test_without_enforce_ssl_both_servers_are_accepted(register, pg, pg_tls):
    assert register(pg, name="plain").status_code == 302
    assert register(pg_tls, name="tls_preferred").status_code == 302


def test_test_connection_checks_the_stored_password_against_the_server(client, sales, pg):
    test_url = url("datastore_test_connection", sales)
    assert "Connection succeeded" in client.post(test_url, headers={"HX-Request": "true"}).content.decode()
    with pg.admin() as admin:
        admin.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(pg.user), sql.Literal(pg.password + "-changed")))
    try:
        page = client.post(test_url, headers={"HX-Request": "true"}).content.decode()
        assert "Authentication failed" in page
    finally:
        with pg.admin() as admin:
            admin.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(pg.user), sql.Literal(pg.password)))


def test_a_host_outside_the_allow_list_is_refused_before_any_connection(client, register, pg, settings):
    page = register(pg, endpoint="db.evil.example").content.decode()
    assert "is not an Azure endpoint, nor a host this studio allows" in field_block(page, "endpoint")

    # A datastore whose host was later dropped from the allow-list is not reached either.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        assert register(pg, name="was_allowed", port=str(listener.getsockname()[1]), skip_validation="on").status_code == 302
        settings.DATASTORE_ALLOWED_HOSTS = ["localhost"]
        datastore = Datastore.objects.get(name="was_allowed")
        page = client.get(url("datastore_tables", datastore)).content.decode()
        assert "not an Azure endpoint, nor a host this studio allows" in page
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody knocked


# --- browsing ---------------------------------------------------------------------------


def test_the_tables_page_lists_schemas_then_their_tables_and_views(client, sales):
    page = client.get(url("datastore_tables", sales)).content.decode()
    public, ops, empty = page.index(">public<"), page.index(">sales ops<"), page.index(">empty_schema<")
    assert public < empty < ops  # public first, then by name
    assert ">orders</a>" in page and ">big_orders</a>" in page and "Weird &quot;name&quot;</a>" in page
    orders_row = page[page.index(">orders</a>") : page.index("</tr>", page.index(">orders</a>"))]
    assert "Table" in orders_row and f"≈ {ORDERS}" in orders_row  # ANALYZE gave an estimate
    view_row = page[page.index(">big_orders</a>") : page.index("</tr>", page.index(">big_orders</a>"))]
    assert "View" in view_row and "≈" not in view_row
    assert "No tables or views in this schema." in page


def test_a_table_page_shows_its_columns_with_type_and_nullable(client, sales):
    page = client.get(url("datastore_table", sales, "public", "orders")).content.decode()
    columns = page[page.index('id="columns-heading"') :]
    for name, type_name, nullable in [
        ("id", "integer", "No"),
        ("amount", "numeric(10,2)", "No"),
        ("placed_at", "timestamp with time zone", "No"),
        ("note", "text", "Yes"),
    ]:
        row = columns[columns.index(f'<td class="mono">{name}') :]
        row = row[: row.index("</tr>")]
        assert type_name in row and f"<td>{nullable}</td>" in row
    assert 'title="Part of the primary key">Key' in columns


def test_rows_come_100_to_a_page_in_primary_key_order(client, sales):
    first = client.get(url("datastore_table", sales, "public", "orders")).content.decode()
    assert "Rows 1–100" in first
    assert "<td>customer 1</td>" in first and "<td>customer 100</td>" in first and "<td>customer 101</td>" not in first
    assert 'rel="next" href="?page=2"' in first

    last = client.get(url("datastore_table", sales, "public", "orders") + "?page=3").content.decode()
    assert "Rows 201–250" in last and "<td>customer 250</td>" in last and "<td>customer 200</td>" not in last
    assert 'rel="next"' not in last and 'rel="prev" href="?page=2"' in last


def test_htmx_pagination_swaps_only_the_rows(client, sales):
    response = client.get(
        url("datastore_table", sales, "public", "orders") + "?page=2", headers={"HX-Request": "true", "HX-Target": "rows"}
    )
    page = response.content.decode()
    assert "<html" not in page and page.lstrip().startswith('<div id="rows"')
    assert "Rows 101–200" in page and "<td>customer 101</td>" in page


def test_nulls_are_shown_as_null_not_as_empty_text(client, sales):
    page = client.get(url("datastore_table", sales, "public", "orders")).content.decode()
    assert '<td class="null">NULL</td>' in page and "<td>tenth</td>" in page


def test_values_are_shown_and_downloaded_as_the_database_writes_them(client, sales):
    page = client.get(url("datastore_table", sales, "public", "odd_values")).content.decode()
    for text in ["<td>infinity</td>", "<td>{&quot;a&quot;: [1, 2]}</td>", "<td>{x,&quot;y z&quot;}</td>", "<td>\\x00ff</td>", "<td>t</td>"]:
        assert text in page
    rows = csv_rows(client.get(url("datastore_table_csv", sales, "public", "odd_values")))
    assert rows[1] == ["1", "infinity", '{"a": [1, 2]}', '{x,"y z"}', "\\x00ff", "t"]


def test_names_with_quotes_and_spaces_are_quoted_not_interpolated(client, sales):
    table_url = url("datastore_table", sales, "sales ops", 'Weird "name"')
    page = client.get(table_url).content.decode()
    assert "Rows 1–2" in page and "odd col" in page and "x;y" in page
    rows = csv_rows(client.get(url("datastore_table_csv", sales, "sales ops", 'Weird "name"')))
    assert rows == [["odd col", "x;y"], ['a, "quoted"\nline', "1"], ["", "2"]]


def test_an_unknown_table_is_a_404_with_a_readable_message(client, sales):
    response = client.get(url("datastore_table", sales, "public", "nope; DROP TABLE orders"))
    assert response.status_code == 404
    assert "There is no table or view public.nope; DROP TABLE orders" in response.content.decode()


def test_a_storage_datastore_has_no_tables_pages(client, workspace):
    blob = Datastore.objects.get(workspace=workspace, name="workspaceblobstore")
    assert client.get(url("datastore_tables", blob)).status_code == 404
    assert client.get(url("datastore_table", blob, "public", "orders")).status_code == 404
    assert client.post(url("datastore_query", blob), {"sql": "SELECT 1"}).status_code == 404


# --- the read-only query box ------------------------------------------------------------


def test_the_query_page_has_labelled_controls_and_plain_buttons(client, sales):
    page = client.get(url("datastore_query", sales) + "?sql=SELECT+1").content.decode()
    assert tied_labels(page) == ["SQL query", "Show at most"]
    assert ">Run query</button>" in page and ">Download CSV</button>" in page
    assert "SELECT 1</textarea>" in page


def test_a_select_renders_its_rows_as_a_table(client, sales):
    page = run_query(client, sales, "SELECT id, customer FROM orders WHERE id <= 3 ORDER BY id")
    assert '<th scope="col">customer</th>' in page
    assert "<td>customer 3</td>" in page and "3 rows" in page


def test_an_htmx_run_returns_only_the_result(client, sales):
    response = client.post(
        url("datastore_query", sales), {"sql": "SELECT 42 AS answer", "row_limit": "100"}, headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert "<html" not in page and 'id="query-result"' in page and "<td class=\"number\">42</td>" in page


def test_an_insert_is_refused_by_the_read_only_transaction(client, sales, pg):
    page = run_query(client, sales, "INSERT INTO orders VALUES (999, 'x', 1, now(), NULL)")
    assert "Cannot execute INSERT in a read-only transaction" in page and "SQLSTATE 25006" in page
    with pg.admin() as admin:
        assert admin.execute("SELECT count(*) FROM orders").fetchone()[0] == ORDERS


def test_a_drop_is_refused_and_the_table_stays(client, sales, pg):
    page = run_query(client, sales, "DROP TABLE orders")
    assert "Cannot execute DROP TABLE in a read-only transaction" in page
    with pg.admin() as admin:
        assert admin.execute("SELECT to_regclass('public.orders') IS NOT NULL").fetchone()[0]


def test_a_commit_cannot_smuggle_a_write_past_the_read_only_transaction(client, sales, pg):
    page = run_query(client, sales, "COMMIT; SET default_transaction_read_only = off; DELETE FROM orders")
    assert "Cannot insert multiple commands into a prepared statement" in page
    page = run_query(client, sales, "WITH gone AS (DELETE FROM orders RETURNING id) SELECT count(*) FROM gone")
    assert "read-only transaction" in page
    with pg.admin() as admin:
        assert admin.execute("SELECT count(*) FROM orders").fetchone()[0] == ORDERS


def test_a_statement_longer_than_the_timeout_is_cancelled(client, sales, settings):
    settings.STORAGE_TIMEOUT_SECONDS = 1
    started = time.monotonic()
    page = run_query(client, sales, "SELECT pg_sleep(5)")
    assert time.monotonic() - started < 4
    assert "The statement ran longer than 1 s and the database cancelled it." in page


def test_a_syntax_error_is_shown_as_the_database_words_it(client, sales):
    page = run_query(client, sales, "SELEC id FROM orders")
    assert "Syntax error at or near &quot;SELEC&quot; (at character 1)" in page and "SQLSTATE 42601" in page


def test_an_empty_box_asks_for_a_statement(client, sales):
    assert "Type a statement to run." in field_block(run_query(client, sales, "   "), "sql")
    response = client.post(url("datastore_query", sales), {"sql": "", "row_limit": "100"}, headers={"HX-Request": "true"})
    assert "Type a statement to run." in response.content.decode()


def test_a_statement_without_rows_says_it_ran(client, sales):
    assert "The statement ran and returned no rows." in run_query(client, sales, "SET work_mem = '8MB'")


def test_the_row_limit_cuts_a_long_result_and_says_so(client, sales):
    page = run_query(client, sales, "SELECT * FROM million", row_limit="100")
    assert "100 rows shown" in page and "more than 100 rows; only the first 100 are shown" in page
    assert "<td class=\"number\">100</td>" in page and "<td class=\"number\">101</td>" not in page


# --- CSV downloads ----------------------------------------------------------------------


def test_a_table_downloads_as_csv_with_a_header_row(client, sales):
    response = client.get(url("datastore_table_csv", sales, "public", "orders"))
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="orders.csv"'
    rows = csv_rows(response)
    assert rows[0] == ["id", "customer", "amount", "placed_at", "note"]
    assert len(rows) == ORDERS + 1
    assert sorted(int(row[0]) for row in rows[1:]) == list(range(1, ORDERS + 1))
    assert ["10", "customer 10", "15.00", "2024-01-01 10:00:00+00", "tenth"] in rows


def test_a_query_result_downloads_as_csv(client, sales):
    response = client.post(url("datastore_query_csv", sales), {"sql": "SELECT id, amount FROM orders WHERE id < 4 ORDER BY id", "row_limit": "100"})
    assert response["Content-Disposition"] == 'attachment; filename="pg_sales-query.csv"'
    assert csv_rows(response) == [["id", "amount"], ["1", "1.50"], ["2", "3.00"], ["3", "4.50"]]


def test_a_query_download_that_writes_is_refused_before_the_download_starts(client, sales, pg):
    response = client.post(url("datastore_query_csv", sales), {"sql": "DELETE FROM orders RETURNING id", "row_limit": "100"})
    assert not response.streaming
    assert "The query failed" in response.content.decode()
    with pg.admin() as admin:
        assert admin.execute("SELECT count(*) FROM orders").fetchone()[0] == ORDERS


def test_a_million_row_table_streams_as_csv_in_small_chunks(client, sales):
    response = client.get(url("datastore_table_csv", sales, "public", "million"))
    lines = chunks = largest = 0
    for chunk in response.streaming_content:
        chunks += 1
        largest = max(largest, len(chunk))
        lines += chunk.count(b"\n")
    response.close()
    assert lines == 1_000_001  # header + rows
    assert chunks > 100 and largest < 1024 * 1024  # streamed, never held whole


def test_an_abandoned_download_releases_its_connection(sales, pg):
    stream = POSTGRESQL_BACKEND.stream_table_csv(sales.connection(), "public", "million")
    assert isinstance(stream, CsvStream)
    next(iter(stream))
    stream.close()
    with pg.admin() as admin:
        deadline = time.monotonic() + 5
        while admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = 'datastore-studio'", [pg.name]
        ).fetchone()[0]:
            assert time.monotonic() < deadline, "the studio's session is still open"
            time.sleep(0.05)
