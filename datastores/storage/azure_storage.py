"""What the Azure Storage types (Blob, File Share, Data Lake Gen2) share: service
URLs, credentials, client timeouts, the workspace storage account's connection
string, and the mapping of SDK errors to messages a user can act on. Messages
never quote the exception text: urllib3's text can carry the request URL, and
with it a SAS signature.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from . import network, studio_identity
from .auth import AuthType
from .base import Connection, CredentialFacts, ScriptCredential
from .endpoints import Address, is_listed, parse_host, parse_netloc
from .errors import AuthenticationFailed, InvalidInput, NotFound, PermissionMissing, StorageError
from .fields import parse_sas_token

AUTH_FAILURE_CODES = {"AuthenticationFailed", "AuthorizationFailure", "InvalidAuthenticationInfo"}
PERMISSION_CODES = {"AuthorizationPermissionMismatch", "AuthorizationResourceTypeMismatch"}


def account_address(connection: Connection, service: str) -> tuple[Address, bool]:
    """Where the account's `service` ('blob', 'file', 'dfs') answers, built from parsed parts:
    (account.blob.core.windows.net, False), or (the allowed host itself, True), path-style."""
    endpoint = parse_netloc(connection["endpoint"])
    protocol = connection["protocol"]
    if is_listed(endpoint.host, endpoint.port):
        return Address(endpoint.host, endpoint.port, protocol), True
    return Address(
        parse_host(f"{connection['account_name']}.{service}.{endpoint.host}"), endpoint.port, protocol
    ), False


def service_origin(connection: Connection, service: str) -> str:
    """scheme://host[:port] of the account's `service`: what a browser talks to in a direct transfer."""
    address, _path_style = account_address(connection, service)
    return address.url()


def stored_sas_keeps_transfers(connection: Connection, transfers: str) -> str:
    """Why a SAS-token datastore's `transfers` ("uploads and downloads") go through the studio, or ""."""
    if connection.auth_type != AuthType.SAS_TOKEN:
        return ""
    return (
        "This datastore's credential is a SAS token, which the studio cannot narrow to one file, "
        f"so {transfers} go through the studio."
    )


def account_url(connection: Connection, service: str) -> str:
    """https://account.blob.core.windows.net, or http://host:port/account for an allowed host."""
    address, path_style = account_address(connection, service)
    return address.url(connection["account_name"]) if path_style else address.url()


def default_port(address: Address) -> int:
    return address.port or (443 if address.scheme == "https" else 80)


def storage_credential(connection: Connection) -> Any:
    if connection.auth_type == AuthType.IDENTITY:
        if connection["protocol"] != "https":
            raise InvalidInput("The studio sends its identity's token over https only: choose https.", field="protocol")
        return studio_identity.credential()
    if connection.auth_type == AuthType.ACCOUNT_KEY:
        return {"account_name": connection["account_name"], "account_key": connection["account_key"]}
    if connection.auth_type == AuthType.SAS_TOKEN:
        return connection["sas_token"].lstrip("?")
    raise ValueError(f"No storage credential for {connection.auth_type}")


def bounded_retry(retry_class: type[Any]) -> Any:
    """The SDK's own exponential retry (each SDK ships its copy, passed in), with short backoffs
    that never sleep past the deadline in force (storage.network.deadline), and no retry once
    it has passed: the SDK's defaults (15 s, then 18 s, ...) would hold a page for minutes."""

    class BoundedRetry(retry_class):
        def get_backoff_time(self, settings: dict[str, Any]) -> float:
            return max(0.0, min(super().get_backoff_time(settings), network.time_left() - 0.05))

        def increment(self, settings: dict[str, Any], request: Any, response: Any = None, error: Any = None) -> bool:
            retrying = super().increment(settings, request, response=response, error=error)
            return bool(retrying) and network.time_left() > 0

    return BoundedRetry(initial_backoff=1, increment_base=2, retry_total=3, random_jitter_range=0.5)


