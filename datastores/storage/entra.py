"""Microsoft Entra ID (Azure AD) for the storage types that sign in with a service
principal (Data Lake Storage Gen1 and Gen2, Azure SQL Database): credentials from
azure-identity with bounded timeouts, reused per principal, and refused token
requests explained by their AADSTS code.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from urllib.parse import urlsplit

from azure.core.exceptions import AzureError, ClientAuthenticationError, ServiceRequestError, ServiceResponseError
from azure.identity import ClientSecretCredential
from django.conf import settings

from .base import Connection
from .endpoints import is_custom_host
from .errors import AuthenticationFailed, StorageError, TimedOut, Unreachable


def token_scope(resource_url: str) -> str:
    """'https://database.windows.net/' -> 'https://database.windows.net/.default'."""
    return resource_url.rstrip("/") + "/.default"


def service_principal_credential(connection: Connection) -> ClientSecretCredential:
    authority_host = urlsplit(connection["authority_url"]).netloc
    return ClientSecretCredential(
        connection["tenant_id"],
        connection["client_id"],
        connection["client_secret"],
        authority=authority_host,
        disable_instance_discovery=is_custom_host(authority_host),
        connection_timeout=min(settings.STORAGE_TIMEOUT_SECONDS, 10),
        read_timeout=settings.STORAGE_TIMEOUT_SECONDS,
        retry_total=0,
    )


_credentials: OrderedDict[tuple[str, ...], ClientSecretCredential] = OrderedDict()
_credentials_lock = threading.Lock()


def reused_credential(connection: Connection) -> ClientSecretCredential:
    """One credential per principal for browsing and transfers, so its token is reused
    across calls (a folder upload is one call per file). Checks use a fresh one."""
    key = (
        connection["tenant_id"],
        connection["client_id"],
        hashlib.sha256(connection["client_secret"].encode()).hexdigest(),
        connection["authority_url"],
    )
    with _credentials_lock:
        credential = _credentials.get(key)
        if credential is None:
            credential = _credentials[key] = service_principal_credential(connection)
        _credentials.move_to_end(key)
        while len(_credentials) > 32:
            _credentials.popitem(last=False)
        return credential


# What an AADSTS code says to fix, and on which field.
TOKEN_ERRORS = {
    "AADSTS90002": ("tenant_id", "the tenant does not exist. Check the tenant ID (Directory ID) and the authority URL"),
    "AADSTS900023": ("tenant_id", "the tenant ID is malformed. Copy the Directory ID again"),
    "AADSTS700016": (
        "client_id",
        "this tenant has no application with that client ID. Check the client ID (Application ID) and the tenant ID",
    ),
    "AADSTS7000215": (
        "client_secret",
        "the client secret is wrong. Copy the secret's value (not its ID) from the app registration again",
    ),
    "AADSTS7000222": ("client_secret", "the client secret has expired. Create a new one in the app registration"),
}


def explain_token_failure(error: ClientAuthenticationError) -> StorageError:
    """A refused or failed token request, named by its AADSTS code (never the raw text)."""
    cause = error.__cause__
    if isinstance(cause, ServiceRequestError | ServiceResponseError):
        timed_out = "timed out" in str(cause).lower()
        return (TimedOut if timed_out else Unreachable)(
            "The token request failed: "
            + (
                f"timed out after {settings.STORAGE_TIMEOUT_SECONDS} s waiting for the authority."
                if timed_out
                else "could not reach the authority."
            )
            + " Check the authority URL and the network.",
            field="authority_url",
        )
    if isinstance(cause, ValueError) and "authority configuration" in str(cause):
        return AuthenticationFailed(
            "The token request failed: the authority does not know this tenant. "
            "Check the tenant ID (Directory ID in Microsoft Entra ID) and the authority URL.",
            field="tenant_id",
        )
    found = re.search(r"AADSTS\d+", str(error))
    code = found.group(0) if found else ""
    if code in TOKEN_ERRORS:
        field, advice = TOKEN_ERRORS[code]
        return AuthenticationFailed(f"The token request failed ({code}): {advice}.", field=field)
    return AuthenticationFailed(
        "The token request failed: Microsoft Entra ID refused the tenant ID, client ID or client secret"
        + (f" ({code})" if code else "")
        + ". Check all three, and that the secret has not expired.",
        field="client_secret",
    )


def access_token(connection: Connection, resource_url: str) -> str:
    """A token for `resource_url` from the connection's authority, or a StorageError saying why not."""
    try:
        return service_principal_credential(connection).get_token(token_scope(resource_url)).token
    except ClientAuthenticationError as error:
        raise explain_token_failure(error) from None
    except AzureError:
        raise Unreachable(
            f"Could not get a token from {connection['authority_url']}. Check the Authority URL and the network.",
            field="authority_url",
        ) from None
