"""Fixtures most test modules share. The servers themselves (Azurite, PostgreSQL, MariaDB) are
started by scripts/test, which passes their addresses in STUDIO_TEST_* variables.

Fixtures that only some tests need live beside them: tests/lakes/conftest.py (the ADLS and
DBFS stand-ins), tests/sql/conftest.py (the SQL databases). Plain helpers are in support.py.
"""

from __future__ import annotations

import os
import secrets
import socket
import uuid
from collections.abc import Iterator

import pytest
from azure.storage.blob import BlobServiceClient
from django.test import Client

from .azurite import Azurite, own_azurite
from .lakes.stores import DbfsLake, Gen1Lake, Gen2Lake, Lake
from .standins.tls import ca_bundle_path, spki_pin
from .support import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    FILESHARE_ACCOUNT,
    FILESHARE_KEY,
    RecordingClient,
    remember_secret,
)

# Helper modules that assert (imported by the tests, after this), so their failures read as a test's do.
pytest.register_assert_rewrite("tests.browser", "tests.pages")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # The HTTPS stand-ins' certificate (tests/standins/tls.py), and no other: a browser goes to them
    # directly in direct transfers.
    f"--ignore-certificate-errors-spki-list={spki_pin()}",
]


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


@pytest.fixture
def trust_standin_ca(monkeypatch):
    """Trust the throwaway CA of the HTTPS stand-ins (tests/standins/tls.py), for this test only.

    Not autouse: the fixtures that start an HTTPS stand-in ask for it."""
    monkeypatch.setenv("SSL_CERT_FILE", ca_bundle_path())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_bundle_path())


# pytest-django's fixtures that give a test the database (besides the django_db mark).
DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "live_server",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
}


@pytest.fixture(autouse=True)
def fresh_entra_credentials():
    """Each test starts with none of the studio's reused service-principal credentials
    (datastores/storage/entra.py keeps one per principal and authority URL, with its token). A
    test's Entra ID stand-in is new, and may listen on the port an earlier test's had: a token
    that earlier stand-in issued means nothing to this test's storage stand-in, which refuses it."""
    from datastores.storage import entra

    with entra._credentials_lock:
        entra._credentials.clear()


@pytest.fixture(autouse=True)
def fresh_rate_limits(request):
    """Each test starts with no request counted against the rate limits (django-ratelimit's
    counts live in the cache, a table of the test database; every test client comes from 127.0.0.1).
    Only a test that uses the database reaches the cache, so only there is it cleared."""
    from django.core.cache import cache
    from django.test.testcases import DatabaseOperationForbidden  # type: ignore[attr-defined]  # not in django-stubs

    if request.node.get_closest_marker("django_db") or DATABASE_FIXTURES & set(request.fixturenames):
        request.getfixturevalue("db")  # the test's own database access (transactional or not), first
        try:
            cache.clear()
        except DatabaseOperationForbidden:  # django_db(databases=[]): no database, so no cache either
            pass
    yield


@pytest.fixture
def user(django_user_model):
    """The signed-in person. The client signs in with force_login, so no password (and no slow hashing)."""
    return django_user_model.objects.create_user(username="ada")


