"""Exceptions the SDK raises. Each carries the studio's own message (from its RFC 9457 problem
details), never a raw HTTP error or a library's traceback.

    StudioError
    ├── StudioUnreachable           the studio did not answer
    ├── AuthenticationFailed        401: a missing, expired or revoked token
    ├── PermissionDenied            403: the role does not allow it (also a PermissionError)
    ├── ResourceNotFound            404
    │   ├── WorkspaceNotFound
    │   ├── DatastoreNotFound
    │   └── PathNotFound            a file or folder (also a FileNotFoundError)
    ├── ValidationFailed            400: a value was refused; `field` names it
    ├── Conflict                    409
    │   └── DatastoreExists         a name taken (pass overwrite=True)
    ├── TooManyRequests             429
    ├── StorageServiceError         502/504: the storage service failed or did not answer
    ├── ConfigurationError          no studio URL or token, or a bad config file
    └── TransferStopped             a transfer stopped midway; `result` says what was done
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .transfer import TransferResult

__all__ = [
    "AuthenticationFailed",
    "ConfigurationError",
    "Conflict",
    "DatastoreExists",
    "DatastoreNotFound",
    "PathNotFound",
    "PermissionDenied",
    "ResourceNotFound",
    "StorageServiceError",
    "StudioError",
    "StudioUnreachable",
    "TooManyRequests",
    "TransferStopped",
    "ValidationFailed",
    "WorkspaceNotFound",
]


class StudioError(Exception):
    """Base of every error the SDK raises.

    :ivar message: what went wrong, in the studio's words.
    :ivar status: the HTTP status the studio answered with (None when it did not answer).
    :ivar field: the request field at fault, when the studio names one.
    :ivar errors: every field error, as ``[{"field": ..., "message": ...}]``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        field: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field
        self.errors = errors or []

    def __str__(self) -> str:
        return self.message


class StudioUnreachable(StudioError):
    """The studio could not be reached, or did not answer in time."""


class AuthenticationFailed(StudioError):
    """The studio refused the token: missing, malformed, expired or revoked."""


class PermissionDenied(StudioError, PermissionError):
    """The token's role does not allow this (for example writing with a reader's token)."""


class ResourceNotFound(StudioError, LookupError):
    """The studio has no such workspace, datastore, file or route."""


class WorkspaceNotFound(ResourceNotFound):
    """No workspace of that name is visible to this token."""


class DatastoreNotFound(ResourceNotFound):
    """The workspace has no datastore of that name (or it is not visible to this token)."""


class PathNotFound(ResourceNotFound, FileNotFoundError):
    """No file or folder at that path in the datastore."""


class ValidationFailed(StudioError, ValueError):
    """A value was refused; ``field`` names the first one and ``errors`` lists them all."""


class Conflict(StudioError):
    """The request conflicts with what exists."""


class DatastoreExists(Conflict):
    """A datastore of that name exists: pass ``overwrite=True`` to replace it."""


class TooManyRequests(StudioError):
    """The studio's rate limit was reached; try again in a minute."""


class StorageServiceError(StudioError):
    """The storage service behind the datastore failed or did not answer."""


class ConfigurationError(StudioError):
    """No studio URL or token could be found, or a configuration file cannot be read."""


class TransferStopped(StudioError):
    """A transfer stopped midway. ``result`` holds what was done before it stopped."""

    def __init__(self, message: str, result: TransferResult, *, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.result = result
