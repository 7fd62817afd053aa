"""The SQL databases for the tests in this folder, on the real PostgreSQL and MariaDB servers that
scripts/test starts (see servers.py beside this file), and the New datastore form's POST for one."""

from __future__ import annotations

import pytest

from .servers import (
    create_database,
    drop_database,
    server_url,
)


@pytest.fixture(scope="session")
def pg_tls():
    """A database with one table on the PostgreSQL server that offers TLS."""
    database = create_database(server_url("STUDIO_TEST_POSTGRES_TLS_URL"), setup="CREATE TABLE t (x int)")
    yield database
    drop_database(database)
