"""Datastore Studio's Python SDK: Azure ML's datastore calls, by the same names, against a
Datastore Studio, with the bytes going straight to storage.

    from datastore_studio import Workspace, Datastore

    ws = Workspace.from_config()                     # or Workspace.get("demo")
    datastore = ws.get_default_datastore()
    datastore.upload("./data", target_path="datasets/v1", overwrite=False)
    datastore.download("./downloaded", prefix="datasets/v1")

The studio URL and a personal access token come from arguments, ``DATASTORE_STUDIO_URL`` and
``DATASTORE_STUDIO_TOKEN``, or the file ``datastore-studio login`` writes.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .datastore import (
    AzureBlobDatastore,
    AzureDataLakeDatastore,
    AzureDataLakeGen2Datastore,
    AzureFileDatastore,
    AzureMySqlDatastore,
    AzurePostgreSqlDatastore,
    AzureSqlDatabaseDatastore,
    Datastore,
    DBFSDatastore,
    FileEntry,
    TestResult,
)
from .exceptions import (
    AuthenticationFailed,
    ConfigurationError,
    Conflict,
    DatastoreExists,
    DatastoreNotFound,
    PathNotFound,
    PermissionDenied,
    ResourceNotFound,
    StorageServiceError,
    StudioError,
    StudioUnreachable,
    TooManyRequests,
    TransferStopped,
    ValidationFailed,
    WorkspaceNotFound,
)
from .transfer import FailedFile, TransferResult
from .workspace import Workspace

__all__ = [
    "AuthenticationFailed",
    "AzureBlobDatastore",
    "AzureDataLakeDatastore",
    "AzureDataLakeGen2Datastore",
    "AzureFileDatastore",
    "AzureMySqlDatastore",
    "AzurePostgreSqlDatastore",
    "AzureSqlDatabaseDatastore",
    "ConfigurationError",
    "Conflict",
    "DBFSDatastore",
    "Datastore",
    "DatastoreExists",
    "DatastoreNotFound",
    "FailedFile",
    "FileEntry",
    "PathNotFound",
    "PermissionDenied",
    "ResourceNotFound",
    "StorageServiceError",
    "StudioError",
    "StudioUnreachable",
    "TestResult",
    "TooManyRequests",
    "TransferResult",
    "TransferStopped",
    "ValidationFailed",
    "Workspace",
    "WorkspaceNotFound",
    "__version__",
]
