"""What the Azure Storage modules (Blob, File Share, Data Lake Gen2) share:
service URLs, client timeouts and the mapping of SDK errors to messages a
user can act on. Messages never quote the exception text: urllib3's text can
carry the request URL, and with it a SAS signature.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    ResourceExistsError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from django.conf import settings

from ..choices import AuthType
from ..hosts import is_custom_host
from .base import Connection, Entry, ServiceCheckFailed, StorageError

AUTH_FAILURE_CODES = {"AuthenticationFailed", "AuthorizationFailure", "InvalidAuthenticationInfo"}
PERMISSION_CODES = {"AuthorizationPermissionMismatch", "AuthorizationResourceTypeMismatch"}


def account_url(connection: Connection, service: str) -> str:
    """https://account.blob.core.windows.net, or path-style for an allowed custom host."""
    protocol, account, endpoint = connection["protocol"], connection["account_name"], connection["endpoint"]
    if is_custom_host(endpoint):
        return f"{protocol}://{endpoint}/{account}"
    return f"{protocol}://{account}.{service}.{endpoint}"


def storage_credential(connection: Connection) -> Any:
    if connection.auth_type == AuthType.ACCOUNT_KEY:
        return {"account_name": connection["account_name"], "account_key": connection["account_key"]}
    if connection.auth_type == AuthType.SAS_TOKEN:
        return connection["sas_token"].lstrip("?")
    raise ValueError(f"No storage credential for {connection.auth_type}")


def client_options(*, for_check: bool = False) -> dict[str, Any]:
    """Bounded timeouts on every call; a check fails fast instead of retrying."""
    timeout = settings.STORAGE_TIMEOUT_SECONDS
    options: dict[str, Any] = {"connection_timeout": min(timeout, 10), "read_timeout": timeout}
    if for_check:
        options["retry_total"] = 0
    return options


def secret_field_name(connection: Connection) -> str | None:
    return {AuthType.ACCOUNT_KEY: "account_key", AuthType.SAS_TOKEN: "sas_token"}.get(connection.auth_type)


def explain_storage_error(
    error: Exception, connection: Connection, *, service: str, resource: str, resource_field: str
) -> ServiceCheckFailed:
    """Turn an Azure SDK exception into a message that says what failed and how to fix it."""
    code = getattr(error, "error_code", None) or ""
    secret_field = secret_field_name(connection)
    if isinstance(error, ResourceNotFoundError) or code.endswith("NotFound"):
        return ServiceCheckFailed(
            f"The {resource} {connection[resource_field]!r} was not found in account "
            f"{connection['account_name']!r}. Check its name, or tick \"Create if not exists\".",
            field=resource_field,
        )
    if code in PERMISSION_CODES:
        return ServiceCheckFailed(
            "The SAS token is valid but lacks a permission this studio needs: "
            "generate one with read (r) and list (l), plus write (w) and create (c) to upload.",
            field=secret_field,
        )
    if isinstance(error, ClientAuthenticationError) or code in AUTH_FAILURE_CODES:
        what = "SAS token" if connection.auth_type == AuthType.SAS_TOKEN else "account key"
        return ServiceCheckFailed(
            f"Authentication failed: the storage account refused the {what}. "
            f"Copy it again from the portal, and check the account name.",
            field=secret_field,
        )
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        host = urlsplit(account_url(connection, service)).netloc
        if "timed out" in str(error).lower():
            return ServiceCheckFailed(
                f"Timed out after {settings.STORAGE_TIMEOUT_SECONDS} s waiting for {host}. "
                "Check the endpoint and that the service is up.",
                field="endpoint",
            )
        return ServiceCheckFailed(
            f"Could not reach {host}. Check the account name, endpoint and protocol, and the network.",
            field="endpoint",
        )
    if isinstance(error, HttpResponseError):
        return ServiceCheckFailed(
            f"The storage service answered {error.status_code} {code or error.reason}.",
            field=None,
        )
    raise error


def check_by_listing(
    connection: Connection, *, list_one_page, create, service: str, resource: str, resource_field: str
) -> None:
    """List one entry; on "not found", create the container or share when the user asked to."""
    try:
        try:
            list_one_page()
        except ResourceNotFoundError:
            if not connection.get("create_if_not_exists"):
                raise
            try:
                create()
            except ResourceExistsError:
                pass
            list_one_page()
    except AzureError as error:
        raise explain_storage_error(
            error, connection, service=service, resource=resource, resource_field=resource_field
        ) from None


def explain_transfer_error(error: Exception, connection: Connection, *, service: str, resource: str, resource_field: str) -> StorageError:
    """The same explanations as a check, for browsing and transfer (no form field to point at)."""
    explained = explain_storage_error(error, connection, service=service, resource=resource, resource_field=resource_field)
    return StorageError(explained.message)


def blocks_of(chunks, size: int):
    """Regroup an iterable of byte chunks into blocks of `size` bytes (the last one shorter).

    Each byte is copied once, by the join (a chunk that is exactly one block is passed on as it is):
    a multi-gigabyte upload runs through here, and every copy costs CPU and fresh memory."""
    parts: list[memoryview] = []
    held = 0
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            take = min(size - held, len(view))
            parts.append(view[:take])
            held += take
            view = view[take:]
            if held == size:
                whole = len(parts) == 1 and parts[0].nbytes == len(chunk) and isinstance(chunk, bytes)
                yield chunk if whole else b"".join(parts)
                parts, held = [], 0
    if held:
        yield b"".join(parts)


def folder_entry(folder_path: str) -> Entry:
    folder_path = folder_path.rstrip("/")
    return Entry(name=folder_path.rpartition("/")[2], path=folder_path, is_folder=True)
