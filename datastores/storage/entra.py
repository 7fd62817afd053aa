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

from azure.core.exceptions import AzureError, ClientAuthenticationError, ServiceRequestError, ServiceResponseError
from azure.identity import ClientSecretCredential

from . import network
from .base import Connection
from .endpoints import is_listed, parse_url
from .errors import AuthenticationFailed, StorageError


def token_scope(resource_url: str) -> str:
    """'https://database.windows.net/' -> 'https://database.windows.net/.default'."""
    return resource_url.rstrip("/") + "/.default"


def service_principal_credential(connection: Connection) -> ClientSecretCredential:
    """Token requests go through the guarded transport (checked addresses, no redirects,
    bounded time) to the authority's parsed host, and nowhere else."""
    authority = parse_url(connection["authority_url"])
    return ClientSecretCredential(
        connection["tenant_id"],
        connection["client_id"],
        connection["client_secret"],
        authority=authority.netloc,
        # Instance discovery would ask login.microsoftonline.com about an allowed private authority.
        disable_instance_discovery=is_listed(authority.host, authority.port),
        transport=network.transport(),
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


def authority_unreachable(error: BaseException, authority_url: str) -> StorageError:
    authority = parse_url(authority_url)
    return network.transport_failure(
        error,
        authority.host,
        authority.port or 443,
        field="authority_url",
        hint="The token request failed: check the authority URL and that the authority is reachable from the studio.",
    )


def explain_token_failure(error: ClientAuthenticationError, authority: str) -> StorageError:
    """A refused or failed token request, named by its AADSTS code (never the raw text)."""
    cause = error.__cause__
    if isinstance(cause, ServiceRequestError | ServiceResponseError):
        return authority_unreachable(error, authority)
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
        raise explain_token_failure(error, connection["authority_url"]) from None
    except AzureError as error:
        raise authority_unreachable(error, connection["authority_url"]) from None
