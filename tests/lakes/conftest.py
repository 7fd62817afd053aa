"""The ADLS Gen2, ADLS Gen1 and DBFS stand-ins (tests/standins/: no emulator exists) for the
tests in this folder, each wrapped in a `Lake` (stores.py). They serve HTTPS, so each one asks
for `trust_standin_ca` (tests/conftest.py): only the tests that start one trust its CA."""

from __future__ import annotations

import secrets

import pytest

from tests.standins.aad import AadStandin
from tests.standins.adls_gen1 import AdlsGen1Standin
from tests.standins.adls_gen2 import AdlsGen2Standin
from tests.standins.dbfs import DbfsStandin
from tests.standins.tls import server_ssl_context
from tests.support import remember_secret

from .stores import (
    FILESYSTEM,
    OUTSIDER_ID,
    OUTSIDER_SECRET,
    READER_ID,
    READER_SECRET,
    TENANT,
    DbfsLake,
    Gen1Lake,
    Gen2Lake,
    Lake,
)


@pytest.fixture
def aad(trust_standin_ca):
    """The Entra ID token endpoint, knowing a reader (granted access by the lakes) and an outsider."""
    with AadStandin() as server:
        server.add_principal(TENANT, READER_ID, READER_SECRET)
        server.add_principal(TENANT, OUTSIDER_ID, OUTSIDER_SECRET)
        yield server


@pytest.fixture
def gen2(aad) -> Gen2Lake:
    with AdlsGen2Standin(aad, tenant_id=TENANT) as server:
        server.grant(READER_ID)  # account-wide, so a missing filesystem is a 404, not a 403
        server.add_filesystem(FILESYSTEM)
        yield Gen2Lake(server, aad)


@pytest.fixture
def gen1(aad) -> Gen1Lake:
    with AdlsGen1Standin(aad, tenant_id=TENANT) as server:
        server.grant(READER_ID)
        yield Gen1Lake(server, aad)


@pytest.fixture
def dbfs(trust_standin_ca) -> DbfsLake:
    # HTTPS, as a Databricks workspace is; the Workspace URL field accepts https only.
    with DbfsStandin(tokens=(remember_secret(f"dapi{secrets.token_hex(16)}"),), ssl_context=server_ssl_context()) as server:
        yield DbfsLake(server)


@pytest.fixture(params=["gen2", "gen1", "dbfs"])
def lake(request) -> Lake:
    return request.getfixturevalue(request.param)
