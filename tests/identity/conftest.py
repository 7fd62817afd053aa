"""Fixtures of the identity-based datastore tests: an Azurite of their own that accepts OAuth
bearer tokens over HTTPS (`--oauth basic`), and the studio's own identity, a managed identity
served by the Entra ID stand-in through the managed-identity protocol (IDENTITY_ENDPOINT and
IDENTITY_HEADER in the studio's environment, as App Service and Azure ML set them)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from tests.azurite import listening
from tests.standins.aad import AadStandin, ManagedIdentity
from tests.standins.tls import ca_bundle_path, server_pem_paths
from tests.support import AZURITE_ACCOUNT, AZURITE_KEY, free_port

from .identities import IDENTITY_CLIENT_ID, OAuthAzurite

ROOT = Path(__file__).resolve().parents[2]
IDENTITY_VARIABLES = (
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_FEDERATED_TOKEN_FILE",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "IMDS_ENDPOINT",
    "IDENTITY_SERVER_THUMBPRINT",
)


@pytest.fixture(scope="session")
def oauth_azurite() -> Iterator[OAuthAzurite]:
    """Azurite over HTTPS with basic OAuth (it checks a token's issuer, audience and expiry, not its
    signature or roles), in memory, on a free port, for this session only."""
    cert, key = server_pem_paths()
    port = free_port()
    # Azurite writes its debug and access logs under the working folder: a temporary one.
    with tempfile.TemporaryDirectory(prefix="azurite-oauth-") as folder:
        command = [
            str(ROOT / "node_modules/.bin/azurite-blob"),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
            "--silent",
            "--oauth",
            "basic",
            "--cert",
            cert,
            "--key",
            key,
        ]
        with listening(command, port, "Azurite (OAuth)", cwd=folder):
            yield OAuthAzurite(port)


@pytest.fixture
def oauth_container(oauth_azurite) -> str:
    """A new container on that Azurite, made with its account key (an administrator's doing)."""
    name = f"id-{uuid.uuid4().hex[:12]}"
    service = BlobServiceClient(
        oauth_azurite.url,
        credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY},
        connection_verify=ca_bundle_path(),
    )
    service.create_container(name)
    return name


@pytest.fixture
def identity_provider(trust_standin_ca) -> Iterator[AadStandin]:
    with AadStandin() as server:
        yield server


@pytest.fixture
def studio_identity(identity_provider, monkeypatch) -> ManagedIdentity:
    """The studio runs with a managed identity: IDENTITY_ENDPOINT and IDENTITY_HEADER point its
    DefaultAzureCredential at the stand-in, and nothing else in the environment names an identity."""
    from tests.lakes.stores import TENANT

    for name in IDENTITY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDENTITY_ENDPOINT", identity_provider.managed_identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", identity_provider.identity_header)
    return identity_provider.add_managed_identity(TENANT, IDENTITY_CLIENT_ID)


@pytest.fixture
def no_studio_identity(monkeypatch) -> None:
    """The studio's environment names no identity, and no managed identity answers: IMDS is moved
    (AZURE_POD_IDENTITY_AUTHORITY_HOST, which azure-identity reads) to a local port nothing listens
    on, so the test never depends on what 169.254.169.254 does on the machine it runs on."""
    for name in (*IDENTITY_VARIABLES, "IDENTITY_ENDPOINT", "IDENTITY_HEADER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", f"http://127.0.0.1:{free_port()}")
