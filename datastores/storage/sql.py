"""Azure SQL Database, Azure Database for PostgreSQL and for MySQL
(register_azure_sql_database, register_azure_postgre_sql, register_azure_my_sql).

The server's address is `server_name.endpoint` (myserver.postgres.database.azure.com);
an endpoint that is a host allowed in DATASTORE_ALLOWED_HOSTS (a private
endpoint, a local server) is the address itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
import pymysql
from django.conf import settings

from ..choices import AuthType
from ..hosts import is_custom_host, split_host_port
from . import fields
from .base import AuthMethod, Connection, ServiceCheckFailed, StorageBackend


def server_host(connection: Connection) -> str:
    endpoint = connection["endpoint"]
    if is_custom_host(endpoint):
        return split_host_port(endpoint)[0]
    return f"{connection['server_name']}.{endpoint}"


def connect_timeout() -> int:
    return min(settings.STORAGE_TIMEOUT_SECONDS, 10)


def sql_connection_fields(*, port: int, endpoint: str) -> dict:
    return {
        "server_name": fields.server_name_field(),
        "database_name": fields.database_name_field(),
        "port": fields.port_field(port),
        "endpoint": fields.endpoint_field(endpoint),
    }


class SqlBackend(StorageBackend):
    """What the three database types share."""

    options = {"skip_validation": fields.skip_validation_field()}
    reach_fields = ("server_name", "endpoint", "port")

    def location(self, settings: Mapping[str, Any]) -> str:
        return f"{settings.get('server_name', '')}/{settings.get('database_name', '')}"

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


class AzureSqlBackend(SqlBackend):
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


class PostgreSqlBackend(SqlBackend):
    storage_type = "AzurePostgreSql"
    label = "Azure Database for PostgreSQL"
    connection_fields = {
        **sql_connection_fields(port=5432, endpoint="postgres.database.azure.com"),
        "enforce_ssl": fields.checkbox_field("Enforce SSL", "Refuse to connect without TLS."),
    }
    auth_methods = (AuthMethod(AuthType.SQL_AUTHENTICATION, fields.sql_authentication_fields()),)

    def check_connection(self, connection: Connection) -> None:
        try:
            with psycopg.connect(
                host=server_host(connection),
                port=connection["port"],
                dbname=connection["database_name"],
                user=connection["user_id"],
                password=connection["password"],
                connect_timeout=connect_timeout(),
                sslmode="require" if connection["enforce_ssl"] else "prefer",
                application_name="datastore-studio",
            ) as db:
                db.execute("SELECT 1")
        except psycopg.OperationalError as error:
            raise self.explain(error, connection) from None

    def explain(self, error: psycopg.OperationalError, connection: Connection) -> ServiceCheckFailed:
        text = str(error).lower()
        if "password authentication failed" in text or "no password supplied" in text or "role" in text and "does not exist" in text:
            return self.auth_failed()
        if "database" in text and "does not exist" in text:
            return self.database_missing(connection)
        if "ssl" in text:
            return ServiceCheckFailed(
                "The server does not accept TLS, but Enforce SSL is ticked. "
                "Enable SSL on the server, or untick Enforce SSL if this network is trusted.",
                field="enforce_ssl",
            )
        return self.unreachable(connection, timed_out="timeout" in text)


class MySqlBackend(SqlBackend):
    storage_type = "AzureMySql"
    label = "Azure Database for MySQL"
    connection_fields = sql_connection_fields(port=3306, endpoint="mysql.database.azure.com")
    auth_methods = (AuthMethod(AuthType.SQL_AUTHENTICATION, fields.sql_authentication_fields()),)

    def check_connection(self, connection: Connection) -> None:
        try:
            db = pymysql.connect(
                host=server_host(connection),
                port=connection["port"],
                database=connection["database_name"],
                user=connection["user_id"],
                password=connection["password"],
                connect_timeout=connect_timeout(),
                read_timeout=settings.STORAGE_TIMEOUT_SECONDS,
            )
        except pymysql.err.OperationalError as error:
            raise self.explain(error, connection) from None
        with db, db.cursor() as cursor:
            cursor.execute("SELECT 1")

    def explain(self, error: pymysql.err.OperationalError, connection: Connection) -> ServiceCheckFailed:
        code = error.args[0] if error.args else None
        if code == 1045:
            return self.auth_failed()
        if code == 1049:
            return self.database_missing(connection)
        return self.unreachable(connection, timed_out="timed out" in str(error).lower())


AZURE_SQL_BACKEND = AzureSqlBackend()
POSTGRESQL_BACKEND = PostgreSqlBackend()
MYSQL_BACKEND = MySqlBackend()
