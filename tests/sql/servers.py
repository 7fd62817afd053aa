"""The databases and helpers the SQL datastore tests share (no tests and no fixtures here).

scripts/test starts a real PostgreSQL server (and a second one with TLS) and a real
MariaDB server. Each test session makes its own database on them, with a sales table
of ORDERS orders, a view, a table whose name needs quoting and a million-row table, and
a login that has a password:

- PostgreSQL: a database (studio_t_<random>) owned by a login role. The test servers
  trust every local login, so the session adds one pg_hba.conf line that asks the
  members of studio_password_users for their password: a wrong password is then
  really refused by the server.
- MariaDB (root/root over TCP): a database and a user (studio_t_<random>).

The fixtures `pg`, `pg_tls`, `maria` and `register` (conftest.py beside this file) build on these.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast
from urllib.parse import urlsplit

import psycopg
import pymysql
import pytest
from django.urls import reverse
from psycopg import sql

from datastores.models import Datastore
from datastores.storage.sql.base import APPLICATION_NAME
from tests.support import remember_secret

ORDERS = 250
PASSWORD_GROUP = "studio_password_users"


def server_url(variable: str) -> str:
    url = os.environ.get(variable)
    if not url:
        pytest.fail(f"{variable} is not set: run the suite with scripts/test, which starts PostgreSQL and MariaDB.")
    return url


def new_password() -> str:
    return remember_secret(f"pw-{secrets.token_urlsafe(18)}")


@dataclass(frozen=True, kw_only=True)
class SqlDatabase:
    """A database on one of the test servers, and a login with a password for it."""

    datastore_name: ClassVar[str]  # what the tests register it as
    storage_type: ClassVar[str]
    server_name: ClassVar[str]
    port: int
    name: str
    user: str
    password: str = field(repr=False)  # kept out of test reports

    def form(self, **overrides) -> dict:
        """What a person types in the New datastore form for this database."""
        return {
            "name": self.datastore_name,
            "storage_type": self.storage_type,
            "auth_type": "sql_authentication",
            "server_name": self.server_name,
            "database_name": self.name,
            "port": str(self.port),
            "endpoint": "127.0.0.1",
            "user_id": self.user,
            "password": self.password,
            **overrides,
        }


# --- PostgreSQL -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PgDatabase(SqlDatabase):
    datastore_name = "pg_sales"
    storage_type = "AzurePostgreSql"
    server_name = "local-postgres"
    url: str  # the superuser's URL of the server

    def admin(self, dbname: str | None = None) -> psycopg.Connection:
        return psycopg.connect(self.url, dbname=dbname or self.name, autocommit=True)

    def count(self, table: str = "orders") -> int:
        with self.admin() as admin:
            return first_value(
                admin.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
            )

    def open_sessions(self) -> int:
        """The studio's sessions on this database, as the server sees them."""
        with self.admin() as admin:
            return first_value(
                admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
                    [self.name, APPLICATION_NAME],
                ).fetchone()
            )


def first_value(row: Sequence[Any] | None) -> Any:
    """The first column of the one row a query always answers (a count, a setting)."""
    assert row is not None, "the query answered no row"
    return row[0]


