"""What can go wrong when the studio reaches a storage service, as one hierarchy.

Backends raise these, never a client library's own exception. Each says what
failed in words a user can act on (never quoting a library's text, which can
carry a URL with a SAS signature), names the form field at fault when there is
one, and carries the HTTP status a page answers with. `datastores.errors` maps
them to pages, partials and JSON in one place and logs them there.
"""

from __future__ import annotations


class StorageError(Exception):
    """The service refused or failed the request; `message` says what to fix.

    `field` names the form field at fault, when one is.
    """

    status = 502

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(StorageError):
    """A value the user typed (a path, a folder name, a statement) cannot be used as it is."""

    status = 400


class NotFound(StorageError):
    """No such container, share, file, folder, table or database."""

    status = 404


class Conflict(StorageError):
    """Something else is already there (a file where a folder goes, a name taken)."""

    status = 409


class AuthenticationFailed(StorageError):
    """The service refused the credentials: a wrong or expired key, SAS, secret or password."""


class PermissionMissing(StorageError):
    """The credentials are valid but lack a permission the action needs."""


class Unreachable(StorageError):
    """The host could not be reached, or did not speak the service's protocol."""


class TimedOut(StorageError):
    """The service did not answer within STORAGE_TIMEOUT_SECONDS."""

    status = 504


class StoredSettingsInvalid(StorageError):
    """A stored datastore row does not parse under its storage type's fields, its secrets
    do not decrypt, or its storage type is not installed in this studio."""

    status = 409
    # A page that shows such a datastore renders the failing part empty instead of failing.
    silent_variable_failure = True
