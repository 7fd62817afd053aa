"""What the ADLS Gen1, Gen2 and DBFS tests share (no tests and no fixtures here: the
fixtures that start the stand-ins are in conftest.py beside this file).

The Entra ID token endpoint, ADLS Gen2's DFS endpoint, ADLS Gen1 and Databricks
DBFS have no emulator, so tests/standins/ holds local stand-ins. The studio's
real code paths (azure-identity, azure-storage-file-datalake,
azure-datalake-store, requests) reach them over HTTPS, trusting a throwaway CA
through SSL_CERT_FILE and REQUESTS_CA_BUNDLE. A `Lake` wraps one stand-in with
what a test needs: the studio's backend and connection, and a look straight
into the stand-in's storage to check what it really holds.
"""

from __future__ import annotations

import secrets
import time

from datastores.storage import BACKENDS, AuthType, Connection, StorageBackend
from tests.standins.aad import AadStandin
from tests.standins.adls_gen1 import AdlsGen1Standin, Item
from tests.standins.adls_gen2 import AdlsGen2Standin, Node
from tests.standins.dbfs import DbfsStandin
from tests.standins.dbfs import Entry as DbfsEntry
from tests.support import remember_secret

TENANT = "6f1c2a4e-0000-4000-8000-00000000a11d"
READER_ID = "11111111-1111-4111-8111-111111111111"  # granted access to the data
OUTSIDER_ID = "22222222-2222-4222-8222-222222222222"  # signs in, but has no grant
READER_SECRET = remember_secret(f"reader~{secrets.token_urlsafe(24)}")
OUTSIDER_SECRET = remember_secret(f"outsider~{secrets.token_urlsafe(24)}")
FILESYSTEM = "raw"
MiB = 1024 * 1024


class Lake:
    """One stand-in, the studio's backend for it, and direct access to what it stores."""

    storage_type = ""
    block = 0  # the most bytes the backend sends or reads per request

    @property
    def backend(self) -> StorageBackend:
        return BACKENDS[self.storage_type]

    def values(self) -> dict:
        raise NotImplementedError

    def connection(self, **overrides) -> Connection:
        backend = self.backend
        auth_type = backend.auth_types[0]
        return Connection(
            self.storage_type, AuthType(auth_type), backend.clean_values(auth_type, {**self.values(), **overrides})
        )

    def put(self, path: str, data: bytes) -> None:
        raise NotImplementedError

    def make_folder(self, path: str) -> None:
        raise NotImplementedError

    def read(self, path: str) -> bytes | None:
        """A file's bytes as the stand-in holds them, or None when no file is there."""
        raise NotImplementedError

    def stored_paths(self) -> set[str]:
        """Every file and folder the stand-in holds, staging files included."""
        raise NotImplementedError


class Gen2Lake(Lake):
    storage_type = "AzureDataLakeGen2"
    block = 4 * MiB

    def __init__(self, server: AdlsGen2Standin, aad: AadStandin):
        self.server, self.aad = server, aad

    def values(self) -> dict:
        return {
            "account_name": self.server.account_name,
            "filesystem": FILESYSTEM,
            "protocol": "https",
            "endpoint": f"127.0.0.1:{self.server.port}",
            "tenant_id": TENANT,
            "client_id": READER_ID,
            "client_secret": READER_SECRET,
            "resource_url": "https://storage.azure.com/",
            "authority_url": self.aad.authority,
        }

    @property
    def files(self) -> dict[str, Node]:
        return self.server.filesystems[FILESYSTEM]

    def put(self, path, data):
        with self.server.lock:
            self.server.make_parents(self.files, path)
            self.files[path] = Node(is_dir=False, data=data)

    def make_folder(self, path):
        with self.server.lock:
            self.server.make_parents(self.files, path)
            self.files.setdefault(path, Node(is_dir=True))

    def read(self, path):
        node = self.files.get(path)
        return None if node is None or node.is_dir else node.data

    def stored_paths(self):
        return set(self.files)


class Gen1Lake(Lake):
    storage_type = "AzureDataLake"
    block = 4 * MiB

    def __init__(self, server: AdlsGen1Standin, aad: AadStandin):
        self.server, self.aad = server, aad

    def values(self) -> dict:
        return {
            "store_name": "studiostore",
            "endpoint": f"127.0.0.1:{self.server.port}",
            "tenant_id": TENANT,
            "client_id": READER_ID,
            "client_secret": READER_SECRET,
            "resource_url": "https://datalake.azure.net/",
            "authority_url": self.aad.authority,
        }

    def put(self, path, data):
        with self.server.lock:
            self.server.make_dirs("/" + path.rpartition("/")[0])
            self.server.items["/" + path] = Item(is_dir=False, data=data, modified_ms=int(time.time() * 1000))

    def make_folder(self, path):
        with self.server.lock:
            self.server.make_dirs("/" + path)

    def read(self, path):
        item = self.server.items.get("/" + path)
        return None if item is None or item.is_dir else item.data

    def stored_paths(self):
        return {path.lstrip("/") for path in self.server.items if path != "/"}


class DbfsLake(Lake):
    storage_type = "DBFS"
    block = MiB

    def __init__(self, server: DbfsStandin):
        self.server = server

    def values(self) -> dict:
        return {"workspace_url": self.server.base_url, "access_token": self.server.token}

    def put(self, path, data):
        with self.server.lock:
            self.server.make_dirs("/" + path.rpartition("/")[0])
            self.server.entries["/" + path] = DbfsEntry(is_dir=False, data=data, modified_ms=int(time.time() * 1000))

    def make_folder(self, path):
        with self.server.lock:
            self.server.make_dirs("/" + path)

    def read(self, path):
        entry = self.server.entries.get("/" + path)
        return None if entry is None or entry.is_dir else entry.data

    def stored_paths(self):
        return {path.lstrip("/") for path in self.server.entries if path != "/"}
