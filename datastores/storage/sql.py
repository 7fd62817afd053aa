"""Azure SQL Database, Azure Database for PostgreSQL and for MySQL
(register_azure_sql_database, register_azure_postgre_sql, register_azure_my_sql).

The server's address is `server_name.endpoint` (myserver.postgres.database.azure.com);
an endpoint that is a host allowed in DATASTORE_ALLOWED_HOSTS (a private
endpoint, a local server) is the address itself.

Everything the studio does with a database runs in a short session that
`SqlBackend.read_only_session` opens: a bounded connect timeout, a read-only
transaction the database itself enforces, and a statement timeout. The three
backends only supply what differs: how to connect, how to make the session
read-only, how to quote a name and page through rows, their catalog queries,
and how to turn their errors into messages. None of those messages echoes a
password.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
import pymysql
import pymysql.cursors
from django.conf import settings
from psycopg import sql as pg_sql
from psycopg.types.string import TextLoader

from ..choices import AuthType
from ..hosts import is_allowed_host, is_custom_host, split_host_port
from . import fields
from .base import AuthMethod, Connection, ServiceCheckFailed, StorageBackend, StorageError

PREVIEW_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
QUERY_ROW_LIMIT = 1000
MAX_TABLES_LISTED = 5000
CSV_FETCH_ROWS = 2000
CSV_CHUNK_BYTES = 64 * 1024
CELL_DISPLAY_CHARS = 300
APPLICATION_NAME = "datastore-studio"


def server_host(connection: Connection) -> str:
    endpoint = connection["endpoint"]
    if is_custom_host(endpoint):
        return split_host_port(endpoint)[0]
    return f"{connection['server_name']}.{endpoint}"


def connect_timeout() -> int:
    return min(settings.STORAGE_TIMEOUT_SECONDS, 10)


def statement_timeout() -> int:
    """Seconds a statement may run: browsing, previews and the query box."""
    return settings.STORAGE_TIMEOUT_SECONDS


def sql_connection_fields(*, port: int, endpoint: str) -> dict:
    return {
        "server_name": fields.server_name_field(),
        "database_name": fields.database_name_field(),
        "port": fields.port_field(port),
        "endpoint": fields.endpoint_field(endpoint),
    }


# --- what browsing and queries return ---------------------------------------------------


@dataclass(frozen=True)
class TableInfo:
    schema: str
    name: str
    kind: str  # "table", "view", "materialized view", ...
    estimated_rows: int | None = None  # only where the server keeps a cheap estimate


@dataclass(frozen=True)
class SchemaInfo:
    name: str
    tables: list[TableInfo]

    @property
    def summary(self) -> str:
        """'3 tables, 1 view', as a person would say it."""
        views = sum(1 for table in self.tables if table.kind == "view")
        tables = len(self.tables) - views
        parts = [f"{count} {noun}{'' if count == 1 else 's'}" for count, noun in ((tables, "table"), (views, "view")) if count]
        return ", ".join(parts) or "empty"


@dataclass(frozen=True)
class TableListing:
    schemas: list[SchemaInfo]
    truncated: bool  # more than MAX_TABLES_LISTED tables and views


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    nullable: bool
    in_primary_key: bool = False


@dataclass(frozen=True)
class Cell:
    text: str
    is_null: bool = False
    shortened: bool = False
    is_number: bool = False  # right-aligned, as numbers read best

    @property
    def css_class(self) -> str:
        return " ".join(name for name, on in (("null", self.is_null), ("number", self.is_number)) if on)


class RowsGrid:
    """Rows shown as a grid: cells as text, and headers right-aligned over columns of numbers."""

    rows: list[tuple]

    @property
    def column_names(self) -> list[str]:
        raise NotImplementedError

    @property
    def cells(self) -> list[list[Cell]]:
        return display_rows(self.rows)

    @property
    def headers(self) -> list[tuple[str, bool]]:
        """(column name, right-aligned)."""
        numbers = number_columns(self.rows) or [False] * len(self.column_names)
        return list(zip(self.column_names, numbers))


@dataclass(frozen=True)
class RowsPage(RowsGrid):
    """One page of a table's rows, with the table's columns."""

    columns: list[ColumnInfo]
    rows: list[tuple]
    page: int
    page_size: int
    has_next: bool

    @property
    def first_row_number(self) -> int:
        return (self.page - 1) * self.page_size + 1

    @property
    def last_row_number(self) -> int:
        return self.first_row_number + len(self.rows) - 1

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


@dataclass(frozen=True)
class QueryResult(RowsGrid):
    columns: list[str]  # empty when the statement returns no rows
    rows: list[tuple]
    row_limit: int
    truncated: bool  # the statement returned more than row_limit rows
    elapsed_seconds: float

    @property
    def returns_rows(self) -> bool:
        return bool(self.columns)

    @property
    def elapsed_text(self) -> str:
        if self.elapsed_seconds < 1:
            return f"{max(1, round(self.elapsed_seconds * 1000))} ms"
        return f"{self.elapsed_seconds:.2f} s"

    @property
    def column_names(self) -> list[str]:
        return self.columns


class QueryFailed(StorageError):
    """The database refused or failed a statement. The message is the database's own
    (what a person needs to fix the query); it never carries connection secrets."""


class TableNotFound(StorageError):
    """No table or view of that name is visible to the datastore's user."""


