"""Azure Database for PostgreSQL (register_azure_postgre_sql), through psycopg 3."""

from __future__ import annotations

import os
from typing import Any

import certifi
import psycopg
from psycopg import sql as pg_sql
from psycopg.adapt import AdaptersMap
from psycopg.types.string import TextLoader

from .. import endpoints, fields
from ..auth import AuthType
from ..base import AuthMethod, Connection
from ..errors import StorageError
from ..tables import CsvStream, QueryFailed
from .base import (
    APPLICATION_NAME,
    CSV_FETCH_ROWS,
    Db,
    SqlBackend,
    close_quietly,
    connect_timeout,
    server_host,
    sql_connection_fields,
)

PG_NUMBER_TYPES = {"int2", "int4", "int8", "oid", "float4", "float8", "numeric"}


def load_as_text(adapters: AdaptersMap, *, keep_numbers: bool) -> None:
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
        **sql_connection_fields(port=5432, endpoint="postgres.database.azure.com", suffixes=endpoints.POSTGRES),
        "enforce_ssl": fields.checkbox_field("Enforce SSL", "Refuse to connect without TLS."),
    }
    auth_methods = (AuthMethod(AuthType.SQL_AUTHENTICATION, fields.sql_authentication_fields()),)
    statement_errors = (psycopg.Error,)
    suffixes = endpoints.POSTGRES
    # Unticking Enforce SSL is a new way to send the password: like a protocol, it needs it typed again.
    reach_fields = ("server_name", "endpoint", "port", "enforce_ssl")

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

    def connect_kwargs(self, connection: Connection, *, hostaddr: str) -> dict[str, Any]:
        """libpq parameters, each a single value psycopg quotes: `hostaddr` is the checked address
        libpq connects to (no second host, no socket path), `host` the name TLS checks."""
        kwargs = {
            "host": server_host(connection),
            "hostaddr": hostaddr,
            "port": connection["port"],
            "dbname": connection["database_name"],
            "user": connection["user_id"],
            "password": connection["password"],
            "passfile": os.devnull,
            "connect_timeout": connect_timeout(),
            "sslmode": "prefer",
            "application_name": APPLICATION_NAME,
        }
        if connection["enforce_ssl"]:
            # Enforce SSL: the certificate and the host name are verified, as for MySQL and Azure SQL.
            kwargs.update(sslmode="verify-full", sslrootcert=os.environ.get("SSL_CERT_FILE") or certifi.where())
        return kwargs

    def connect(self, connection: Connection, *, for_query: bool = False) -> psycopg.Connection[Any]:
        kwargs = self.connect_kwargs(connection, hostaddr=self.checked_address(connection))
        try:
            db = psycopg.connect(**kwargs, autocommit=True)
        except psycopg.Error as error:
            raise self.explain(error, connection) from None
        load_as_text(db.adapters, keep_numbers=True)
        return db

    def explain(self, error: psycopg.Error, connection: Connection) -> StorageError:
        # libpq reports connection failures as text without a SQLSTATE; none of it holds the password.
        text = str(error).lower()
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
        return self.unreachable(connection)  # refused, reset, timed out, a failed TLS handshake

    def write_capabilities(self, db: Db) -> str:
        """What a read-only transaction does not stop this login from doing on the server:
        superuser, COPY TO/FROM PROGRAM, server files (COPY TO a file, pg_read_file, lo_import)."""
        # One word, not booleans: the session loads every non-number as text ('f' would be true).
        kind = db.execute(
            "SELECT CASE WHEN rolsuper THEN 'superuser'"
            " WHEN pg_has_role(current_user, 'pg_execute_server_program', 'USAGE') THEN 'program'"
            " WHEN pg_has_role(current_user, 'pg_write_server_files', 'USAGE')"
            "   OR pg_has_role(current_user, 'pg_read_server_files', 'USAGE') THEN 'files' ELSE '' END"
            " FROM pg_catalog.pg_roles WHERE rolname = current_user"
        ).fetchone()[0]
        if kind == "superuser":
            return "This login is a superuser: it can run programs and write files on the server."
        if kind == "program":
            return "This login can run programs on the server (pg_execute_server_program)."
        if kind == "files":
            return "This login can read or write files on the server (pg_write_server_files, pg_read_server_files)."
        return ""

    def begin_read_only(self, db: Db, *, timeout: int, for_query: bool = False) -> None:
        if for_query:
            self.refuse_writing_login(db)
        # Session-wide, so even a COMMIT typed in the query box starts another read-only transaction.
        db.execute("SET default_transaction_read_only = on")
        db.execute("SELECT set_config('statement_timeout', %s, false)", [f"{int(timeout) * 1000}"])
        db.execute("SET TimeZone = 'UTC'")  # times read the same in every page and file
        db.autocommit = False

    def quote_name(self, db: Db, *parts: str) -> str:
        return pg_sql.Identifier(*parts).as_string(db)

    def run_statement(self, db: Db, statement: str, *, row_limit: int) -> tuple[list[str], list[tuple[Any, ...]], bool]:
        # stream() uses the extended protocol: one statement only, rows fetched in chunks,
        # and the query is cancelled once we have enough.
        cursor = db.cursor()
        rows: list[tuple[Any, ...]] = []
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

    def open_stream(self, db: Db, statement: str) -> CsvStream:
        cursor = db.cursor(name="studio_csv")  # DECLARE ... CURSOR: a server-side cursor
        load_as_text(cursor.adapters, keep_numbers=False)  # the CSV has the database's own text, as COPY would
        cursor.execute(statement)
        columns = [column.name for column in cursor.description or []]

        def release(finished: bool) -> None:
            close_quietly(db)

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
        if sqlstate := getattr(error, "sqlstate", None):
            parts.append(f"[SQLSTATE {sqlstate}]")
        return QueryFailed(" ".join(parts))


BACKEND = PostgreSqlBackend()