def require_passwords(url: str) -> None:
    """Make the server ask members of PASSWORD_GROUP for their password (once per server)."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PASSWORD_GROUP}') "
            f"THEN CREATE ROLE {PASSWORD_GROUP} NOLOGIN; END IF; END $$"
        )
        rule = f"host all +{PASSWORD_GROUP} 127.0.0.1/32 scram-sha-256"
        hba_file = first_value(admin.execute("SELECT current_setting('hba_file')").fetchone())
        content = first_value(admin.execute("SELECT pg_read_file(%s)", [hba_file]).fetchone())
        if rule in content:
            return
        lines = [rule, *content.replace("\t", " ").splitlines()]
        admin.execute(
            sql.SQL("COPY (SELECT unnest({}::text[])) TO {}").format(sql.Literal(lines), sql.Literal(hba_file))
        )
        admin.execute("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the postmaster rereads the file asynchronously
            rules = admin.execute(
                "SELECT count(*) FROM pg_hba_file_rules WHERE %s = ANY(user_name)", [f"+{PASSWORD_GROUP}"]
            )
            if first_value(rules.fetchone()):
                break
            time.sleep(0.05)
        time.sleep(0.2)


def create_database(url: str, *, setup: str = "") -> PgDatabase:
    """A fresh database owned by a fresh password-protected role; `setup` runs as that role."""
    require_passwords(url)
    suffix = secrets.token_hex(4)
    database = PgDatabase(
        url=url,
        port=cast(int, urlsplit(url).port),  # the test URLs name their port
        name=f"studio_t_{suffix}",
        user=f"studio_t_{suffix}_owner",
        password=new_password(),
    )
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                sql.Identifier(database.user), sql.Literal(database.password), sql.Identifier(PASSWORD_GROUP)
            )
        )
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database.name), sql.Identifier(database.user))
        )
    if setup:
        with database.admin() as owner:
            owner.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(database.user)))
            owner.execute(setup)
    return database


def drop_database(database: PgDatabase) -> None:
    with psycopg.connect(database.url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database.name)))
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(database.user)))


PG_SALES_SETUP = f'''
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


# --- MariaDB --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MariaDatabase(SqlDatabase):
    datastore_name = "maria_sales"
    storage_type = "AzureMySql"
    server_name = "local-mariadb"
    root_password: str

    def root(self) -> pymysql.connections.Connection:
        return pymysql.connect(
            host="127.0.0.1",
            port=self.port,
            user="root",
            password=self.root_password,
            database=self.name,
            autocommit=True,
        )

    def count(self, table: str = "orders") -> int:
        with self.root() as db, db.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM `{table}`")
            return first_value(cursor.fetchone())

    def open_sessions(self) -> int:
        """The studio's sessions on this server, as the server sees them."""
        with self.root() as db, db.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM information_schema.PROCESSLIST WHERE USER = %s", (self.user,))
            return first_value(cursor.fetchone())


MARIA_SALES_SETUP = [
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
    "CREATE TABLE `odd ``name``` (`odd col` TEXT, `x;y` INT)",
    """INSERT INTO `odd ``name``` VALUES (CONCAT('a, "quoted"', CHAR(10), 'line'), 1), (NULL, 2)""",
    "CREATE TABLE million (id INT PRIMARY KEY, label CHAR(32))",
    "INSERT INTO million SELECT seq, MD5(seq) FROM seq_1_to_1000000",
]


def maria_root(url: str) -> pymysql.connections.Connection:
    parts = urlsplit(url)
    assert parts.port is not None and parts.password is not None, "the test URL names its port and password"
    return pymysql.connect(host="127.0.0.1", port=parts.port, user="root", password=parts.password, autocommit=True)


def create_maria_database(url: str) -> MariaDatabase:
    """A fresh database with the sales tables, and a user with a password who may use it."""
    parts = urlsplit(url)
    assert parts.port is not None and parts.password is not None, "the test URL names its port and password"
    suffix = secrets.token_hex(4)
    database = MariaDatabase(
        port=parts.port,
        root_password=parts.password,  # "root": the same as the user name, so not a secret to look for
        name=f"studio_t_{suffix}",
        user=f"studio_t_{suffix}",
        password=new_password(),
    )
    with maria_root(url) as root, root.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{database.name}`")
        cursor.execute(f"CREATE USER '{database.user}'@'127.0.0.1' IDENTIFIED BY %s", (database.password,))
        # Every database whose name starts with this one's, so a missing one is "unknown", not "denied".
        cursor.execute(
            f"GRANT ALL ON `{database.name.replace('_', chr(92) + '_')}%`.* TO '{database.user}'@'127.0.0.1'"
        )
        cursor.execute(f"USE `{database.name}`")
        for statement in MARIA_SALES_SETUP:
            cursor.execute(statement)
    return database


def drop_maria_database(url: str, database: MariaDatabase) -> None:
    with maria_root(url) as root, root.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{database.name}`")
        cursor.execute(f"DROP USER IF EXISTS '{database.user}'@'127.0.0.1'")


# --- the studio's pages -----------------------------------------------------------------


def url(name: str, datastore: Datastore, *args) -> str:
    return reverse(name, args=[datastore.workspace.name, datastore.name, *args])


def run_query(client, datastore, statement: str, **extra) -> str:
    return client.post(
        url("datastore_query", datastore), {"sql": statement, "row_limit": "1000", **extra}
    ).content.decode()


def listed_row(page: str, link_text: str) -> str:
    """The tables page's row for one table or view, from its link to the end of the row."""
    start = page.index(f">{link_text}</a>")
    return page[start : page.index("</tr>", start)]


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