def cell_text(value: Any) -> str:
    """A value as text, the same in a page and in a CSV file (NULL is the caller's business)."""
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes | bytearray):
        return "\\x" + bytes(value).hex()
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def number_columns(rows: list[tuple]) -> list[bool]:
    """Per column: True when every value shown is a number (NULLs aside), so it is right-aligned."""
    if not rows:
        return []
    return [
        any(value is not None for value in column) and all(value is None or _is_number(value) for value in column)
        for column in zip(*rows)
    ]


def display_rows(rows: list[tuple]) -> list[list[Cell]]:
    numbers = number_columns(rows)
    table = []
    for row in rows:
        cells = []
        for value, is_number in zip(row, numbers):
            if value is None:
                cells.append(Cell("NULL", is_null=True, is_number=is_number))
                continue
            text = cell_text(value)
            if len(text) > CELL_DISPLAY_CHARS:
                cells.append(Cell(text[:CELL_DISPLAY_CHARS] + "…", shortened=True))
            else:
                cells.append(Cell(text, is_number=is_number))
        table.append(cells)
    return table


class CsvStream:
    """CSV bytes read from a server-side cursor, a batch of rows at a time.

    The statement has already run when this object exists, so errors such as a
    refused login or a syntax error surface before the download starts. close()
    releases the database connection, also when the download is abandoned; Django
    calls it when the response is closed.
    """

    def __init__(self, *, columns: list[str], fetch_batch, release, rows_are_text: bool = False):
        self.columns = columns
        self._fetch_batch = fetch_batch  # () -> list of rows; [] at the end
        self._release = release  # (finished: bool) -> None
        # Rows of str and None only (csv writes None as ""): no per-value Python work.
        self._rows_are_text = rows_are_text
        self._finished = False
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(self.columns)
        try:
            while batch := self._fetch_batch():
                if self._rows_are_text:
                    writer.writerows(batch)
                else:
                    writer.writerows(["" if value is None else cell_text(value) for value in row] for row in batch)
                if buffer.tell() >= CSV_CHUNK_BYTES:
                    yield buffer.getvalue().encode()
                    buffer.seek(0)
                    buffer.truncate()
            self._finished = True
            yield buffer.getvalue().encode()
        finally:
            self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._release(self._finished)


# --- the shared backend -------------------------------------------------------------


