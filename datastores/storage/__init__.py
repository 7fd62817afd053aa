"""The storage-services module: one package per storage type, found through this registry.

A storage type is a `StorageBackend` (see base.py and README.md beside this file)
registered here with `register`. The database stores the storage type as a plain
value checked against this registry, so adding or removing a type needs no
migration; nothing outside this package names a storage type or imports a backend.
"""

from __future__ import annotations

from .auth import AuthType
from .base import (
    ArmShape,
    Capabilities,
    Connection,
    CorsState,
    CredentialFacts,
    DirectGrant,
    Download,
    Entry,
    FileProperties,
    FolderPage,
    ScriptCredential,
    StorageBackend,
    UploadOutcome,
    WorkspaceStore,
)
from .errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionMissing,
    StorageError,
    StoredSettingsInvalid,
    TimedOut,
    Unreachable,
)

BACKENDS: dict[str, StorageBackend] = {}


def register(backend: StorageBackend) -> StorageBackend:
    """Make a storage type available to the forms, pages, commands and API."""
    if not backend.storage_type or backend.storage_type in BACKENDS:
        raise ValueError(f"Storage type {backend.storage_type!r} is empty or registered already.")
    BACKENDS[backend.storage_type] = backend
    return backend


def unregister(storage_type: str) -> None:
    BACKENDS.pop(storage_type, None)


def backend_for(storage_type: str) -> StorageBackend:
    try:
        return BACKENDS[storage_type]
    except KeyError:
        raise StoredSettingsInvalid(f"The storage type {storage_type!r} is not installed in this studio.") from None


def storage_type_choices() -> list[tuple[str, str]]:
    return [(key, backend.label) for key, backend in BACKENDS.items()]


def auth_type_choices() -> list[tuple[str, str]]:
    """Every authentication type some registered storage type offers, in AuthType's order."""
    offered = {auth_type for backend in BACKENDS.values() for auth_type in backend.auth_types}
    return [(choice.value, choice.label) for choice in AuthType if choice in offered]


def arm_backend(datastore_type: str) -> StorageBackend | None:
    """The storage type Azure ML's API calls `datastore_type` (AzureBlob, AzureFile, ...)."""
    for backend in BACKENDS.values():
        if backend.arm and backend.arm.datastore_type == datastore_type:
            return backend
    return None


def workspace_stores(connection_string: str, workspace_uid: str) -> list[WorkspaceStore]:
    """The datastores a new workspace gets on the workspace storage account, default first."""
    stores = [backend.workspace_store(connection_string, workspace_uid) for backend in BACKENDS.values()]
    return sorted((store for store in stores if store), key=lambda store: not store.is_default)


def _register_builtin_types() -> None:
    # In the order of the Azure ML support matrix.
    from .adls_gen1.backend import BACKEND as ADLS_GEN1
    from .adls_gen2.backend import BACKEND as ADLS_GEN2
    from .blob.backend import BACKEND as BLOB
    from .dbfs.backend import BACKEND as DBFS
    from .fileshare.backend import BACKEND as FILE_SHARE
    from .sql.azure_sql import BACKEND as AZURE_SQL
    from .sql.mysql import BACKEND as MYSQL
    from .sql.postgres import BACKEND as POSTGRESQL

    for backend in (BLOB, FILE_SHARE, ADLS_GEN1, ADLS_GEN2, AZURE_SQL, POSTGRESQL, MYSQL, DBFS):
        register(backend)


_register_builtin_types()

__all__ = [
    "BACKENDS",
    "ArmShape",
    "AuthType",
    "AuthenticationFailed",
    "Capabilities",
    "Conflict",
    "Connection",
    "CorsState",
    "CredentialFacts",
    "DirectGrant",
    "Download",
    "Entry",
    "FileProperties",
    "FolderPage",
    "InvalidInput",
    "NotFound",
    "PermissionMissing",
    "ScriptCredential",
    "StorageBackend",
    "StorageError",
    "StoredSettingsInvalid",
    "TimedOut",
    "Unreachable",
    "UploadOutcome",
    "WorkspaceStore",
    "arm_backend",
    "auth_type_choices",
    "backend_for",
    "register",
    "storage_type_choices",
    "unregister",
    "workspace_stores",
]
