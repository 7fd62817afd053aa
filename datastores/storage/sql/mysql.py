"""Azure Database for MySQL (register_azure_my_sql), through PyMySQL; tested against MariaDB."""

from __future__ import annotations

from typing import Any

import pymysql
import pymysql.cursors

from .. import endpoints, fields, network
from ..auth import AuthType
from ..base import AuthMethod, Connection
from ..endpoints import is_listed
from ..errors import StorageError
from ..tables import CsvStream, QueryFailed
from .base import (
    APPLICATION_NAME,
    CSV_FETCH_ROWS,
    Db,
    SqlBackend,
    close_quietly,
    connect_timeout,
    quote_with,
    server_host,
    sql_connection_fields,
    statement_timeout,
)

MYSQL_TIMEOUT_ERRORS = {1969, 3024}  # MariaDB max_statement_time, MySQL max_execution_time


class MySqlBackend(SqlBackend):
    storage_type = "AzureMySql"
    label = "Azure Database for MySQL"
    connection_fields = sql_connection_fields(port=3306, endpoint="mysql.database.azure.com", suffixes=endpoints.MYSQL)
    suffixes = endpoints.MYSQL
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
        if not is_listed(server_host(connection)):
            # Azure's servers require TLS; verify the certificate and the name.
            import certifi

            kwargs.update(ssl_ca=certifi.where(), ssl_verify_cert=True, ssl_verify_identity=True)
        # A private endpoint or local server: PyMySQL uses TLS when the server offers it.
        return kwargs

    def connect(self, connection: Connection, *, for_query: bool = False) -> pymysql.connections.Connection:
        # PyMySQL is handed a socket to the checked address; the host name stays for TLS.
        db = pymysql.connections.Connection(**self.connect_kwargs(connection), defer_connect=True)
        sock = self.open_socket(connection)
        handshake = network.watch(sock, connect_timeout())  # the login, whatever the server drips
        try:
            db.connect(sock)
        except pymysql.err.MySQLError as error:
            sock.close()
            raise self.explain(error, connection) from None
        finally:
            handshake.cancel()
        # Logged in: statements may now take as long as the server's own time limit allows.
        # (PyMySQL has no public setter; it rereads this before every read.)
        db._read_timeout = db._write_timeout = statement_timeout() + 10  # type: ignore[attr-defined]  # private, see above
        return db

    def explain(self, error: pymysql.err.MySQLError, connection: Connection) -> StorageError:
        code = error.args[0] if error.args else None
        text = str(error).lower()
        if code == 1045:
            return self.auth_failed()
        if code == 1049:
            return self.database_missing(connection)
        if code == 1044:
            return self.database_missing(connection, may_be_refused=True)
        if code == 3159 or "secure transport" in text:
            return self.tls_required(field="endpoint")
        return self.unreachable(connection)  # refused, reset, timed out, a failed TLS handshake

    def _set_time_limit(self, cursor: pymysql.cursors.Cursor, seconds: int) -> None:
        if "mariadb" in cursor.connection.get_server_info().lower():
            cursor.execute("SET SESSION max_statement_time = %s", (int(seconds),))
        else:
            cursor.execute("SET SESSION max_execution_time = %s", (int(seconds) * 1000,))

    # Global privileges a read-only transaction does not hold back: files (INTO OUTFILE, DUMPFILE,
    # LOAD_FILE, LOAD DATA) and server settings (SET GLOBAL, e.g. the general log's file).
    WRITING_PRIVILEGES = ("FILE", "SUPER", "SYSTEM_VARIABLES_ADMIN", "SHUTDOWN")

    def write_capabilities(self, db: Db) -> str:
        cursor = db.cursor()
        cursor.execute(
            "SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = "
            "CONCAT(QUOTE(SUBSTRING_INDEX(CURRENT_USER(), '@', 1)), '@', "
            "QUOTE(SUBSTRING_INDEX(CURRENT_USER(), '@', -1)))"
        )
        held = sorted({row[0] for row in cursor.fetchall()} & set(self.WRITING_PRIVILEGES))
        if not held:
            return ""
        return f"This login can write files or server settings on the server ({', '.join(held)})."

    def begin_read_only(self, db: Db, *, timeout: int, for_query: bool = False) -> None:
        if for_query:
            self.refuse_writing_login(db)
        cursor = db.cursor()
        # Session-wide too: a COMMIT typed in the query box starts another read-only transaction.
        cursor.execute("SET SESSION TRANSACTION READ ONLY")
        self._set_time_limit(cursor, timeout)
        cursor.execute("START TRANSACTION READ ONLY")

    def quote_name(self, db: Db, *parts: str) -> str:
        return quote_with("`", "`", parts)

    def run_statement(self, db: Db, statement: str, *, row_limit: int) -> tuple[list[str], list[tuple[Any, ...]], bool]:
        cursor = db.cursor()
        # The server stops after row_limit + 1 rows (PyMySQL sends one statement at a time).
        cursor.execute("SET SESSION sql_select_limit = %s", (row_limit + 1,))
        stream = db.cursor(pymysql.cursors.SSCursor)
        stream.execute(statement)
        columns = [column[0] for column in stream.description or []]
        rows = [tuple(row) for row in stream.fetchmany(row_limit + 1)] if columns else []
        _abandon_unbuffered(stream)
        return columns, rows[:row_limit], len(rows) > row_limit

    def open_stream(self, db: Db, statement: str) -> CsvStream:
        self._set_time_limit(db.cursor(), self.download_time_limit)
        cursor = db.cursor(pymysql.cursors.SSCursor)  # unbuffered: rows are read as they are written
        cursor.execute(statement)
        columns = [column[0] for column in cursor.description or []]

        def release(finished: bool) -> None:
            if not finished:
                _abandon_unbuffered(cursor)
            close_quietly(db)

        return CsvStream(columns=columns, fetch_batch=lambda: cursor.fetchmany(CSV_FETCH_ROWS), release=release)

    def query_failed(self, error: Exception, *, timeout: int) -> QueryFailed:
        code = error.args[0] if error.args else None
        if code in MYSQL_TIMEOUT_ERRORS:
            return QueryFailed(f"The statement ran longer than {timeout} s and the database cancelled it.")
        message = str(error.args[1]) if len(error.args) > 1 else str(error)
        return QueryFailed(f"{message} [MySQL error {code}]" if code else message)


def _abandon_unbuffered(cursor: pymysql.cursors.Cursor) -> None:
    """Drop the rest of an unbuffered result without reading it: closing the connection
    stops the server sending. (PyMySQL would otherwise read every remaining row.)"""
    result = getattr(cursor, "_result", None)
    if result is not None and getattr(result, "unbuffered_active", False):
        result.unbuffered_active = False
        close_quietly(cursor.connection)


BACKEND = MySqlBackend()