class SqlBackend(StorageBackend):
    """What the three database types share: validation, browsing, the read-only query box
    and CSV downloads, on top of a few driver-specific hooks."""

    options = {"skip_validation": fields.skip_validation_field()}
    reach_fields = ("server_name", "endpoint", "port")
    # Pages can list its tables (the "Browse tables" link keys on this, not on the type).
    has_tables = True

    # Rows of (schema, table or NULL for an empty schema, kind, estimated rows or NULL).
    catalog_sql: str = ""
    # With parameters (schema, table): rows of (name, type, nullable, in primary key).
    columns_sql: str = ""
    # The exceptions the driver raises for a failed statement.
    statement_errors: tuple[type[Exception], ...] = ()

    def location(self, settings: Mapping[str, Any]) -> str:
        return f"{settings.get('server_name', '')}/{settings.get('database_name', '')}"

    # --- driver hooks (each backend fills these in) -----------------------------------

    def connect(self, connection: Connection):
        """A DB-API connection, or ServiceCheckFailed saying why there is none."""
        raise NotImplementedError

    def begin_read_only(self, db, *, timeout: int) -> None:
        """Make every following statement of this session read-only and time-bounded,
        enforced by the database."""
        raise NotImplementedError

    def quote_name(self, db, *parts: str) -> str:
        raise NotImplementedError

    def page_clause(self, order_by: list[str], *, limit: int, offset: int) -> str:
        order = f" ORDER BY {', '.join(order_by)}" if order_by else ""
        return f"{order} LIMIT {int(limit)} OFFSET {int(offset)}"

    def run_statement(self, db, statement: str, *, row_limit: int) -> tuple[list[str], list[tuple], bool]:
        """Run one statement typed by a user: (columns, at most row_limit rows, truncated)."""
        raise NotImplementedError

    def open_stream(self, db, statement: str) -> CsvStream:
        """Run a statement on a server-side cursor and stream its rows as CSV."""
        raise NotImplementedError

    def query_failed(self, error: Exception, *, timeout: int) -> QueryFailed:
        raise NotImplementedError

    # --- sessions ---------------------------------------------------------------------

    def check_reach(self, connection: Connection) -> None:
        """The host allow-list, once more, right before a connection is made."""
        if not is_allowed_host(server_host(connection)):
            raise ServiceCheckFailed(
                f"{server_host(connection)} is not an Azure endpoint, nor a host this studio allows.",
                field="endpoint",
            )

    def unreachable(self, connection: Connection, *, timed_out: bool) -> ServiceCheckFailed:
        address = f"{server_host(connection)}:{connection['port']}"
        if timed_out:
            return ServiceCheckFailed(
                f"Timed out after {connect_timeout()} s connecting to {address}. "
                "Check the server name, the port and the server's firewall rules.",
                field="server_name",
            )
        return ServiceCheckFailed(
            f"Could not reach {address}. Check the server name, endpoint and port, and the server's firewall rules.",
            field="server_name",
        )

    def auth_failed(self) -> ServiceCheckFailed:
        return ServiceCheckFailed(
            "Authentication failed: the server refused the user ID or password.", field="password"
        )

    def database_missing(self, connection: Connection) -> ServiceCheckFailed:
        return ServiceCheckFailed(
            f"The database {connection['database_name']!r} does not exist on this server.", field="database_name"
        )

    def tls_refused(self) -> ServiceCheckFailed:
        return ServiceCheckFailed(
            "The server does not accept TLS, but this connection requires it. "
            "Enable TLS (SSL) on the server, or untick Enforce SSL if this network is trusted.",
            field="enforce_ssl",
        )

    def tls_required(self) -> ServiceCheckFailed:
        return ServiceCheckFailed(
            "The server accepts only TLS connections and refused this one. Tick Enforce SSL.",
            field="enforce_ssl",
        )

    @contextmanager
    def read_only_session(self, connection: Connection, *, timeout: int):
        """A fresh connection in read-only mode; closed (and rolled back) on the way out.
        Statement errors inside become QueryFailed."""
        self.check_reach(connection)
        db = self.connect(connection)
        try:
            self.begin_read_only(db, timeout=timeout)
            yield db
        except self.statement_errors as error:
            raise self.query_failed(error, timeout=timeout) from None
        finally:
            _close_quietly(db)

    def check_connection(self, connection: Connection) -> None:
        """Connect with a bounded timeout, run a trivial query, disconnect."""
        try:
            with self.read_only_session(connection, timeout=statement_timeout()) as db:
                cursor = db.cursor()
                cursor.execute("SELECT 1")
                cursor.fetchall()
        except QueryFailed as failure:
            raise ServiceCheckFailed(f"Connected, but the server refused a trivial query: {failure.message}") from None

    # --- browsing -----------------------------------------------------------------------

    def list_tables(self, connection: Connection) -> TableListing:
        """Schemas, then the tables and views of each, with cheap row estimates."""
        with self.read_only_session(connection, timeout=statement_timeout()) as db:
            cursor = db.cursor()
            cursor.execute(self.catalog_sql)
            rows = cursor.fetchmany(MAX_TABLES_LISTED + 1)
        schemas: dict[str, list[TableInfo]] = {}
        listed = 0
        for schema, name, kind, estimate in rows:
            tables = schemas.setdefault(schema, [])
            if name is not None and listed < MAX_TABLES_LISTED:
                tables.append(TableInfo(schema, name, kind, None if estimate is None else int(estimate)))
                listed += 1
        truncated = sum(1 for row in rows if row[1] is not None) > MAX_TABLES_LISTED
        return TableListing([SchemaInfo(name, tables) for name, tables in schemas.items()], truncated)

    def _columns(self, db, schema: str, table: str) -> list[ColumnInfo]:
        cursor = db.cursor()
        cursor.execute(self.columns_sql, (schema, table))
        columns = [ColumnInfo(name, type_name, bool(nullable), bool(in_key)) for name, type_name, nullable, in_key in cursor.fetchall()]
        if not columns:
            raise TableNotFound(f"There is no table or view {schema}.{table} that this datastore's user can read.")
        return columns

    def table_columns(self, connection: Connection, schema: str, table: str) -> list[ColumnInfo]:
        with self.read_only_session(connection, timeout=statement_timeout()) as db:
            return self._columns(db, schema, table)

    def preview_rows(
        self, connection: Connection, schema: str, table: str, *, page: int = 1, page_size: int = PREVIEW_PAGE_SIZE
    ) -> RowsPage:
        """One page of a table's rows, in primary-key order when it has one."""
        page, page_size = max(1, int(page)), min(max(1, int(page_size)), MAX_PAGE_SIZE)
        with self.read_only_session(connection, timeout=statement_timeout()) as db:
            columns = self._columns(db, schema, table)
            order_by = [self.quote_name(db, column.name) for column in columns if column.in_primary_key]
            statement = f"SELECT * FROM {self.quote_name(db, schema, table)}" + self.page_clause(
                order_by, limit=page_size + 1, offset=(page - 1) * page_size
            )
            cursor = db.cursor()
            cursor.execute(statement)
            rows = [tuple(row) for row in cursor.fetchall()]
        return RowsPage(columns, rows[:page_size], page, page_size, has_next=len(rows) > page_size)

    def table_query(self, schema: str, table: str) -> str:
        """A starting statement for the query box, with the name quoted."""
        return f"SELECT * FROM {self.quote_name(None, schema, table)}"

    # --- the query box ------------------------------------------------------------------

    def run_readonly_query(
        self, connection: Connection, statement: str, *, row_limit: int = QUERY_ROW_LIMIT, timeout: int | None = None
    ) -> QueryResult:
        """Run one statement typed by a user in a read-only transaction with a statement
        timeout. Writes are refused by the database itself."""
        statement = statement.strip()
        if not statement:
            raise QueryFailed("Type a statement to run.")
        timeout = timeout or statement_timeout()
        with self.read_only_session(connection, timeout=timeout) as db:
            started = time.monotonic()
            columns, rows, truncated = self.run_statement(db, statement, row_limit=row_limit)
            elapsed = time.monotonic() - started
        return QueryResult(columns, rows, row_limit, truncated, elapsed)

    # --- CSV downloads ------------------------------------------------------------------

    def stream_csv(self, connection: Connection, *, statement_for, timeout: int | None = None) -> CsvStream:
        """Rows as CSV bytes, from a server-side cursor, in a read-only transaction; memory
        stays bounded whatever the number of rows. `statement_for(db)` gives the statement."""
        timeout = timeout or statement_timeout()
        self.check_reach(connection)
        db = self.connect(connection)
        try:
            self.begin_read_only(db, timeout=timeout)
            return self.open_stream(db, statement_for(db))
        except self.statement_errors as error:
            _close_quietly(db)
            raise self.query_failed(error, timeout=timeout) from None
        except BaseException:
            _close_quietly(db)
            raise

    def stream_table_csv(self, connection: Connection, schema: str, table: str) -> CsvStream:
        """A whole table (or view) as CSV."""

        def select_all(db) -> str:
            self._columns(db, schema, table)  # TableNotFound for a name that is not a table
            return f"SELECT * FROM {self.quote_name(db, schema, table)}"

        return self.stream_csv(connection, statement_for=select_all)

    def stream_query_csv(self, connection: Connection, statement: str, *, timeout: int | None = None) -> CsvStream:
        """All rows of a statement typed in the query box, as CSV."""
        statement = statement.strip()
        if not statement:
            raise QueryFailed("Type a statement to run.")
        return self.stream_csv(connection, statement_for=lambda db: statement, timeout=timeout)