def client_options(*, for_check: bool = False, retry: type[Any] | None = None) -> dict[str, Any]:
    """The guarded transport (checked addresses, no redirects, bounded time); a check fails
    fast instead of retrying, and other calls retry within their deadline (`retry` is the
    SDK's ExponentialRetry class)."""
    options: dict[str, Any] = {"transport": network.transport()}
    if for_check:
        options["retry_total"] = 0
    elif retry is not None:
        options["retry_policy"] = bounded_retry(retry)
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
    "move": "read (r), write (w), create (c) and delete (d)",
}


# The roles the studio's identity needs on a storage account or container, by action.
DATA_ROLES = {
    "check": "grant it Storage Blob Data Reader on the storage account or container "
    "(Storage Blob Data Contributor to upload, delete or move).",
    "list": "grant it Storage Blob Data Reader on the storage account or container.",
    "read": "grant it Storage Blob Data Reader on the storage account or container.",
    "write": "grant it Storage Blob Data Contributor on the storage account or container.",
    "delete": "grant it Storage Blob Data Contributor on the storage account or container.",
    "move": "grant it Storage Blob Data Contributor on the storage account or container.",
}
IDENTITY_ROLES = (
    "Grant it Storage Blob Data Reader on the storage account or container to browse and download, "
    "or Storage Blob Data Contributor to upload, delete and move too (Access control (IAM) in the portal)."
)


DELEGATOR_ROLE = (
    "grant it Storage Blob Delegator (or Storage Blob Data Reader) on the storage account itself: "
    "a role on one container does not cover user delegation keys, which sign the SAS."
)


def delegation_refused(error: Exception, connection: Connection) -> StorageError | None:
    """Get User Delegation Key refused for the studio's identity: the role it lacks, at the account."""
    if connection.auth_type == AuthType.IDENTITY and getattr(error, "status_code", None) == 403:
        return studio_identity.role_missing(
            f"user delegation keys of account {connection['account_name']!r}", DELEGATOR_ROLE
        )
    return None


def identity_refused(
    error: Exception, connection: Connection, *, resource: str, resource_field: str, action: str
) -> StorageError | None:
    """What failed for an identity-based datastore when the cause is the identity: its own token
    request, the token refused, or a role it lacks. None when the cause lies elsewhere."""
    if studio_identity.is_token_failure(error):
        return studio_identity.explain_token_failure(error)
    code = getattr(error, "error_code", None) or ""
    what = f"the {resource} {connection[resource_field]!r} of account {connection['account_name']!r}"
    if code in PERMISSION_CODES or code == "AuthorizationFailure" or getattr(error, "status_code", None) == 403:
        return studio_identity.role_missing(what, DATA_ROLES.get(action, DATA_ROLES["check"]))
    if isinstance(error, ClientAuthenticationError) or code in AUTH_FAILURE_CODES:
        return studio_identity.token_refused("storage account")
    return None


def public_url(connection: Connection, service: str, container: str, path: str) -> str:
    """A file's URL as the portal shows it: no SAS, no key."""
    return f"{account_url(connection, service)}/{container}/{quote(path)}"


# What the letters of a SAS token mean (sp, srt, sr, ss), as the portal names them.
SAS_PERMISSIONS = {
    "r": "read",
    "a": "add",
    "c": "create",
    "w": "write",
    "d": "delete",
    "x": "delete version",
    "y": "permanent delete",
    "l": "list",
    "t": "tags",
    "f": "filter",
    "m": "move",
    "e": "execute",
    "i": "set immutability policy",
    "p": "process",
    "u": "update",
}
SAS_RESOURCE_TYPES = {"s": "service", "c": "container", "o": "object"}
SAS_SIGNED_RESOURCES = {
    "c": "container",
    "b": "blob",
    "s": "share",
    "f": "file",
    "d": "directory",
    "bv": "blob version",
    "bs": "blob snapshot",
}
SAS_SERVICES = {"b": "blob", "f": "file", "q": "queue", "t": "table"}


