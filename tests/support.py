"""Plain helpers and constants the tests share (no fixtures here: those live in conftest.py files).

`remember_secret` records every secret a test hands to the studio; the `client` fixture
(tests/conftest.py) checks at teardown that none of them came back in a response or a log line.
"""

from __future__ import annotations

import base64
import http.client
import os
import socket
import struct
import subprocess
import sys
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from azure.storage.blob import (
    BlobSasPermissions,
    ContainerSasPermissions,
    generate_blob_sas,
    generate_container_sas,
)
from django.test import Client
from django.urls import reverse

AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
FILESHARE_ACCOUNT = "studiofiles"
FILESHARE_KEY = base64.b64encode(b"file-share-stand-in-key-" * 3).decode()
# A well-formed account key that no test account has.
WRONG_KEY = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5"

STRONG_SECRET_KEY = "x7" * 20 + "Kq9!mZ3#pL"  # passes the start-up check

# Every secret a test hands to the studio; no response or log line may contain one.
SECRETS_USED: set[str] = set()


def remember_secret(value: str) -> str:
    SECRETS_USED.add(value)
    return value


def free_port() -> int:
    """A local port nothing listens on (for "unreachable" cases)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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

    def leaked(self, log_text: str) -> list[str]:
        """The remembered secrets found in a response body or in `log_text`."""
        return [secret for secret in SECRETS_USED for text in [*self.bodies, log_text] if secret and secret in text]


def put(client, datastore, path, data: bytes, *, overwrite=False, **extra):
    return client.put(
        reverse("datastore_file", args=[datastore.workspace.name, datastore.name, path])
        + ("?overwrite=1" if overwrite else "?overwrite=0"),
        data=data,
        content_type="application/octet-stream",
        **extra,
    )


def sas(container: str, *, expiry: datetime, **permissions: bool) -> str:
    return remember_secret(
        generate_container_sas(
            AZURITE_ACCOUNT,
            container,
            account_key=AZURITE_KEY,
            expiry=expiry,
            permission=ContainerSasPermissions(
                **(permissions or {"read": True, "list": True, "write": True, "create": True, "delete": True})
            ),
        )
    )


def register_blob(workspace, container, endpoint, *, name, auth_type, **credential):
    """A Blob datastore on an Azurite (the account's key or SAS in `credential`), registered directly."""
    from datastores.services import datastore_register
    from datastores.storage import backend_for

    backend = backend_for("AzureBlob")
    values = backend.clean_values(
        auth_type,
        {"account_name": AZURITE_ACCOUNT, "container_name": container, "endpoint": endpoint, "protocol": "http"}
        | credential,
    )
    return datastore_register(
        workspace=workspace, name=name, storage_type="AzureBlob", auth_type=auth_type, values=values
    )


def register_sas(workspace, container, azurite_endpoint, token, name="shared"):
    return register_blob(
        workspace, container, azurite_endpoint, name=name, auth_type="sas_token", sas_token=token, skip_validation=True
    )


def url(datastore, view: str, *args: str) -> str:
    """The URL of one of a datastore's pages."""
    return reverse(view, args=[datastore.workspace.name, datastore.name, *args])


def png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG, written by hand (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def start_django(**env_overrides: str) -> subprocess.CompletedProcess[str]:
    """Set up Django in a fresh process with these settings (start-up checks run there)."""
    env = {key: value for key, value in os.environ.items() if key not in {"SECRET_KEY", "DATASTORE_ENCRYPTION_KEYS"}}
    env.update(DEBUG="false", **env_overrides)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=Path(__file__).resolve().parent,  # away from any .env at the project root
        env={
            **env,
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
            "DJANGO_SETTINGS_MODULE": "studio.settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def sas_for(container: str, **permissions: bool) -> str:
    """A one-hour container SAS of Azurite's account, with these permissions."""
    return remember_secret(
        generate_container_sas(
            AZURITE_ACCOUNT,
            container,
            account_key=AZURITE_KEY,
            permission=ContainerSasPermissions(**permissions),
            expiry=datetime.now(UTC) + timedelta(hours=1),
        )
    )


def put_blob_raw(azurite_url: str, container: str, name: str, data: bytes) -> None:
    """Put a blob under an exact name. The SDK's HTTP stack (urllib3) removes '.' and '..'
    segments from a URL before sending it, so such names are sent with http.client, signed
    with a SAS from the SDK."""
    sas = generate_blob_sas(
        AZURITE_ACCOUNT,
        container,
        name,
        account_key=AZURITE_KEY,
        permission=BlobSasPermissions(write=True, create=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    url = urlsplit(azurite_url)
    assert url.hostname is not None
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.request(
        "PUT",
        f"{url.path}/{container}/{name}?{sas}",
        body=data,
        headers={"x-ms-blob-type": "BlockBlob", "Content-Length": str(len(data))},
    )
    response = connection.getresponse()
    response.read()
    assert response.status == 201, response.status


def sqlite_pass_only(what: str) -> pytest.MarkDecorator:
    """Run in scripts/test's SQLite pass only, to keep CI's time: for tests whose subject does not
    depend on the app database (the PostgreSQL pass runs tests/test_production_start.py instead)."""
    return pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason=f"{what} run in the SQLite pass of scripts/test",
    )