def _close_quietly(db) -> None:
    try:
        db.close()
    except Exception:  # the connection may already be gone; nothing to release then
        pass


def _quote_with(quote: str, close: str, parts: tuple[str, ...]) -> str:
    return ".".join(quote + part.replace(close, close + close) + close for part in parts)


# --- Azure Database for PostgreSQL -------------------------------------------------------

PG_NUMBER_TYPES = {"int2", "int4", "int8", "oid", "float4", "float8", "numeric"}


def load_as_text(adapters, *, keep_numbers: bool) -> None:
    """Have psycopg hand over values as PostgreSQL writes them ('infinity', json, arrays,
    timestamps past year 9999), not as Python objects, which cannot hold them all.
    Numbers may stay numbers, for the page to align them."""
    for info in psycopg.adapters.types:
        if not (keep_numbers and info.name in PG_NUMBER_TYPES):
            adapters.register_loader(info.oid, TextLoader)
        if info.array_oid:
            adapters.register_loader(info.array_oid, TextLoader)



class PostgreSqlBackend(SqlBackend):
    storage_type = "AzurePostgreSql"
    label = "Azure Database for PostgreSQL"
    connection_fields = {
        **sql_connection_fields(port=5432, endpoint="postgres.database.azure.com"),
        "enforce_ssl": fields.checkbox_field("Enforce SSL", "Refuse to connect without TLS."),
    }
    auth_methods = (AuthMethod(AuthType.SQL_AUTHENTICATION, fields.sql_authentication_fields()),)
    statement_errors = (psycopg.Error,)

    catalog_sql = """
        SELECT n.nspname, c.relname,
               CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                              WHEN 'f' THEN 'foreign table' ELSE 'table' END,
               CASE WHEN c.relkind IN ('r', 'm') AND c.reltuples >= 0 THEN c.reltuples::bigint END
        FROM pg_catalog.pg_namespace n
        LEFT JOIN pg_catalog.pg_class c
               ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
          AND has_schema_privilege(n.oid, 'USAGE')
        ORDER BY n.nspname = 'public' DESC, n.nspname, c.relname
    """
    columns_sql = """
        SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), (NOT a.attnotnull)::int,
               COALESCE(a.attnum = ANY (i.indkey), false)::int
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_catalog.pg_index i ON i.indrelid = c.oid AND i.indisprimary
        WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
    """

    def connect_kwargs(self, connection: Connection) -> dict[str, Any]:
        return {
            "host": server_host(connection),
            "port": connection["port"],
            "dbname": connection["database_name"],
            "user": connection["user_id"],
            "password": connection["password"],
            "connect_timeout": connect_timeout(),
            "sslmode": "require" if connection["enforce_ssl"] else "prefer",
            "application_name": APPLICATION_NAME,
        }

    def connect(self, connection: Connection) -> psycopg.Connection:
        try:
            db = psycopg.connect(**self.connect_kwargs(connection), autocommit=True)
        except psycopg.Error as error:
            raise self.explain(error, connection) from None
        load_as_text(db.adapters, keep_numbers=True)
        return db

    def explain(self, error: psycopg.Error, connection: Connection) -> ServiceCheckFailed:
        # libpq reports connection failures as text without a SQLSTATE; none of it holds the password.
        text = str(error).lower()
        if isinstance(error, psycopg.errors.ConnectionTimeout) or "timeout expired" in text:
            return self.unreachable(connection, timed_out=True)
        if "password authentication failed" in text or "no password supplied" in text:
            return self.auth_failed()
        if "role" in text and "does not exist" in text:
            return self.auth_failed()
        if "database" in text and "does not exist" in text:
            return self.database_missing(connection)
        if "server does not support ssl" in text:
            return self.tls_refused()
        if "ssl connection is required" in text or "no encryption" in text:
            return self.tls_required()
        if any(sign in text for sign in ("connection refused", "resolve host", "translate host", "unreachable", "no route")):
            return self.unreachable(connection, timed_out=False)
        if "ssl" in text or "certificate" in text:
            return ServiceCheckFailed("The TLS handshake with the server failed.", field="enforce_ssl")
        return self.unreachable(connection, timed_out=False)

    def begin_read_only(self, db: psycopg.Connection, *, timeout: int) -> None:
        # Session-wide, so even a COMMIT typed in the query box starts another read-only transaction.
        db.execute("SET default_transaction_read_only = on")
        db.execute("SELECT set_config('statement_timeout', %s, false)", [f"{int(timeout) * 1000}"])
        db.execute("SET TimeZone = 'UTC'")  # times read the same in every page and file
        db.autocommit = False

    def quote_name(self, db, *parts: str) -> str:
        return pg_sql.Identifier(*parts).as_string(db)

    def run_statement(self, db: psycopg.Connection, statement: str, *, row_limit: int):
        # stream() uses the extended protocol: one statement only, rows fetched in chunks,
        # and the query is cancelled once we have enough.
        cursor = db.cursor()
        rows: list[tuple] = []
        stream = cursor.stream(statement, size=min(row_limit + 1, 1000))
        try:
            for row in stream:
                rows.append(tuple(row))
                if len(rows) > row_limit:
                    break
        except psycopg.ProgrammingError as error:
            if error.sqlstate is None and cursor.description is None:
                return [], [], False  # it ran and returned no rows (SET, COMMIT, ...)
            raise
        finally:
            stream.close()
        columns = [column.name for column in cursor.description or []]
        return columns, rows[:row_limit], len(rows) > row_limit

    def open_stream(self, db: psycopg.Connection, statement: str) -> CsvStream:
        cursor = db.cursor(name="studio_csv")  # DECLARE ... CURSOR: a server-side cursor
        load_as_text(cursor.adapters, keep_numbers=False)  # the CSV has the database's own text, as COPY would
        cursor.execute(statement)
        columns = [column.name for column in cursor.description or []]

        def release(finished: bool) -> None:
            _close_quietly(db)

        return CsvStream(
            columns=columns, fetch_batch=lambda: cursor.fetchmany(CSV_FETCH_ROWS), release=release, rows_are_text=True
        )

    def query_failed(self, error: Exception, *, timeout: int) -> QueryFailed:
        if isinstance(error, psycopg.errors.QueryCanceled):
            return QueryFailed(f"The statement ran longer than {timeout} s and the database cancelled it.")
        diag = getattr(error, "diag", None)
        message = (diag.message_primary if diag else None) or str(error).strip() or type(error).__name__
        parts = [message[0].upper() + message[1:]]
        if diag and diag.statement_position:
            parts.append(f"(at character {diag.statement_position})")
        if diag and diag.message_detail:
            parts.append(diag.message_detail)
        if diag and diag.message_hint:
            parts.append(f"Hint: {diag.message_hint}")
        if getattr(error, "sqlstate", None):
            parts.append(f"[SQLSTATE {error.sqlstate}]")
        return QueryFailed(" ".join(parts))


