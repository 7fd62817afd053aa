"""Shared fixtures. The servers themselves (Azurite, PostgreSQL, MariaDB) are started by
scripts/test, which passes their addresses in STUDIO_TEST_* variables."""

from __future__ import annotations

import base64
import os
import socket
import uuid

import pytest
from azure.storage.blob import BlobServiceClient
from django.test import Client

AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Every secret a test hands to the studio; no response or log line may contain one.
SECRETS_USED: set[str] = set()


def remember_secret(value: str) -> str:
    SECRETS_USED.add(value)
    return value


def _required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite with scripts/test, which starts the servers.")
    return value


@pytest.fixture(scope="session")
def azurite_url() -> str:
    return _required_env("STUDIO_TEST_AZURITE_URL")


@pytest.fixture(scope="session")
def azurite_endpoint(azurite_url) -> str:
    """'127.0.0.1:PORT': the endpoint a user types for the local Azurite."""
    return azurite_url.split("://")[1].split("/")[0]


@pytest.fixture(scope="session")
def blob_service(azurite_url) -> BlobServiceClient:
    """The SDK straight against Azurite, to check what storage really holds."""
    remember_secret(AZURITE_KEY)
    return BlobServiceClient(azurite_url, credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY})


@pytest.fixture
def container_name(blob_service) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    blob_service.create_container(name)
    return name


FILESHARE_ACCOUNT = "studiofiles"
FILESHARE_KEY = base64.b64encode(b"file-share-stand-in-key-" * 3).decode()


@pytest.fixture(scope="session")
def fileshare_standin():
    """The Azure Files stand-in (no emulator exists), checking SharedKey and SAS signatures."""
    from .standins.fileshare import FileShareStandin

    remember_secret(FILESHARE_KEY)
    with FileShareStandin(FILESHARE_ACCOUNT, FILESHARE_KEY) as standin:
        yield standin


@pytest.fixture
def share_name(fileshare_standin) -> str:
    from azure.storage.fileshare import ShareServiceClient

    name = f"share-{uuid.uuid4().hex[:12]}"
    ShareServiceClient(fileshare_standin.account_url, credential=fileshare_standin.credential).create_share(name)
    return name


@pytest.fixture(scope="session")
def pg():
    """A database with the sales tables on the plain PostgreSQL server (see tests/sql_servers.py)."""
    from .sql_servers import PG_SALES_SETUP, create_database, drop_database, server_url

    database = create_database(server_url("STUDIO_TEST_POSTGRES_URL"), setup=PG_SALES_SETUP)
    yield database
    drop_database(database)


@pytest.fixture(scope="session")
def pg_tls():
    """A database with one table on the PostgreSQL server that offers TLS."""
    from .sql_servers import create_database, drop_database, server_url

    database = create_database(server_url("STUDIO_TEST_POSTGRES_TLS_URL"), setup="CREATE TABLE t (x int)")
    yield database
    drop_database(database)


@pytest.fixture(scope="session")
def maria():
    """A database with the sales tables on the MariaDB server, standing in for Azure Database for MySQL."""
    from .sql_servers import create_maria_database, drop_maria_database, server_url

    url = server_url("STUDIO_TEST_MYSQL_URL")
    database = create_maria_database(url)
    yield database
    drop_maria_database(url, database)


@pytest.fixture
def user(django_user_model):
    """The signed-in person. The client signs in with force_login, so no password (and no slow hashing)."""
    return django_user_model.objects.create_user(username="ada")


def free_port() -> int:
    """A local port nothing listens on (for "unreachable" cases)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_port():
    """A port that accepts connections (in the kernel) and never answers."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        yield silent.getsockname()[1]


@pytest.fixture
def workspace(db, azurite_url, user):
    from datastores.services import workspace_create

    return workspace_create(name=f"ws-{uuid.uuid4().hex[:8]}", created_by=user)


class RecordingClient(Client):
    """A test client that keeps every response body, to prove no secret is ever sent back."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.bodies: list[str] = []

    def request(self, **request):
        response = super().request(**request)
        if not getattr(response, "streaming", False):
            self.bodies.append(response.content.decode(errors="replace"))
        return response


@pytest.fixture
def client(user, caplog) -> RecordingClient:
    """A signed-in client. At teardown: no secret appears in any response or log line."""
    recording = RecordingClient()
    recording.force_login(user)
    yield recording
    leaks = [
        secret
        for secret in SECRETS_USED
        for text in [*recording.bodies, caplog.text]
        if secret and secret in text
    ]
    assert not leaks, "a secret was sent back in a response or written to a log"


@pytest.fixture
def anonymous_client() -> Client:
    return Client()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def aad_provider():
    """The Entra ID stand-in as the studio's OpenID provider (no emulator exists)."""
    from .standins.aad import AadStandin

    with AadStandin() as standin:
        yield standin


@pytest.fixture
def entra(aad_provider, settings, monkeypatch):
    """An app registration on the stand-in, and the studio's OIDC_* settings pointed at it. The
    studio trusts the stand-in's throwaway CA through REQUESTS_CA_BUNDLE, only in tests."""
    from .entra import configure_studio, register_app
    from .standins.tls import ca_bundle_path

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_bundle_path())
    registration = register_app(aad_provider)
    configure_studio(settings, registration)
    return registration
