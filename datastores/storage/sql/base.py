"""What the database types (Azure SQL Database, Azure Database for PostgreSQL and for
MySQL) share: validation, browsing, the read-only query box and CSV downloads, on
top of a few driver hooks that each engine's module fills in.

The server's address is `server_name.endpoint` (myserver.postgres.database.azure.com);
an endpoint that is a host allowed in DATASTORE_ALLOWED_HOSTS (a private
endpoint, a local server) is the address itself.

Everything the studio does with a database runs in a short session that
`open_session` opens: a bounded connect timeout, a read-only transaction the
database itself enforces, and a statement timeout. None of the messages of the
errors raised here echoes a password.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django import forms
from django.conf import settings

from .. import fields, network
from ..base import Capabilities, Connection, StorageBackend
from ..endpoints import Address, is_allowed, is_listed, parse_host, parse_netloc
from ..errors import AuthenticationFailed, NotFound, StorageError, Unreachable
from ..tables import (
    ColumnInfo,
    CsvStream,
    QueryFailed,
    QueryResult,
    RowsPage,
    SchemaInfo,
    TableInfo,
    TableListing,
    TableNotFound,
)

PREVIEW_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
QUERY_ROW_LIMIT = 1000
MAX_TABLES_LISTED = 5000
CSV_FETCH_ROWS = 2000
APPLICATION_NAME = "datastore-studio"

# A DB-API connection of whichever driver; the engine modules know its real type.
Db = Any


def server_address(connection: Connection) -> Address:
    """myserver.postgres.database.azure.com, or the allowed host itself, with the port field's
    port; built from parsed parts, never from the text typed."""
    endpoint = parse_netloc(connection["endpoint"])
    host = endpoint.host if is_listed(endpoint.host) else parse_host(f"{connection['server_name']}.{endpoint.host}")
    return Address(host, int(connection["port"]))


def server_host(connection: Connection) -> str:
    return server_address(connection).host


def connect_timeout() -> int:
    return min(settings.STORAGE_TIMEOUT_SECONDS, 10)


def statement_timeout() -> int:
    """Seconds a statement may run: browsing, previews and the query box."""
    return int(settings.STORAGE_TIMEOUT_SECONDS)


def sql_connection_fields(*, port: int, endpoint: str, suffixes: tuple[str, ...]) -> dict[str, forms.Field]:
    return {
        "server_name": fields.server_name_field(),
        "database_name": fields.database_name_field(),
        "port": fields.port_field(port),
        "endpoint": fields.endpoint_field(endpoint, suffixes),
    }


def close_quietly(db: Db) -> None:
    try:
        db.close()
    except Exception:  # the connection may already be gone; nothing to release then
        pass


def quote_with(quote: str, close: str, parts: tuple[str, ...]) -> str:
    return ".".join(quote + part.replace(close, close + close) + close for part in parts)


class SqlBackend(StorageBackend):
    """Validation, browsing, the read-only query box and CSV downloads, on driver hooks."""

    capabilities = Capabilities(tables=True, queries=True)
    options = {"skip_validation": fields.skip_validation_field()}
    reach_fields: tuple[str, ...] = ("server_name", "endpoint", "port")
    suffixes: tuple[str, ...] = ()  # the service's Azure suffixes (endpoints.py)

    # Rows of (schema, table or NULL for an empty schema, kind, estimated rows or NULL).
    catalog_sql: str = ""
    # With parameters (schema, table): rows of (name, type, nullable, in primary key).
    columns_sql: str = ""
    # The exceptions the driver raises for a failed statement.
    statement_errors: tuple[type[Exception], ...] = ()

    def location(self, settings: Mapping[str, Any]) -> str:
        return f"{settings.get('server_name', '')}/{settings.get('database_name', '')}"

    # --- driver hooks (each engine fills these in) -----------------------------------

    def connect(self, connection: Connection, *, for_query: bool = False) -> Db:
        """A DB-API connection, or a StorageError saying why there is none. `for_query`:
        the session will run a statement typed by a user."""
        raise NotImplementedError

    def begin_read_only(self, db: Db, *, timeout: int, for_query: bool = False) -> None:
        """Make every following statement of this session read-only and time-bounded,
        enforced by the database; raise QueryFailed when it cannot be for a typed query."""
        raise NotImplementedError

    def quote_name(self, db: Db, *parts: str) -> str:
        raise NotImplementedError

    def write_capabilities(self, db: Db) -> str:
        """What this login may do on the server that a read-only transaction does not prevent
        (run programs, write files, change server settings), in a sentence; "" when nothing."""
        return ""

    def page_clause(self, order_by: list[str], *, limit: int, offset: int) -> str:
        order = f" ORDER BY {', '.join(order_by)}" if order_by else ""
        return f"{order} LIMIT {int(limit)} OFFSET {int(offset)}"

    def run_statement(self, db: Db, statement: str, *, row_limit: int) -> tuple[list[str], list[tuple[Any, ...]], bool]:
        """Run one statement typed by a user: (columns, at most row_limit rows, truncated)."""
        raise NotImplementedError

    def open_stream(self, db: Db, statement: str) -> CsvStream:
        """Run a statement on a server-side cursor and stream its rows as CSV."""
        raise NotImplementedError

    def query_failed(self, error: Exception, *, timeout: int) -> QueryFailed:
        raise NotImplementedError

    # --- what failed, in words -----------------------------------------------------------

    def unreachable(self, connection: Connection, error: BaseException | None = None) -> StorageError:
        """Every transport-level failure in one message (see network.unreachable)."""
        address = server_address(connection)
        hint = "Check the server name, endpoint and port, and the server's firewall rules."
        if error is None:
            return network.unreachable(address.host, address.port, field="server_name", hint=hint)
        return network.transport_failure(error, address.host, address.port, field="server_name", hint=hint)

    def open_socket(self, connection: Connection) -> Any:
        """A TCP connection to a checked address of the server (network.open_socket)."""
        address = server_address(connection)
        try:
            return network.open_socket(address.host, address.port or 0, timeout=connect_timeout())
        except OSError as error:
            raise self.unreachable(connection, error) from None

    def checked_address(self, connection: Connection) -> str:
        """The server's address, resolved once and checked, for drivers that open their own socket."""
        address = server_address(connection)
        try:
            return network.resolve(address.host, address.port or 0)[0][4][0]
        except OSError as error:
            raise self.unreachable(connection, error) from None

    def auth_failed(self) -> AuthenticationFailed:
        return AuthenticationFailed(
            "Authentication failed: the server refused the user ID or password.", field="password"
        )

    def database_missing(self, connection: Connection, *, may_be_refused: bool = False) -> NotFound:
        database = connection["database_name"]
        if may_be_refused:  # some servers answer the same for "missing" and "not yours"
            return NotFound(
                f"The user may not open the database {database!r}, or it does not exist.", field="database_name"
            )
        return NotFound(f"The database {database!r} does not exist on this server.", field="database_name")

    def tls_refused(self) -> Unreachable:
        return Unreachable(
            "The server does not accept TLS, but this connection requires it. "
            "Enable TLS (SSL) on the server, or untick Enforce SSL if this network is trusted.",
            field="enforce_ssl",
        )

    def tls_required(self, *, field: str = "enforce_ssl") -> Unreachable:
        advice = " Tick Enforce SSL." if field == "enforce_ssl" else ""
        return Unreachable(f"The server accepts only TLS connections and refused this one.{advice}", field=field)

    def tls_failed(self, connection: Connection) -> StorageError:
        """A failed handshake is below the service's answers: one message, as for any transport failure."""
        return self.unreachable(connection)

    # --- sessions ---------------------------------------------------------------------

    def refuse_writing_login(self, db: Db) -> None:
        """The query box runs only for a login that cannot write anywhere on the server."""
        what = self.write_capabilities(db)
        if what:
            raise QueryFailed(
                f"{what} A read-only transaction does not prevent that, so the query box does not run "
                "with this login. Use a read-only login for queries (Update authentication)."
            )

    def check_reach(self, connection: Connection) -> None:
        """The host allow-list, once more (with the port), right before a connection is made."""
        address = server_address(connection)
        if not is_allowed(address.host, address.port, self.suffixes):
            raise Unreachable(
                f"{address.netloc} is not an Azure endpoint, nor a host this studio allows (with this port).",
                field="endpoint",
            )

    def open_session(self, connection: Connection, *, timeout: int, for_query: bool = False) -> Db:
        """A fresh connection in read-only mode with a statement timeout. The caller closes it."""
        self.check_reach(connection)
        db = self.connect(connection, for_query=for_query)
        try:
            self.begin_read_only(db, timeout=timeout, for_query=for_query)
        except self.statement_errors as error:
            close_quietly(db)
            raise self.query_failed(error, timeout=timeout) from None
        except BaseException:
            close_quietly(db)
            raise
        return db

    @contextmanager
    def read_only_session(self, connection: Connection, *, timeout: int, for_query: bool = False) -> Iterator[Db]:
        """`open_session` closed (and rolled back) on the way out. Statement errors inside become QueryFailed."""
        db = self.open_session(connection, timeout=timeout, for_query=for_query)
        try:
            yield db
        except self.statement_errors as error:
            raise self.query_failed(error, timeout=timeout) from None
        finally:
            close_quietly(db)

    def check_connection(self, connection: Connection) -> str:
        """Connect with a bounded timeout, run a trivial query, disconnect. Returns a warning when
        the login can write on the server (the query box then refuses to run)."""
        try:
            with self.read_only_session(connection, timeout=statement_timeout()) as db:
                cursor = db.cursor()
                cursor.execute("SELECT 1")
                cursor.fetchall()
                what = self.write_capabilities(db)
        except QueryFailed as failure:
            raise StorageError(f"Connected, but the server refused a trivial query: {failure.message}") from None
        return f"{what} Use a read-only login for queries: the query box refuses to run with this one." if what else ""

    # --- browsing -----------------------------------------------------------------------

    def list_tables(self, connection: Connection) -> TableListing:
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

    def _columns(self, db: Db, schema: str, table: str) -> list[ColumnInfo]:
        cursor = db.cursor()
        cursor.execute(self.columns_sql, (schema, table))
        columns = [
            ColumnInfo(name, type_name, bool(nullable), bool(in_key))
            for name, type_name, nullable, in_key in cursor.fetchall()
        ]
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
        return f"SELECT * FROM {self.quote_name(None, schema, table)}"

    # --- the query box ------------------------------------------------------------------

    def run_readonly_query(
        self, connection: Connection, statement: str, *, row_limit: int = QUERY_ROW_LIMIT, timeout: int | None = None
    ) -> QueryResult:
        """Run one statement typed by a user in a read-only session with a statement
        timeout. Writes are refused by the database itself."""
        statement = statement.strip()
        if not statement:
            raise QueryFailed("Type a statement to run.")
        timeout = timeout or statement_timeout()
        with self.read_only_session(connection, timeout=timeout, for_query=True) as db:
            started = time.monotonic()
            columns, rows, truncated = self.run_statement(db, statement, row_limit=row_limit)
            elapsed = time.monotonic() - started
        return QueryResult(columns, rows, row_limit, truncated, elapsed)

    # --- CSV downloads ------------------------------------------------------------------

    def stream_csv(
        self,
        connection: Connection,
        *,
        statement_for: Callable[[Db], str],
        timeout: int | None = None,
        for_query: bool = False,
    ) -> CsvStream:
        """Rows as CSV bytes, from a server-side cursor, in a read-only session; memory
        stays bounded whatever the number of rows. `statement_for(db)` gives the statement."""
        timeout = timeout or statement_timeout()
        db = self.open_session(connection, timeout=timeout, for_query=for_query)
        try:
            return self.open_stream(db, statement_for(db))
        except self.statement_errors as error:
            close_quietly(db)
            raise self.query_failed(error, timeout=timeout) from None
        except BaseException:
            close_quietly(db)
            raise

    def stream_table_csv(self, connection: Connection, schema: str, table: str) -> CsvStream:
        """A whole table (or view) as CSV."""

        def select_all(db: Db) -> str:
            self._columns(db, schema, table)  # TableNotFound for a name that is not a table
            return f"SELECT * FROM {self.quote_name(db, schema, table)}"

        return self.stream_csv(connection, statement_for=select_all)

    def stream_query_csv(self, connection: Connection, statement: str, *, timeout: int | None = None) -> CsvStream:
        """All rows of a statement typed in the query box, as CSV."""
        statement = statement.strip()
        if not statement:
            raise QueryFailed("Type a statement to run.")
        return self.stream_csv(connection, statement_for=lambda db: statement, timeout=timeout, for_query=True)