# --- Azure Database for MySQL (tested against MariaDB) ----------------------------------

MYSQL_TIMEOUT_ERRORS = {1969, 3024}  # MariaDB max_statement_time, MySQL max_execution_time


class MySqlBackend(SqlBackend):
    storage_type = "AzureMySql"
    label = "Azure Database for MySQL"
    connection_fields = sql_connection_fields(port=3306, endpoint="mysql.database.azure.com")
    auth_methods = (AuthMethod(AuthType.SQL_AUTHENTICATION, fields.sql_authentication_fields()),)
    statement_errors = (pymysql.err.MySQLError,)
    # MariaDB counts the time spent sending rows as part of the statement, so a download
    # gets this long, while the query box and browsing get statement_timeout().
    download_time_limit = 3600

    catalog_sql = """
        SELECT s.SCHEMA_NAME, t.TABLE_NAME,
               CASE WHEN t.TABLE_TYPE LIKE '%VIEW' THEN 'view' WHEN t.TABLE_TYPE = 'SEQUENCE' THEN 'sequence'
                    ELSE 'table' END,
               CASE WHEN t.TABLE_TYPE = 'BASE TABLE' THEN t.TABLE_ROWS END
        FROM information_schema.SCHEMATA s
        LEFT JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = s.SCHEMA_NAME
        WHERE s.SCHEMA_NAME = DATABASE()
        ORDER BY t.TABLE_NAME
    """
    columns_sql = """
        SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE = 'YES', COLUMN_KEY = 'PRI'
        FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s
        ORDER BY ORDINAL_POSITION
    """

    def connect_kwargs(self, connection: Connection) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "host": server_host(connection),
            "port": connection["port"],
            "database": connection["database_name"],
            "user": connection["user_id"],
            "password": connection["password"],
            "connect_timeout": connect_timeout(),
            # Bounds the handshake and login too (connect_timeout covers only the TCP connect).
            "read_timeout": connect_timeout(),
            "write_timeout": connect_timeout(),
            "charset": "utf8mb4",
            "program_name": APPLICATION_NAME,
        }
        if not is_custom_host(connection["endpoint"]):
            # Azure's servers require TLS; verify the certificate and the name.
            import certifi

            kwargs.update(ssl_ca=certifi.where(), ssl_verify_cert=True, ssl_verify_identity=True)
        # A private endpoint or local server: PyMySQL uses TLS when the server offers it.
        return kwargs

    def connect(self, connection: Connection) -> pymysql.connections.Connection:
        try:
            db = pymysql.connect(**self.connect_kwargs(connection))
        except pymysql.err.MySQLError as error:
            raise self.explain(error, connection) from None
        # Logged in: statements may now take as long as the server's own time limit allows.
        # (PyMySQL has no public setter; it rereads this before every read.)
        db._read_timeout = db._write_timeout = statement_timeout() + 10
        return db

    def explain(self, error: pymysql.err.MySQLError, connection: Connection) -> ServiceCheckFailed:
        code = error.args[0] if error.args else None
        text = str(error).lower()
        if code == 1045:
            return self.auth_failed()
        if code == 1049:
            return self.database_missing(connection)
        if code == 1044:
            return ServiceCheckFailed(
                f"The user may not open the database {connection['database_name']!r}, or it does not exist.",
                field="database_name",
            )
        if code == 3159 or "secure transport" in text:
            return ServiceCheckFailed("The server accepts only TLS connections and refused this one.", field="endpoint")
        if code == 2026 or "ssl" in text:
            return ServiceCheckFailed(
                "The TLS handshake with the server failed, or the server does not offer TLS.", field="endpoint"
            )
        return self.unreachable(connection, timed_out="timed out" in text)

    def _set_time_limit(self, cursor, seconds: int) -> None:
        if "mariadb" in cursor.connection.get_server_info().lower():
            cursor.execute("SET SESSION max_statement_time = %s", (int(seconds),))
        else:
            cursor.execute("SET SESSION max_execution_time = %s", (int(seconds) * 1000,))

    def begin_read_only(self, db, *, timeout: int) -> None:
        cursor = db.cursor()
        # Session-wide too: a COMMIT typed in the query box starts another read-only transaction.
        cursor.execute("SET SESSION TRANSACTION READ ONLY")
        self._set_time_limit(cursor, timeout)
        cursor.execute("START TRANSACTION READ ONLY")

    def quote_name(self, db, *parts: str) -> str:
        return _quote_with("`", "`", parts)

    def run_statement(self, db, statement: str, *, row_limit: int):
        cursor = db.cursor()
        # The server stops after row_limit + 1 rows (PyMySQL sends one statement at a time).
        cursor.execute("SET SESSION sql_select_limit = %s", (row_limit + 1,))
        stream = db.cursor(pymysql.cursors.SSCursor)
        stream.execute(statement)
        columns = [column[0] for column in stream.description or []]
        rows = [tuple(row) for row in stream.fetchmany(row_limit + 1)] if columns else []
        _abandon_unbuffered(stream)
        return columns, rows[:row_limit], len(rows) > row_limit

    def open_stream(self, db, statement: str) -> CsvStream:
        self._set_time_limit(db.cursor(), self.download_time_limit)
        cursor = db.cursor(pymysql.cursors.SSCursor)  # unbuffered: rows are read as they are written
        cursor.execute(statement)
        columns = [column[0] for column in cursor.description or []]

        def release(finished: bool) -> None:
            if not finished:
                _abandon_unbuffered(cursor)
            _close_quietly(db)

        return CsvStream(columns=columns, fetch_batch=lambda: cursor.fetchmany(CSV_FETCH_ROWS), release=release)

    def query_failed(self, error: Exception, *, timeout: int) -> QueryFailed:
        code = error.args[0] if error.args else None
        if code in MYSQL_TIMEOUT_ERRORS:
            return QueryFailed(f"The statement ran longer than {timeout} s and the database cancelled it.")
        message = str(error.args[1]) if len(error.args) > 1 else str(error)
        return QueryFailed(f"{message} [MySQL error {code}]" if code else message)