@pytest.fixture
def silent_port():
    """A port that accepts connections (in the kernel) and never answers."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        yield silent.getsockname()[1]


@pytest.fixture(scope="session")
def pg():
    """A database with the sales tables on the plain PostgreSQL server (tests/sql/servers.py);
    the SQL tests and the role and audit tests use it."""
    from .sql.servers import PG_SALES_SETUP, create_database, drop_database, server_url

    database = create_database(server_url("STUDIO_TEST_POSTGRES_URL"), setup=PG_SALES_SETUP)
    yield database
    drop_database(database)


@pytest.fixture(scope="session")
def maria():
    """A database with the sales tables on the MariaDB server, standing in for Azure Database for MySQL."""
    from .sql.servers import create_maria_database, drop_maria_database, server_url

    url = server_url("STUDIO_TEST_MYSQL_URL")
    database = create_maria_database(url)
    yield database
    drop_maria_database(url, database)


@pytest.fixture
def workspace(db, azurite_url, user):
    from datastores.access import Actor
    from datastores.services import workspace_create

    return workspace_create(actor=Actor(user=user), name=f"ws-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def client(user, caplog) -> Iterator[RecordingClient]:
    """A signed-in client. At teardown: no secret appears in any response, log line or audit entry."""
    from django.db.models.signals import post_save

    from datastores.models import AuditEntry

    audited: list[str] = []

    def keep(sender: type, instance: AuditEntry, **kwargs: object) -> None:
        audited.append(str(AuditEntry.objects.filter(pk=instance.pk).values_list().first()))

    post_save.connect(keep, sender=AuditEntry, weak=False)
    recording = RecordingClient()
    recording.force_login(user)
    yield recording
    post_save.disconnect(keep, sender=AuditEntry)
    leaks = recording.leaked(caplog.text + "\n" + "\n".join(audited))
    assert not leaks, "a secret was sent back in a response, written to a log or kept in the audit log"


@pytest.fixture
def anonymous_client() -> Client:
    return Client()


# --- real Chromium ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


@pytest.fixture
def signed_in(page, live_server, django_user_model, azurite_url):
    """A person signed in through the login page in Chromium; returns their new workspace."""
    from playwright.sync_api import expect

    from datastores.access import Actor
    from datastores.services import workspace_create

    password = secrets.token_urlsafe(16)
    user = django_user_model.objects.create_user(username="grace", password=password)
    workspace = workspace_create(actor=Actor(user=user), name="browser-ws")
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Datastores")).to_be_visible()
    return workspace


# --- the Data Lake and DBFS stand-ins (tests/standins/: no emulator exists), each wrapped in a
# `Lake` (tests/lakes/stores.py). They serve HTTPS, so each asks for `trust_standin_ca`.


@pytest.fixture
def aad(trust_standin_ca):
    """The Entra ID token endpoint, knowing a reader (granted access by the lakes) and an outsider."""
    from tests.lakes.stores import (
        OUTSIDER_ID,
        OUTSIDER_SECRET,
        READER_ID,
        READER_SECRET,
        TENANT,
    )
    from tests.standins.aad import AadStandin

    with AadStandin() as server:
        server.add_principal(TENANT, READER_ID, READER_SECRET)
        server.add_principal(TENANT, OUTSIDER_ID, OUTSIDER_SECRET)
        yield server


@pytest.fixture
def gen2(aad) -> Iterator[Gen2Lake]:
    from tests.lakes.stores import FILESYSTEM, READER_ID, TENANT, Gen2Lake
    from tests.standins.adls_gen2 import AdlsGen2Standin

    with AdlsGen2Standin(aad, tenant_id=TENANT) as server:
        server.grant(READER_ID)  # account-wide, so a missing filesystem is a 404, not a 403
        server.add_filesystem(FILESYSTEM)
        yield Gen2Lake(server, aad)


@pytest.fixture
def gen1(aad) -> Iterator[Gen1Lake]:
    from tests.lakes.stores import READER_ID, TENANT, Gen1Lake
    from tests.standins.adls_gen1 import AdlsGen1Standin

    with AdlsGen1Standin(aad, tenant_id=TENANT) as server:
        server.grant(READER_ID)
        yield Gen1Lake(server, aad)


@pytest.fixture
def dbfs(trust_standin_ca) -> Iterator[DbfsLake]:
    from tests.lakes.stores import DbfsLake
    from tests.standins.dbfs import DbfsStandin
    from tests.standins.tls import server_ssl_context

    # HTTPS, as a Databricks workspace is; the Workspace URL field accepts https only.
    with DbfsStandin(
        tokens=(remember_secret(f"dapi{secrets.token_hex(16)}"),), ssl_context=server_ssl_context()
    ) as server:
        yield DbfsLake(server)


@pytest.fixture(params=["gen2", "gen1", "dbfs"])
def lake(request) -> Lake:
    return request.getfixturevalue(request.param)


@pytest.fixture
def register(client, workspace):
    """Post the New datastore form for a database: register(pg), register(maria, port="1")."""

    from django.urls import reverse

    def post(database, **overrides):
        data = database.form(**overrides)
        remember_secret(data["password"])
        return client.post(reverse("datastore_new", args=[workspace.name]), data)

    return post


@pytest.fixture(params=["AzureBlob", "AzureFile"])
def datastore(request, workspace, azurite_endpoint):
    """A registered datastore on an empty container (Azurite) or share (stand-in)."""
    from datastores.services import datastore_register
    from datastores.storage import AuthType, backend_for

    storage_type = request.param
    backend = backend_for(storage_type)
    if storage_type == "AzureBlob":
        raw = {
            "account_name": AZURITE_ACCOUNT,
            "container_name": request.getfixturevalue("container_name"),
            "endpoint": azurite_endpoint,
            "account_key": AZURITE_KEY,
        }
    else:
        standin = request.getfixturevalue("fileshare_standin")
        raw = {
            "account_name": FILESHARE_ACCOUNT,
            "file_share_name": request.getfixturevalue("share_name"),
            "endpoint": standin.base_url.removeprefix("http://"),
            "account_key": FILESHARE_KEY,
        }
    values = backend.clean_values(AuthType.ACCOUNT_KEY, {**raw, "protocol": "http"})
    return datastore_register(
        workspace=workspace, name="files", storage_type=storage_type, auth_type=AuthType.ACCOUNT_KEY, values=values
    )


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


@pytest.fixture
def team(django_user_model, azurite_url, blob_service, fileshare_standin, share_name, pg):
    """A workspace with an owner (olive), a contributor (carl), a reader (rita), an outsider (otto)
    and an administrator; a blob with a file, a File Share on the stand-in, PostgreSQL, DBFS."""
    from datastores.access import Actor
    from datastores.models import Role
    from datastores.services import datastore_register, member_add, workspace_create
    from datastores.storage import AuthType, backend_for

    from .teams import Team

    people = {
        name: django_user_model.objects.create_user(username=name, email=f"{name}@example.com")
        for name in ("olive", "carl", "rita", "otto")
    }
    people["admin"] = django_user_model.objects.create_user(username="admin", is_superuser=True, is_staff=True)
    owner = Actor(user=people["olive"])
    workspace = workspace_create(actor=owner, name=f"team-{uuid.uuid4().hex[:6]}")
    member_add(actor=owner, workspace=workspace, who="carl", role=Role.CONTRIBUTOR)
    member_add(actor=owner, workspace=workspace, who="rita@example.com", role=Role.READER)
    blobstore = workspace.datastores.get(name="workspaceblobstore")
    container = blobstore.connection_settings["container_name"]
    blob_service.get_container_client(container).upload_blob("data/a.txt", b"alpha")
    share_backend = backend_for("AzureFile")
    datastore_register(
        workspace=workspace,
        name="share",
        storage_type="AzureFile",
        auth_type=AuthType.ACCOUNT_KEY,
        actor=owner,
        values=share_backend.clean_values(
            AuthType.ACCOUNT_KEY,
            {
                "account_name": FILESHARE_ACCOUNT,
                "file_share_name": share_name,
                "protocol": "http",
                "endpoint": fileshare_standin.base_url.removeprefix("http://"),
                "account_key": FILESHARE_KEY,
            },
        ),
    )
    sql_backend = backend_for("AzurePostgreSql")
    form = pg.form()
    datastore_register(
        workspace=workspace,
        name="sales",
        storage_type="AzurePostgreSql",
        auth_type=AuthType.SQL_AUTHENTICATION,
        actor=owner,
        values=sql_backend.clean_values(AuthType.SQL_AUTHENTICATION, form),
    )
    datastore_register(
        workspace=workspace,
        name="local",
        storage_type="DBFS",
        auth_type=AuthType.NONE,
        actor=owner,
        values=backend_for("DBFS").clean_values(AuthType.NONE, {}),
    )
    return Team(workspace, people, container, share_name, pg)


@pytest.fixture
def azurite_of_its_own() -> Iterator[Azurite]:
    """An Azurite for this test alone (tests/azurite.py): its CORS rules start empty, and what the
    test does to them is seen by no other test."""
    with own_azurite() as azurite:
        yield azurite