def sas_facts(auth_type: str, secrets: Mapping[str, str]) -> CredentialFacts:
    """A SAS token's expiry, start, permissions, resource types, services, IP range and protocol,
    read from its query string. The signature (sig) is never read out."""
    token = secrets.get("sas_token") if auth_type == AuthType.SAS_TOKEN else None
    if not token:
        return CredentialFacts()
    params = parse_sas_token(token)

    def when(name: str) -> datetime | None:
        try:
            moment = datetime.fromisoformat(params.get(name, "").replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def letters(name: str, meaning: Mapping[str, str]) -> str:
        return ", ".join(meaning.get(letter, letter) for letter in params.get(name, "")) or ""

    expires, starts = when("se"), when("st")
    rows = [
        ("Expires", f"{expires:%Y-%m-%d %H:%M} UTC" if expires else "not stated"),
        ("Valid from", f"{starts:%Y-%m-%d %H:%M} UTC" if starts else "when it was made"),
        ("Permissions", letters("sp", SAS_PERMISSIONS) or "none"),
    ]
    if "srt" in params:
        rows.append(("Resource types", letters("srt", SAS_RESOURCE_TYPES)))
    if "sr" in params:
        rows.append(("Resource", SAS_SIGNED_RESOURCES.get(params["sr"], params["sr"])))
    if "ss" in params:
        rows.append(("Services", letters("ss", SAS_SERVICES)))
    rows.append(("Allowed IP range", params.get("sip") or "any"))
    rows.append(("Protocol", params.get("spr") or "https,http"))
    return CredentialFacts(label="SAS token", expires_at=expires, rows=rows)


def explain_storage_error(
    error: Exception, connection: Connection, *, service: str, resource: str, resource_field: str, action: str = "check"
) -> StorageError:
    """Turn an Azure SDK exception into a message that says what failed and how to fix it.

    `action` is what was being done ("check" on registration, else "list", "read", "write",
    "delete"): hints are for the page the user is on.
    """
    code = getattr(error, "error_code", None) or ""
    secret_field = secret_field_name(connection)
    if connection.auth_type == AuthType.IDENTITY:
        refused = identity_refused(error, connection, resource=resource, resource_field=resource_field, action=action)
        if refused is not None:
            return refused
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
            error,
            address.host,
            default_port(address),
            field="endpoint",
            hint="Check the account name, endpoint and protocol, "
            "and that the service is up and reachable from the studio.",
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


# --- credentials for scripts -------------------------------------------------------------------


def sas_permissions(write: bool, *, listing: bool = True, adding: bool = True) -> dict[str, bool]:
    """Least privilege: read and list for reading; write, add, create and delete on top for writing.
    `listing` and `adding` say whether the SAS kind has those letters (a file's has neither, a share's no add)."""
    allowed = {"read": True, "write": write, "create": write, "delete": write}
    if adding:
        allowed["add"] = write
    if listing:
        allowed["list"] = True
    return allowed


def sas_expiry(lifetime: timedelta) -> tuple[datetime, datetime]:
    """(start, expiry): the start a little in the past, as Azure advises against clock skew."""
    now = datetime.now(UTC).replace(microsecond=0)
    return now - timedelta(minutes=5), now + lifetime


def signed_credential(sas_token: str, expiry: datetime, resource_url: str) -> ScriptCredential:
    permissions = parse_sas_token(sas_token).get("sp", "")
    return ScriptCredential(sas_token=sas_token, expires_on=expiry, permissions=permissions, resource_url=resource_url)


def stored_sas_credential(connection: Connection, resource_url: str) -> ScriptCredential:
    """The datastore's own SAS, as it is: the only credential there is (see ScriptCredential.stored)."""
    token = connection["sas_token"].lstrip("?")
    params = parse_sas_token(token)
    expiry = datetime.fromisoformat(params["se"].replace("Z", "+00:00"))
    return ScriptCredential(
        sas_token=token,
        expires_on=expiry if expiry.tzinfo else expiry.replace(tzinfo=UTC),
        permissions=params.get("sp", ""),
        resource_url=resource_url,
        stored=True,
    )


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