def _abandon_unbuffered(cursor) -> None:
    """Drop the rest of an unbuffered result without reading it: closing the connection
    stops the server sending. (PyMySQL would otherwise read every remaining row.)"""
    result = getattr(cursor, "_result", None)
    if result is not None and getattr(result, "unbuffered_active", False):
        result.unbuffered_active = False
        _close_quietly(cursor.connection)


# --- Azure SQL Database ---------------------------------------------------------------


def token_scope(resource_url: str) -> str:
    """'https://database.windows.net/' -> 'https://database.windows.net/.default'."""
    return resource_url.rstrip("/") + "/.default"


class AzureSqlBackend(SqlBackend):
    """python-tds (pure Python TDS, no ODBC), always over TLS with the certificate and host
    name verified. Service principals get an Entra ID token from azure-identity.

    SQL Server has no read-only transaction. The query box asks for ApplicationIntent=ReadOnly
    and runs only when the session lands on a read-only replica (read scale-out), where the
    database itself refuses writes; elsewhere it refuses to run.
    """

    storage_type = "AzureSqlDatabase"
    label = "Azure SQL Database"
    connection_fields = sql_connection_fields(port=1433, endpoint="database.windows.net")
    auth_methods = (
        AuthMethod(AuthType.SQL_AUTHENTICATION, fields.sql_authentication_fields()),
        AuthMethod(
            AuthType.SERVICE_PRINCIPAL,
            fields.service_principal_fields(resource_url="https://database.windows.net/"),
        ),
    )
    catalog_sql = """
        SELECT s.name, o.name, CASE o.type WHEN 'V' THEN 'view' ELSE 'table' END,
               (SELECT SUM(p.rows) FROM sys.partitions p WHERE p.object_id = o.object_id AND p.index_id IN (0, 1)
                AND o.type = 'U')
        FROM sys.schemas s
        LEFT JOIN sys.objects o ON o.schema_id = s.schema_id AND o.type IN ('U', 'V') AND o.is_ms_shipped = 0
        WHERE s.name NOT IN ('sys', 'INFORMATION_SCHEMA', 'guest') AND s.schema_id < 16384
        ORDER BY CASE WHEN s.name = 'dbo' THEN 0 ELSE 1 END, s.name, o.name
    """
    columns_sql = """
        SELECT c.name, TYPE_NAME(c.user_type_id), c.is_nullable,
               CASE WHEN EXISTS (SELECT 1 FROM sys.indexes i JOIN sys.index_columns ic
                                 ON ic.object_id = i.object_id AND ic.index_id = i.index_id
                                 WHERE i.object_id = c.object_id AND i.is_primary_key = 1
                                   AND ic.column_id = c.column_id) THEN 1 ELSE 0 END
        FROM sys.columns c
        JOIN sys.objects o ON o.object_id = c.object_id AND o.type IN ('U', 'V')
        JOIN sys.schemas s ON s.schema_id = o.schema_id
        WHERE s.name = %s AND o.name = %s
        ORDER BY c.column_id
    """

    @property
    def statement_errors(self):
        import pytds

        return (pytds.Error, TimeoutError)

    def page_clause(self, order_by: list[str], *, limit: int, offset: int) -> str:
        order = ", ".join(order_by) or "(SELECT NULL)"
        return f" ORDER BY {order} OFFSET {int(offset)} ROWS FETCH NEXT {int(limit)} ROWS ONLY"

    def quote_name(self, db, *parts: str) -> str:
        return _quote_with("[", "]", parts)

    def access_token(self, connection: Connection) -> str:
        """An Entra ID token for the Resource URL, from the Authority URL's token endpoint."""
        from azure.core.exceptions import AzureError, ClientAuthenticationError

        from .adls import explain_token_failure, service_principal_credential

        try:
            return service_principal_credential(connection).get_token(token_scope(connection["resource_url"])).token
        except ClientAuthenticationError as error:
            raise explain_token_failure(error) from None
        except AzureError:
            raise ServiceCheckFailed(
                f"Could not get a token from {connection['authority_url']}. Check the Authority URL and the network.",
                field="authority_url",
            ) from None

    def connect_kwargs(self, connection: Connection, *, read_only_intent: bool = False) -> dict[str, Any]:
        import certifi

        kwargs: dict[str, Any] = {
            "dsn": server_host(connection),
            "port": connection["port"],
            "database": connection["database_name"],
            "login_timeout": connect_timeout(),
            "timeout": statement_timeout(),
            # Encrypt=True: TLS for the whole session, certificate and host name verified.
            "cafile": certifi.where(),
            "validate_host": True,
            "enc_login_only": False,
            "disable_connect_retry": True,
            "appname": APPLICATION_NAME,
            "autocommit": False,
            "readonly": read_only_intent,
        }
        if connection.auth_type == AuthType.SERVICE_PRINCIPAL:
            token = self.access_token(connection)
            kwargs["access_token_callable"] = lambda: token
        else:
            kwargs.update(user=connection["user_id"], password=connection["password"])
        return kwargs

    def connect(self, connection: Connection, *, read_only_intent: bool = False):
        import socket

        import pytds

        kwargs = self.connect_kwargs(connection, read_only_intent=read_only_intent)
        # Our own socket tells a refused port (at once) from a silent one (after the timeout).
        try:
            sock = socket.create_connection((kwargs["dsn"], kwargs["port"]), timeout=connect_timeout())
        except TimeoutError:
            raise self.unreachable(connection, timed_out=True) from None
        except OSError:
            raise self.unreachable(connection, timed_out=False) from None
        try:
            return pytds.connect(**kwargs, sock=sock)
        except Exception as error:  # pytds, socket and OpenSSL errors; the message never quotes them
            sock.close()
            raise self.explain(error, connection) from None

    def explain(self, error: Exception, connection: Connection) -> ServiceCheckFailed:
        # pytds retries a failed login until its timeout, then raises TimeoutError from the
        # real cause: look at the cause first.
        cause = error
        while isinstance(cause, TimeoutError) and cause.__cause__ is not None:
            cause = cause.__cause__
        number = getattr(cause, "msg_no", None) or getattr(cause, "number", None)
        text = str(getattr(cause, "text", "") or cause).lower()
        if number == 4060 or "cannot open database" in text:
            return self.database_missing(connection)
        if number in (18456, 18486, 18487, 18488, 18452) or "login failed" in text:
            if connection.auth_type == AuthType.SERVICE_PRINCIPAL:
                return ServiceCheckFailed(
                    "The server refused the service principal's token. Create a database user for it "
                    "(CREATE USER [app name] FROM EXTERNAL PROVIDER) and check the Resource URL.",
                    field="client_id",
                )
            return self.auth_failed()
        if number == 40615 or "firewall" in text:
            return ServiceCheckFailed(
                "The server's firewall refused this studio's address. Add it to the server's firewall rules.",
                field="server_name",
            )
        if "certificate" in text or "ssl" in text or "tls" in text or "encrypt" in text:
            return ServiceCheckFailed(
                "The TLS handshake failed: the server must offer encryption with a certificate valid for "
                f"{server_host(connection)}.",
                field="server_name",
            )
        return self.unreachable(connection, timed_out=isinstance(cause, TimeoutError))

    def begin_read_only(self, db, *, timeout: int) -> None:
        # SQL Server has no read-only transaction; this session only runs the statements the
        # studio composes (catalog, previews, downloads). Nothing waits long on a lock.
        cursor = db.cursor()
        cursor.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED; SET LOCK_TIMEOUT %d" % (int(timeout) * 1000))

    def run_readonly_query(self, connection, statement, *, row_limit=QUERY_ROW_LIMIT, timeout=None) -> QueryResult:
        statement = statement.strip()
        if not statement:
            raise QueryFailed("Type a statement to run.")
        timeout = timeout or statement_timeout()
        self.check_reach(connection)
        db = self.connect(connection, read_only_intent=True)
        try:
            cursor = db.cursor()
            cursor.execute("SELECT CAST(DATABASEPROPERTYEX(DB_NAME(), 'Updateability') AS nvarchar(20))")
            if cursor.fetchone()[0] != "READ_ONLY":
                raise QueryFailed(
                    "SQL Server has no read-only transaction, so the studio runs typed queries only on a "
                    "read-only replica, and this database has none (read scale-out is off). "
                    "Browse and download tables instead, or enable read scale-out."
                )
            cursor.execute("SET ROWCOUNT %d" % (row_limit + 1))
            started = time.monotonic()
            cursor.execute(statement)
            columns = [column[0] for column in cursor.description or []]
            rows = [tuple(row) for row in cursor.fetchmany(row_limit + 1)] if columns else []
            elapsed = time.monotonic() - started
        except self.statement_errors as error:
            raise self.query_failed(error, timeout=timeout) from None
        finally:
            _close_quietly(db)
        return QueryResult(columns, rows[:row_limit], row_limit, len(rows) > row_limit, elapsed)

    def stream_query_csv(self, connection, statement, *, timeout=None) -> CsvStream:
        raise QueryFailed("Typed queries are off for Azure SQL Database without a read-only replica; download tables instead.")

    def open_stream(self, db, statement: str) -> CsvStream:
        cursor = db.cursor()  # python-tds reads rows off the socket as they are fetched
        cursor.execute(statement)
        columns = [column[0] for column in cursor.description or []]

        def release(finished: bool) -> None:
            _close_quietly(db)

        return CsvStream(columns=columns, fetch_batch=lambda: cursor.fetchmany(CSV_FETCH_ROWS), release=release)

    def run_statement(self, db, statement: str, *, row_limit: int):
        raise QueryFailed("Typed queries on Azure SQL Database go through run_readonly_query.")

    def query_failed(self, error: Exception, *, timeout: int) -> QueryFailed:
        if isinstance(error, TimeoutError):
            return QueryFailed(f"The statement ran longer than {timeout} s and was cancelled.")
        number = getattr(error, "msg_no", None)
        message = str(getattr(error, "text", "") or error)
        return QueryFailed(f"{message} [SQL Server error {number}]" if number else message)


AZURE_SQL_BACKEND = AzureSqlBackend()
POSTGRESQL_BACKEND = PostgreSqlBackend()
MYSQL_BACKEND = MySqlBackend()
