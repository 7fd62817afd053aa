"""Azure SQL Database through python-tds. No SQL Server can run here, so these tests cover
what can be run: how a connection is composed (TLS on, bounded timeouts, the token of a
service principal from the Authority URL), and how failures read (a refused port, a
silent server, a refused token). The live tests run only when STUDIO_TEST_AZURE_SQL_DSN
names a real server (mssql://user:password@server.database.windows.net:1433/database)
and are reported as skipped otherwise.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from urllib.parse import unquote, urlsplit

import pytest
from django.urls import reverse

from datastores.models import Datastore
from datastores.storage import AuthType, Connection, StorageError
from datastores.storage.sql.azure_sql import BACKEND as AZURE_SQL_BACKEND
from tests.pages import field_block
from tests.standins.aad import AadStandin
from tests.support import free_port, remember_secret

pytestmark = pytest.mark.django_db
TENANT = "6f1c2a4e-0000-4000-8000-00000000a11d"
CLIENT = "11111111-1111-4111-8111-111111111111"
CLIENT_SECRET = remember_secret("sql-reader-secret-value")
LIVE_DSN = os.environ.get("STUDIO_TEST_AZURE_SQL_DSN", "")
live = pytest.mark.skipif(
    not LIVE_DSN,
    reason="no SQL Server can run here: "
    "set STUDIO_TEST_AZURE_SQL_DSN=mssql://user:password@server.database.windows.net:1433/db "
    "to run the live Azure SQL Database tests",
)


def sql_login(**values) -> Connection:
    return Connection(
        "AzureSqlDatabase",
        AuthType.SQL_AUTHENTICATION,
        {
            "server_name": "sales",
            "database_name": "shop",
            "port": 1433,
            "endpoint": "database.windows.net",
            "user_id": "reader",
            "password": "pw-for-composition",
            **values,
        },
    )


def service_principal(aad: AadStandin, **values) -> Connection:
    return Connection(
        "AzureSqlDatabase",
        AuthType.SERVICE_PRINCIPAL,
        {
            "server_name": "sales",
            "database_name": "shop",
            "port": 1433,
            "endpoint": "database.windows.net",
            "tenant_id": TENANT,
            "client_id": CLIENT,
            "client_secret": CLIENT_SECRET,
            "resource_url": "https://database.windows.net/",
            "authority_url": aad.authority,
            **values,
        },
    )


@pytest.fixture
def aad(trust_standin_ca):
    with AadStandin() as server:
        server.add_principal(TENANT, CLIENT, CLIENT_SECRET)
        yield server


@pytest.fixture
def register_azure_sql(client, workspace):
    """Post the New datastore form for an Azure SQL Database at 127.0.0.1."""

    def post(**overrides):
        data = {
            "name": "azure_sales",
            "storage_type": "AzureSqlDatabase",
            "auth_type": "sql_authentication",
            "server_name": "sales",
            "database_name": "shop",
            "port": "1433",
            "endpoint": "127.0.0.1",
            "user_id": "reader",
            "password": remember_secret("Pa55word-for-azure-sql"),
            **overrides,
        }
        return client.post(reverse("datastore_new", args=[workspace.name]), data)

    return post


# --- composition --------------------------------------------------------------------------


def test_sql_authentication_connects_over_verified_tls_with_bounded_timeouts(settings):
    settings.STORAGE_TIMEOUT_SECONDS = 30
    kwargs = AZURE_SQL_BACKEND.connect_kwargs(sql_login())
    assert (kwargs["dsn"], kwargs["port"], kwargs["database"]) == ("sales.database.windows.net", 1433, "shop")
    assert (kwargs["user"], kwargs["password"]) == ("reader", "pw-for-composition")
    # Encrypt=True: a CA bundle turns TLS on for the whole session, and the host name is checked.
    assert os.path.exists(kwargs["cafile"]) and kwargs["validate_host"] and not kwargs["enc_login_only"]
    assert kwargs["login_timeout"] == 10 and kwargs["timeout"] == 30 and kwargs["disable_connect_retry"]
    assert "access_token_callable" not in kwargs


def test_an_allowed_host_is_the_address_itself():
    assert AZURE_SQL_BACKEND.connect_kwargs(sql_login(endpoint="127.0.0.1"))["dsn"] == "127.0.0.1"


def test_a_service_principal_brings_a_token_for_the_resource_from_the_authority(aad):
    kwargs = AZURE_SQL_BACKEND.connect_kwargs(service_principal(aad))
    assert "user" not in kwargs and "password" not in kwargs
    token = kwargs["access_token_callable"]()
    assert aad.token_is_valid(token, "https://database.windows.net")
    assert f"POST /{TENANT}/oauth2/v2.0/token" in aad.requests  # the Authority URL was honoured


def test_a_refused_client_secret_is_named_without_echoing_it(aad):
    with pytest.raises(StorageError) as failure:
        AZURE_SQL_BACKEND.connect_kwargs(service_principal(aad, client_secret="not-the-secret"))
    assert "AADSTS7000215" in failure.value.message and failure.value.field == "client_secret"
    assert "not-the-secret" not in failure.value.message


def test_an_unreachable_authority_is_named():
    port = free_port()
    unreachable = type("Authority", (), {"authority": f"https://127.0.0.1:{port}"})()
    with pytest.raises(StorageError) as failure:
        AZURE_SQL_BACKEND.check_connection(service_principal(unreachable))
    assert "authority" in failure.value.message.lower() and failure.value.field == "authority_url"


def test_names_are_bracket_quoted_and_pages_use_offset_fetch():
    assert AZURE_SQL_BACKEND.quote_name(None, "dbo", "odd]name") == "[dbo].[odd]]name]"
    assert (
        AZURE_SQL_BACKEND.page_clause(["[id]"], limit=101, offset=200)
        == " ORDER BY [id] OFFSET 200 ROWS FETCH NEXT 101 ROWS ONLY"
    )
    assert AZURE_SQL_BACKEND.page_clause([], limit=10, offset=0).startswith(" ORDER BY (SELECT NULL)")


# --- failures, through the New datastore form ------------------------------------------------


def test_validation_is_on_for_azure_sql_and_an_unreachable_port_fails_fast(register_azure_sql):
    port = free_port()
    started = time.monotonic()
    page = register_azure_sql(port=str(port)).content.decode()
    assert time.monotonic() - started < 5
    assert f"127.0.0.1:{port} could not be reached" in field_block(page, "server_name")
    assert not Datastore.objects.filter(name="azure_sales").exists()


def test_a_silent_server_times_out_within_the_connect_timeout(register_azure_sql, settings, silent_port):
    settings.STORAGE_TIMEOUT_SECONDS = 2
    started = time.monotonic()
    page = register_azure_sql(port=str(silent_port)).content.decode()
    elapsed = time.monotonic() - started
    assert elapsed < 8
    assert f"127.0.0.1:{silent_port} could not be reached" in field_block(page, "server_name")


def test_a_server_that_hangs_up_reads_as_unreachable(register_azure_sql):
    with socket.socket() as rude:
        rude.bind(("127.0.0.1", 0))
        rude.listen(8)
        port = rude.getsockname()[1]

        def hang_up():
            connection, _ = rude.accept()
            connection.close()

        threading.Thread(target=hang_up, daemon=True).start()
        page = register_azure_sql(port=str(port)).content.decode()
    assert f"127.0.0.1:{port} could not be reached" in field_block(page, "server_name")


def test_a_service_principal_is_checked_through_the_form(register_azure_sql, aad):
    service_principal_fields = {
        "auth_type": "service_principal",
        "tenant_id": TENANT,
        "client_id": CLIENT,
        "resource_url": "https://database.windows.net/",
        "authority_url": aad.authority,
        "port": str(free_port()),
    }
    wrong_secret = remember_secret("wrong-sql-secret")
    page = register_azure_sql(**service_principal_fields, client_secret=wrong_secret).content.decode()
    assert "The token request failed" in field_block(page, "client_secret") and "AADSTS7000215" in field_block(
        page, "client_secret"
    )
    page = register_azure_sql(**service_principal_fields, client_secret=CLIENT_SECRET).content.decode()
    assert "could not be reached" in field_block(page, "server_name")  # the token came; the server did not


# --- live, against a real Azure SQL Database -----------------------------------------------


def live_connection(**values) -> Connection:
    dsn = urlsplit(LIVE_DSN)
    assert dsn.hostname is not None
    server_name, _, endpoint = dsn.hostname.partition(".")
    return sql_login(
        server_name=server_name,
        endpoint=endpoint,
        port=dsn.port or 1433,
        database_name=dsn.path.lstrip("/"),
        user_id=unquote(dsn.username or ""),
        password=remember_secret(unquote(dsn.password or "")),
        **values,
    )


@live
def test_live_the_right_password_connects():
    AZURE_SQL_BACKEND.check_connection(live_connection())


@live
def test_live_a_wrong_password_is_failed_authentication():
    with pytest.raises(StorageError) as failure:
        AZURE_SQL_BACKEND.check_connection(live_connection(password="certainly-not-the-password"))
    assert failure.value.message.startswith("Authentication failed")


@live
def test_live_a_missing_database_is_named():
    with pytest.raises(StorageError) as failure:
        AZURE_SQL_BACKEND.check_connection(live_connection(database_name="studio_no_such_database"))
    assert "does not exist" in failure.value.message or "may not open" in failure.value.message


@live
def test_live_tables_are_listed_and_the_first_one_previews():
    listing = AZURE_SQL_BACKEND.list_tables(live_connection())
    tables = [table for schema in listing.schemas for table in schema.tables]
    if not tables:
        pytest.skip("the live database has no table to preview")
    page = AZURE_SQL_BACKEND.preview_rows(live_connection(), tables[0].schema, tables[0].name, page=1, page_size=5)
    assert page.columns and len(page.rows) <= 5
