"""What the Azure Storage types (Blob, File Share, Data Lake Gen2) share: service
URLs, credentials, client timeouts, the workspace storage account's connection
string, and the mapping of SDK errors to messages a user can act on. Messages
never quote the exception text: urllib3's text can carry the request URL, and
with it a SAS signature.
"""

from __future__ import annotations

from collections.abc import Callable
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

from .auth import AuthType
from .base import Connection
from . import network
from .endpoints import Address, is_listed, parse_host, parse_netloc
from .errors import AuthenticationFailed, NotFound, PermissionMissing, StorageError

AUTH_FAILURE_CODES = {"AuthenticationFailed", "AuthorizationFailure", "InvalidAuthenticationInfo"}
PERMISSION_CODES = {"AuthorizationPermissionMismatch", "AuthorizationResourceTypeMismatch"}


def account_address(connection: Connection, service: str) -> tuple[Address, bool]:
    """Where the account's `service` ('blob', 'file', 'dfs') answers, built from parsed parts:
    (account.blob.core.windows.net, False), or (the allowed host itself, True), path-style."""
    endpoint = parse_netloc(connection["endpoint"])
    protocol = connection["protocol"]
    if is_listed(endpoint.host, endpoint.port):
        return Address(endpoint.host, endpoint.port, protocol), True
    return Address(parse_host(f"{connection['account_name']}.{service}.{endpoint.host}"), endpoint.port, protocol), False


def account_url(connection: Connection, service: str) -> str:
    """https://account.blob.core.windows.net, or http://host:port/account for an allowed host."""
    address, path_style = account_address(connection, service)
    return address.url(connection["account_name"]) if path_style else address.url()


def default_port(address: Address) -> int:
    return address.port or (443 if address.scheme == "https" else 80)


def storage_credential(connection: Connection) -> Any:
    if connection.auth_type == AuthType.ACCOUNT_KEY:
        return {"account_name": connection["account_name"], "account_key": connection["account_key"]}
    if connection.auth_type == AuthType.SAS_TOKEN:
        return connection["sas_token"].lstrip("?")
    raise ValueError(f"No storage credential for {connection.auth_type}")


def client_options(*, for_check: bool = False) -> dict[str, Any]:
    """The guarded transport (checked addresses, no redirects, bounded time); a check fails
    fast instead of retrying."""
    options: dict[str, Any] = {"transport": network.transport()}
    if for_check:
        options["retry_total"] = 0
    return options


def secret_field_name(connection: Connection) -> str | None:
    return {AuthType.ACCOUNT_KEY: "account_key", AuthType.SAS_TOKEN: "sas_token"}.get(connection.auth_type)


# What each action needs of a SAS, named in the message when the SAS lacks it.
PERMISSIONS_NEEDED = {
    "check": "read (r) and list (l), plus write (w) and create (c) to upload",
    "list": "list (l)",
    "read": "read (r)",
    "write": "write (w) and create (c)",
    "delete": "delete (d)",
}


def explain_storage_error(
    error: Exception, connection: Connection, *, service: str, resource: str, resource_field: str, action: str = "check"
) -> StorageError:
    """Turn an Azure SDK exception into a message that says what failed and how to fix it.

    `action` is what was being done ("check" on registration, else "list", "read", "write",
    "delete"): hints are for the page the user is on.
    """
    code = getattr(error, "error_code", None) or ""
    secret_field = secret_field_name(connection)
    if isinstance(error, ResourceNotFoundError) or code.endswith("NotFound"):
        hint = 'Check its name, or tick "Create if not exists".' if action == "check" else "Check that it still exists."
        return NotFound(
            f"The {resource} {connection[resource_field]!r} was not found in account "
            f"{connection['account_name']!r}. {hint}",
            field=resource_field,
        )
    if code in PERMISSION_CODES:
        return PermissionMissing(
            "The SAS token is valid but lacks a permission this needs: "
            f"generate one with {PERMISSIONS_NEEDED.get(action, PERMISSIONS_NEEDED['check'])}.",
            field=secret_field,
        )
    if isinstance(error, ClientAuthenticationError) or code in AUTH_FAILURE_CODES:
        what = "SAS token" if connection.auth_type == AuthType.SAS_TOKEN else "account key"
        return AuthenticationFailed(
            f"Authentication failed: the storage account refused the {what}. "
            f"Copy it again from the portal, and check the account name.",
            field=secret_field,
        )
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        address, _path_style = account_address(connection, service)
        return network.transport_failure(
            error, address.host, default_port(address), field="endpoint",
            hint="Check the account name, endpoint and protocol, and that the service is up and reachable from the studio.",
        )
    if isinstance(error, HttpResponseError):
        return StorageError(f"The storage service answered {error.status_code} {code or error.reason}.")
    raise error


def check_by_listing(
    connection: Connection,
    *,
    list_one_page: Callable[[], object],
    create: Callable[[], object],
    service: str,
    resource: str,
    resource_field: str,
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


# --- the workspace storage account ---------------------------------------------------------


def parse_connection_string(connection_string: str) -> dict[str, str]:
    parts = (part.split("=", 1) for part in connection_string.strip().strip(";").split(";") if "=" in part)
    return {key.strip(): value.strip() for key, value in parts}


def workspace_storage_values(connection_string: str, service: str) -> dict[str, str] | None:
    """Account, key, protocol and endpoint of the workspace storage account for 'blob' or
    'file', or None when the connection string names endpoints but none for that service
    (the local Azurite has no File service, so its connection string names only BlobEndpoint)."""
    parsed = parse_connection_string(connection_string)
    endpoint_key = {"blob": "BlobEndpoint", "file": "FileEndpoint"}[service]
    explicit = parsed.get(endpoint_key)
    if explicit:
        url = urlsplit(explicit)
        protocol, endpoint = url.scheme, url.netloc
        if url.netloc.startswith(parsed["AccountName"] + "."):
            endpoint = url.netloc.split(".", 2)[2]
    elif any(key.endswith("Endpoint") for key in parsed):
        return None
    else:
        protocol = parsed.get("DefaultEndpointsProtocol", "https")
        endpoint = parsed.get("EndpointSuffix", "core.windows.net")
    return {
        "account_name": parsed["AccountName"],
        "account_key": parsed["AccountKey"],
        "protocol": protocol,
        "endpoint": endpoint,
    }
