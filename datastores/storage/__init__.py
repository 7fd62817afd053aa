"""The storage-services module: one module per storage type, found through this registry.

Adding a storage type means adding a module that builds a StorageBackend and
listing it here.
"""

from .adls import GEN1_BACKEND, GEN2_BACKEND
from .base import (
    Connection,
    Download,
    Entry,
    FolderPage,
    ServiceCheckFailed,
    StorageBackend,
    StorageError,
    StoredSettingsInvalid,
    UploadOutcome,
)
from .blob import BACKEND as BLOB_BACKEND
from .dbfs import BACKEND as DBFS_BACKEND
from .fileshare import BACKEND as FILESHARE_BACKEND
from .sql import AZURE_SQL_BACKEND, MYSQL_BACKEND, POSTGRESQL_BACKEND

# In the order of the Azure ML support matrix.
BACKENDS: dict[str, StorageBackend] = {
    backend.storage_type: backend
    for backend in (
        BLOB_BACKEND,
        FILESHARE_BACKEND,
        GEN1_BACKEND,
        GEN2_BACKEND,
        AZURE_SQL_BACKEND,
        POSTGRESQL_BACKEND,
        MYSQL_BACKEND,
        DBFS_BACKEND,
    )
}


def backend_for(storage_type: str) -> StorageBackend:
    return BACKENDS[storage_type]


def storage_type_choices() -> list[tuple[str, str]]:
    return [(key, backend.label) for key, backend in BACKENDS.items()]


__all__ = [
    "BACKENDS",
    "Connection",
    "Download",
    "Entry",
    "FolderPage",
    "ServiceCheckFailed",
    "StorageBackend",
    "StorageError",
    "StoredSettingsInvalid",
    "UploadOutcome",
    "backend_for",
    "storage_type_choices",
]
