"""Azure SQL Database (register_azure_sql_database), through python-tds (pure Python
TDS, no ODBC), always over TLS with the certificate and host name verified. Service
principals get an Entra ID token from azure-identity.

SQL Server has no read-only transaction. A session for a typed query asks for
ApplicationIntent=ReadOnly and goes on only when it lands on a read-only replica
(read scale-out), where the database itself refuses writes; elsewhere the query
box refuses to run. Browsing, previews and table downloads run only statements
the studio composes.
"""

from __future__ import annotations

from typing import Any

import certifi
import pytds

from .. import endpoints, fields, network, studio_identity
from ..auth import AuthType
from ..base import AuthMethod, Connection
from ..entra import access_token
from ..errors import AuthenticationFailed, StorageError, Unreachable
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

DATABASE_SCOPE = "https://database.windows.net/.default"
IDENTITY_ACCESS = (
    "Create a database user for it (CREATE USER [identity name] FROM EXTERNAL PROVIDER) and give it "
    "db_datareader; the server needs a Microsoft Entra admin."
)
NO_READ_ONLY_REPLICA = (
    "SQL Server has no read-only transaction, so the studio runs typed queries only on a "
    "read-only replica, and this database has none (read scale-out is off). "
    "Browse and download tables instead, or enable read scale-out."
)


class AzureSqlBackend(SqlBackend):
    storage_type = "AzureSqlDatabase"
    label = "Azure SQL Database"
    connection_fields = sql_connection_fields(port=1433, endpoint="database.windows.net", suffixes=endpoints.AZURE_SQL)
    suffixes = endpoints.AZURE_SQL
    auth_methods = (
        AuthMethod(AuthType.SQL_AUTHENTICATION, fields.sql_authentication_fields()),
        AuthMethod(
            AuthType.SERVICE_PRINCIPAL,
            fields.service_principal_fields(resource_url="https://database.windows.net/"),
        ),
        studio_identity.auth_method(IDENTITY_ACCESS),
    )
    reach_fields = ("server_name", "endpoint", "port", "authority_url", "resource_url", "tenant_id")
    statement_errors = (pytds.Error, TimeoutError)
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

    def page_clause(self, order_by: list[str], *, limit: int, offset: int) -> str:
        order = ", ".join(order_by) or "(SELECT NULL)"
        return f" ORDER BY {order} OFFSET {int(offset)} ROWS FETCH NEXT {int(limit)} ROWS ONLY"

    def quote_name(self, db: Db, *parts: str) -> str:
        return quote_with("[", "]", parts)

    def connect_kwargs(self, connection: Connection, *, read_only_intent: bool = False) -> dict[str, Any]:
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
        if connection.auth_type == AuthType.IDENTITY:
            token = studio_identity.access_token(DATABASE_SCOPE)
            kwargs["access_token_callable"] = lambda: token
        elif connection.auth_type == AuthType.SERVICE_PRINCIPAL:
            token = access_token(connection, connection["resource_url"])
            kwargs["access_token_callable"] = lambda: token
        else:
            kwargs.update(user=connection["user_id"], password=connection["password"])
        return kwargs

    def connect(self, connection: Connection, *, for_query: bool = False) -> Db:
        kwargs = self.connect_kwargs(connection, read_only_intent=for_query)
        # A socket to the checked address; pytds keeps the name for TLS. The login is watched.
        sock = self.open_socket(connection)
        handshake = network.watch(sock, connect_timeout())
        try:
            return pytds.connect(**kwargs, sock=sock)
        except Exception as error:  # pytds, socket and OpenSSL errors; the message never quotes them
            sock.close()
            raise self.explain(error, connection) from None
        finally:
            handshake.cancel()

    def explain(self, error: Exception, connection: Connection) -> StorageError:
        # pytds retries a failed login until its timeout, then raises TimeoutError from the
        # real cause: look at the cause first.
        cause: BaseException = error
        while isinstance(cause, TimeoutError) and cause.__cause__ is not None:
            cause = cause.__cause__
        number = getattr(cause, "msg_no", None) or getattr(cause, "number", None)
        text = str(getattr(cause, "text", "") or cause).lower()
        if number == 4060 or "cannot open database" in text:
            return self.database_missing(connection)
        if number in (18456, 18486, 18487, 18488, 18452) or "login failed" in text:
            if connection.auth_type == AuthType.IDENTITY:
                return AuthenticationFailed(
                    f"The server refused the token of the studio's identity ({studio_identity.describe()}). "
                    + IDENTITY_ACCESS,
                    field="auth_type",
                )
            if connection.auth_type == AuthType.SERVICE_PRINCIPAL:
                return AuthenticationFailed(
                    "The server refused the service principal's token. Create a database user for it "
                    "(CREATE USER [app name] FROM EXTERNAL PROVIDER) and check the Resource URL.",
                    field="client_id",
                )
            return self.auth_failed()
        if number == 40615 or "firewall" in text:
            return Unreachable(
                "The server's firewall refused this studio's address. Add it to the server's firewall rules.",
                field="server_name",
            )
        return self.unreachable(connection)  # refused, reset, timed out, a failed TLS handshake

    def begin_read_only(self, db: Db, *, timeout: int, for_query: bool = False) -> None:
        cursor = db.cursor()
        if for_query:
            cursor.execute("SELECT CAST(DATABASEPROPERTYEX(DB_NAME(), 'Updateability') AS nvarchar(20))")
            if cursor.fetchone()[0] != "READ_ONLY":
                raise QueryFailed(NO_READ_ONLY_REPLICA)
        # Nothing waits long on a lock.
        cursor.execute(f"SET TRANSACTION ISOLATION LEVEL READ COMMITTED; SET LOCK_TIMEOUT {int(timeout) * 1000:d}")

    def run_statement(self, db: Db, statement: str, *, row_limit: int) -> tuple[list[str], list[tuple[Any, ...]], bool]:
        cursor = db.cursor()
        cursor.execute(f"SET ROWCOUNT {row_limit + 1:d}")
        cursor.execute(statement)
        columns = [column[0] for column in cursor.description or []]
        rows = [tuple(row) for row in cursor.fetchmany(row_limit + 1)] if columns else []
        return columns, rows[:row_limit], len(rows) > row_limit

    def open_stream(self, db: Db, statement: str) -> CsvStream:
        cursor = db.cursor()  # python-tds reads rows off the socket as they are fetched
        cursor.execute(statement)
        columns = [column[0] for column in cursor.description or []]

        def release(finished: bool) -> None:
            close_quietly(db)

        return CsvStream(columns=columns, fetch_batch=lambda: cursor.fetchmany(CSV_FETCH_ROWS), release=release)

    def query_failed(self, error: Exception, *, timeout: int) -> QueryFailed:
        if isinstance(error, TimeoutError):
            return QueryFailed(f"The statement ran longer than {timeout} s and was cancelled.")
        number = getattr(error, "msg_no", None)
        message = str(getattr(error, "text", "") or error)
        return QueryFailed(f"{message} [SQL Server error {number}]" if number else message)


BACKEND = AzureSqlBackend()
