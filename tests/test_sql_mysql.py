"""MySQL datastores against the real MariaDB server that scripts/test starts (root/root over
TCP): validation, browsing, row previews, the read-only query box and CSV downloads.

Each test session makes its own database and user (studio_t_<random>) with a password.
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

import pymysql
import pytest
from django.urls import reverse

from datastores.choices import AuthType
from datastores.models import Datastore
from datastores.storage import Connection
from datastores.storage.sql import MYSQL_BACKEND

from .conftest import remember_secret
from .pages import field_block

pytestmark = pytest.mark.django_db
ORDERS = 250


@dataclass(frozen=True)
class MariaDatabase:
    port: int
    root_password: str
    name: str
    user: str
    password: str

    def root(self) -> pymysql.connections.Connection:
        return pymysql.connect(
            host="127.0.0.1", port=self.port, user="root", password=self.root_password, database=self.name, autocommit=True
        )

    def count(self, table: str = "orders") -> int:
        with self.root() as db, db.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM `{table}`")
            return cursor.fetchone()[0]

    def form(self, **overrides) -> dict:
        return {
            "name": "maria_sales",
            "storage_type": "AzureMySql",
            "auth_type": "sql_authentication",
            "server_name": "local-mariadb",
            "database_name": self.name,
            "port": str(self.port),
            "endpoint": "127.0.0.1",
            "user_id": self.user,
            "password": self.password,
            **overrides,
        }


SETUP = [
    """CREATE TABLE orders (
        id INT PRIMARY KEY,
        customer VARCHAR(40) NOT NULL,
        amount DECIMAL(10, 2) NOT NULL,
        note TEXT NULL
    )""",
    f"""INSERT INTO orders SELECT seq, CONCAT('customer ', seq), seq * 1.5, IF(seq % 10 = 0, 'tenth', NULL)
        FROM seq_{ORDERS}_to_1_step_1""",
    "ANALYZE TABLE orders",
    "CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 300",
    "CREATE TABLE `odd ``name``` (`a;b` INT)",
    "INSERT INTO `odd ``name``` VALUES (1), (2)",
    "CREATE TABLE million (id INT PRIMARY KEY, label CHAR(32))",
    "INSERT INTO million SELECT seq, MD5(seq) FROM seq_1_to_1000000",
]


@pytest.fixture(scope="session")
def maria() -> MariaDatabase:
    url = os.environ.get("STUDIO_TEST_MYSQL_URL")
    if not url:
        pytest.fail("STUDIO_TEST_MYSQL_URL is not set: run the suite with scripts/test, which starts MariaDB.")
    parts = urlsplit(url)
    suffix = secrets.token_hex(4)
    database = MariaDatabase(
        port=parts.port,
        root_password=parts.password,  # "root": the same as the user name, so not a secret to look for
        name=f"studio_t_{suffix}",
        user=f"studio_t_{suffix}",
        password=remember_secret(f"pw-{secrets.token_urlsafe(18)}"),
    )
    with pymysql.connect(host="127.0.0.1", port=parts.port, user="root", password=parts.password, autocommit=True) as root:
        with root.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{database.name}`")
            cursor.execute(f"CREATE USER '{database.user}'@'127.0.0.1' IDENTIFIED BY %s", (database.password,))
            # Every database whose name starts with this one's, so a missing one is "unknown", not "denied".
            cursor.execute(f"GRANT ALL ON `{database.name.replace('_', chr(92) + '_')}%`.* TO '{database.user}'@'127.0.0.1'")
            cursor.execute(f"USE `{database.name}`")
            for statement in SETUP:
                cursor.execute(statement)
    yield database
    with pymysql.connect(host="127.0.0.1", port=parts.port, user="root", password=parts.password, autocommit=True) as root:
        with root.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{database.name}`")
            cursor.execute(f"DROP USER IF EXISTS '{database.user}'@'127.0.0.1'")


@pytest.fixture
def user(django_user_model):
    """The signed-in person. The client signs in with force_login, so no password (and no slow hashing)."""
    return django_user_model.objects.create_user(username="ada")


@pytest.fixture
def register(client, workspace):
    def post(database: MariaDatabase, **overrides):
        data = database.form(**overrides)
        remember_secret(data["password"])
        return client.post(reverse("datastore_new", args=[workspace.name]), data)

    return post


@pytest.fixture
def sales(register, maria, workspace) -> Datastore:
    assert register(maria).status_code == 302
    return Datastore.objects.get(workspace=workspace, name="maria_sales")


def url(name: str, datastore: Datastore, *args) -> str:
    return reverse(name, args=[datastore.workspace.name, datastore.name, *args])


def run_query(client, datastore, statement: str, row_limit: str = "1000") -> str:
    return client.post(url("datastore_query", datastore), {"sql": statement, "row_limit": row_limit}).content.decode()


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


# --- validation -------------------------------------------------------------------------


def test_the_right_password_registers_the_datastore(register, maria, workspace):
    assert register(maria).status_code == 302
    assert Datastore.objects.get(workspace=workspace, name="maria_sales").connection()["user_id"] == maria.user


def test_a_wrong_password_is_refused_as_failed_authentication(register, maria):
    page = register(maria, password=remember_secret("not-the-password-2")).content.decode()
    assert "Authentication failed: the server refused the user ID or password." in field_block(page, "password")
    assert not Datastore.objects.filter(name="maria_sales").exists()


def test_a_missing_database_is_named(register, maria):
    missing = maria.name + "_missing"
    page = register(maria, database_name=missing).content.decode()
    assert f"The database '{missing}' does not exist on this server." in field_block(page, "database_name")


def test_an_unreachable_port_fails_fast_and_says_so(register, maria):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    page = register(maria, port=str(port)).content.decode()
    assert time.monotonic() - started < 5
    assert f"Could not reach 127.0.0.1:{port}" in field_block(page, "server_name")


def test_a_silent_server_times_out_within_the_connect_timeout(register, maria, settings):
    settings.STORAGE_TIMEOUT_SECONDS = 2
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        started = time.monotonic()
        page = register(maria, port=str(silent.getsockname()[1])).content.decode()
        elapsed = time.monotonic() - started
    assert elapsed < 8
    assert "Timed out after 2 s connecting to 127.0.0.1" in field_block(page, "server_name")


def test_azure_servers_get_verified_tls_and_local_ones_use_it_when_offered():
    values = {"server_name": "sales", "database_name": "shop", "port": 3306, "user_id": "reader", "password": "pw"}
    azure = Connection("AzureMySql", AuthType.SQL_AUTHENTICATION, {**values, "endpoint": "mysql.database.azure.com"})
    kwargs = MYSQL_BACKEND.connect_kwargs(azure)
    assert kwargs["host"] == "sales.mysql.database.azure.com" and kwargs["connect_timeout"] <= 10
    assert kwargs["ssl_verify_cert"] and kwargs["ssl_verify_identity"] and os.path.exists(kwargs["ssl_ca"])
    local = Connection("AzureMySql", AuthType.SQL_AUTHENTICATION, {**values, "endpoint": "127.0.0.1"})
    kwargs = MYSQL_BACKEND.connect_kwargs(local)
    assert kwargs["host"] == "127.0.0.1" and "ssl_ca" not in kwargs  # PyMySQL's "preferred" TLS


# --- browsing -----------------------------------------------------------------------------


def test_the_tables_page_lists_the_database_with_its_tables_and_views(client, sales, maria):
    page = client.get(url("datastore_tables", sales)).content.decode()
    assert f">{maria.name}<" in page
    orders_row = page[page.index(">orders</a>") : page.index("</tr>", page.index(">orders</a>"))]
    assert "Table" in orders_row and "≈ " in orders_row
    view_row = page[page.index(">big_orders</a>") : page.index("</tr>", page.index(">big_orders</a>"))]
    assert "View" in view_row and "≈" not in view_row
    assert ">odd `name`</a>" in page


def test_a_table_page_shows_columns_and_rows_100_to_a_page(client, sales):
    first = client.get(url("datastore_table", sales, sales.connection()["database_name"], "orders")).content.decode()
    assert "decimal(10,2)" in first and "varchar(40)" in first
    assert "Rows 1–100" in first and "<td>customer 1</td>" in first and "<td>customer 101</td>" not in first
    assert '<td class="null">NULL</td>' in first

    last = client.get(url("datastore_table", sales, sales.connection()["database_name"], "orders") + "?page=3",
                      headers={"HX-Request": "true", "HX-Target": "rows"}).content.decode()
    assert "<html" not in last and "Rows 201–250" in last and 'rel="next"' not in last


def test_backticks_in_names_are_escaped_not_interpolated(client, sales):
    database = sales.connection()["database_name"]
    page = client.get(url("datastore_table", sales, database, "odd `name`")).content.decode()
    assert "Rows 1–2" in page and "a;b" in page


# --- the read-only query box --------------------------------------------------------------


def test_a_select_renders_its_rows(client, sales):
    page = run_query(client, sales, "SELECT id, customer FROM orders WHERE id <= 3 ORDER BY id")
    assert "<td>customer 3</td>" in page and "3 rows" in page


def test_an_insert_is_refused_by_the_read_only_transaction(client, sales, maria):
    page = run_query(client, sales, "INSERT INTO orders VALUES (999, 'x', 1, NULL)")
    assert "Cannot execute statement in a READ ONLY transaction [MySQL error 1792]" in page
    assert maria.count() == ORDERS


def test_a_drop_is_refused_and_the_table_stays(client, sales, maria):
    page = run_query(client, sales, "DROP TABLE orders")
    assert "Cannot execute statement in a READ ONLY transaction" in page
    assert maria.count() == ORDERS


def test_two_statements_at_once_are_refused(client, sales, maria):
    page = run_query(client, sales, "COMMIT; DELETE FROM orders")
    assert "You have an error in your SQL syntax" in page and "[MySQL error 1064]" in page
    assert maria.count() == ORDERS


def test_a_statement_longer_than_the_timeout_is_cancelled(client, sales, settings):
    settings.STORAGE_TIMEOUT_SECONDS = 1
    started = time.monotonic()
    page = run_query(client, sales, "SELECT SLEEP(5)")
    assert time.monotonic() - started < 4
    assert "The statement ran longer than 1 s and the database cancelled it." in page


def test_the_row_limit_is_applied_by_the_server(client, sales):
    page = run_query(client, sales, "SELECT id FROM million ORDER BY id", row_limit="100")
    assert "100 rows shown" in page and "<td class=\"number\">100</td>" in page and "<td class=\"number\">101</td>" not in page


# --- CSV downloads ------------------------------------------------------------------------


def test_a_table_downloads_as_csv(client, sales):
    response = client.get(url("datastore_table_csv", sales, sales.connection()["database_name"], "orders"))
    assert response["Content-Disposition"] == 'attachment; filename="orders.csv"'
    rows = csv_rows(response)
    assert rows[0] == ["id", "customer", "amount", "note"] and len(rows) == ORDERS + 1
    assert ["10", "customer 10", "15.00", "tenth"] in rows and ["1", "customer 1", "1.50", ""] in rows


def test_a_query_result_downloads_as_csv(client, sales):
    response = client.post(url("datastore_query_csv", sales), {"sql": "SELECT id FROM orders WHERE id < 3 ORDER BY id", "row_limit": "100"})
    assert csv_rows(response) == [["id"], ["1"], ["2"]]


def test_a_million_row_table_streams_as_csv_in_small_chunks(client, sales):
    response = client.get(url("datastore_table_csv", sales, sales.connection()["database_name"], "million"))
    lines = chunks = largest = 0
    for chunk in response.streaming_content:
        chunks += 1
        largest = max(largest, len(chunk))
        lines += chunk.count(b"\n")
    response.close()
    assert lines == 1_000_001 and chunks > 100 and largest < 1024 * 1024


def test_an_abandoned_download_stops_the_server_sending(sales, maria):
    stream = MYSQL_BACKEND.stream_table_csv(sales.connection(), maria.name, "million")
    next(iter(stream))
    stream.close()
    with maria.root() as db, db.cursor() as cursor:
        deadline = time.monotonic() + 5
        while True:
            cursor.execute("SELECT count(*) FROM information_schema.PROCESSLIST WHERE USER = %s", (maria.user,))
            if cursor.fetchone()[0] == 0:
                break
            assert time.monotonic() < deadline, "the studio's session is still open"
            time.sleep(0.05)
