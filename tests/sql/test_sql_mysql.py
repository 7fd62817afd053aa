"""What only MySQL datastores do, against the real MariaDB server that scripts/test starts
(root/root over TCP): TLS towards Azure, and the query box refusing two statements at once.

What MySQL shares with PostgreSQL (validation, paging, quoting, the read-only transaction,
CSV downloads) runs against both engines in test_sql_engines.py; the database is made in
tests/sql/servers.py.
"""

from __future__ import annotations

import os

import pytest

from datastores.models import Datastore
from datastores.storage import AuthType, Connection
from datastores.storage.sql.mysql import BACKEND as MYSQL_BACKEND

from .servers import ORDERS, run_query

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales(register, maria, workspace) -> Datastore:
    assert register(maria).status_code == 302
    return Datastore.objects.get(workspace=workspace, name="maria_sales")


def test_azure_servers_get_verified_tls_and_local_ones_use_it_when_offered():
    values = {"server_name": "sales", "database_name": "shop", "port": 3306, "user_id": "reader", "password": "pw"}
    azure = Connection("AzureMySql", AuthType.SQL_AUTHENTICATION, {**values, "endpoint": "mysql.database.azure.com"})
    kwargs = MYSQL_BACKEND.connect_kwargs(azure)
    assert kwargs["host"] == "sales.mysql.database.azure.com" and kwargs["connect_timeout"] <= 10
    assert kwargs["ssl_verify_cert"] and kwargs["ssl_verify_identity"] and os.path.exists(kwargs["ssl_ca"])
    local = Connection("AzureMySql", AuthType.SQL_AUTHENTICATION, {**values, "endpoint": "127.0.0.1"})
    kwargs = MYSQL_BACKEND.connect_kwargs(local)
    assert kwargs["host"] == "127.0.0.1" and "ssl_ca" not in kwargs  # PyMySQL's "preferred" TLS


def test_two_statements_at_once_are_refused(client, sales, maria):
    page = run_query(client, sales, "COMMIT; DELETE FROM orders")
    assert "You have an error in your SQL syntax" in page and "[MySQL error 1064]" in page
    assert maria.count() == ORDERS
