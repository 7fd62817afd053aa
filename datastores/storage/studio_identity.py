"""The studio's own Azure identity, for identity-based datastores (no stored credential).

azure-identity's `DefaultAzureCredential` finds it in the studio's environment, as the
administrator configured it: a managed identity on Azure (IMDS, App Service, Container Apps,
Azure ML: IDENTITY_ENDPOINT and IDENTITY_HEADER, MSI_ENDPOINT), a workload identity on
Kubernetes (AZURE_FEDERATED_TOKEN_FILE), or a service principal in environment variables
(AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET). Developer sign-ins (Azure CLI,
PowerShell, VS Code, a shared token cache, a browser) are left out: they run programs or read
files instead of making requests the guard can see, and are a person's, not the studio's.

Token requests go through the guarded transport (bounded time, no redirects, no proxy), which
also lets them reach the identity endpoints the environment names (a loopback or link-local
address, such as IMDS's 169.254.169.254) and nothing else. Nothing a user types decides where
a token request goes or for which resource.
"""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
from azure.core.exceptions import AzureError, ClientAuthenticationError
from azure.identity import CredentialUnavailableError, DefaultAzureCredential
from django.conf import settings

from . import network
from .auth import AuthType
from .base import AuthMethod
from .errors import AuthenticationFailed, InvalidInput, PermissionMissing, StorageError, Unreachable

IMDS = ("169.254.169.254", 80)
# Where each kind of identity endpoint is named in the environment.
ENDPOINT_VARIABLES = ("IDENTITY_ENDPOINT", "MSI_ENDPOINT", "IMDS_ENDPOINT", "AZURE_POD_IDENTITY_AUTHORITY_HOST")
# What the credential reads from the environment: a change makes a new credential.
IDENTITY_VARIABLES = (
    *ENDPOINT_VARIABLES,
    "IDENTITY_HEADER",
    "MSI_SECRET",
    "IDENTITY_SERVER_THUMBPRINT",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
)
STORAGE_SCOPE = "https://storage.azure.com/.default"
TURNED_OFF = (
    "Identity-based datastores are turned off in this studio (IDENTITY_BASED_DATASTORES): "
    "choose an authentication type with a credential, or ask an administrator."
)


def unavailable() -> str:
    """Why identity-based datastores are refused now, or "" when they are offered."""
    return "" if settings.IDENTITY_BASED_DATASTORES else TURNED_OFF


def trusted_endpoints() -> list[tuple[str, int]]:
    """The identity endpoints the environment names, as (host, port), and IMDS's address."""
    found = [IMDS]
    for name in ENDPOINT_VARIABLES:
        value = os.environ.get(name, "")
        url = urlsplit(value if "://" in value else f"https://{value}")
        if value and url.hostname:
            found.append((url.hostname, url.port or (80 if url.scheme == "http" else 443)))
    authority = urlsplit("https://" + os.environ.get("AZURE_AUTHORITY_HOST", "").removeprefix("https://"))
    if authority.hostname:
        found.append((authority.hostname, authority.port or 443))
    return found


class StudioCredential:
    """DefaultAzureCredential without developer sign-ins, its token requests guarded and bounded."""

    def __init__(self) -> None:
        self.endpoints = trusted_endpoints()
        self.inner = DefaultAzureCredential(
            exclude_cli_credential=True,
            exclude_developer_cli_credential=True,
            exclude_powershell_credential=True,
            exclude_visual_studio_code_credential=True,
            exclude_shared_token_cache_credential=True,
            exclude_interactive_browser_credential=True,
            exclude_broker_credential=True,
            transport=network.transport(),
            retry_total=0,  # IMDS's own retries sleep for up to a minute; the caller's deadline decides
        )

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        refuse_when_turned_off()
        with network.trusting(self.endpoints):
            return self.inner.get_token(*scopes, **kwargs)

    def get_token_info(self, *scopes: str, options: TokenRequestOptions | None = None) -> AccessTokenInfo:
        refuse_when_turned_off()
        with network.trusting(self.endpoints):
            return self.inner.get_token_info(*scopes, options=options)

    def close(self) -> None:
        self.inner.close()


_credential: tuple[tuple[str, ...], StudioCredential] | None = None
_lock = threading.Lock()


def refuse_when_turned_off() -> None:
    reason = unavailable()
    if reason:
        raise InvalidInput(reason, field="auth_type")


def environment_key() -> tuple[str, ...]:
    """What the environment says of the identity: equal keys, the same identity."""
    return tuple(os.environ.get(name, "") for name in IDENTITY_VARIABLES)


def credential() -> StudioCredential:
    """The studio's identity, one per process (its tokens are cached and reused), made anew
    when the environment that configures it changes."""
    global _credential
    refuse_when_turned_off()
    key = environment_key()
    with _lock:
        if _credential is None or _credential[0] != key:
            _credential = (key, StudioCredential())
        return _credential[1]


def access_token(scope: str) -> str:
    """A token of the studio's identity for `scope`, or a StorageError saying why not."""
    try:
        return credential().get_token(scope).token
    except AzureError as error:
        raise explain_token_failure(error) from None


def describe() -> str:
    """Which identity the studio acts as, in words, with its client ID where one is configured
    (never a secret)."""
    client_id = os.environ.get("AZURE_CLIENT_ID", "")
    if (
        client_id
        and os.environ.get("AZURE_TENANT_ID")
        and (os.environ.get("AZURE_CLIENT_SECRET") or os.environ.get("AZURE_CLIENT_CERTIFICATE_PATH"))
    ):
        return f"the service principal with client ID {client_id} (from the studio's environment variables)"
    if client_id and os.environ.get("AZURE_FEDERATED_TOKEN_FILE"):
        return f"the workload identity with client ID {client_id}"
    if client_id:
        return f"the studio's user-assigned managed identity with client ID {client_id}"
    return "the studio's managed identity"


def explanation(roles: str) -> str:
    """What the form says under the authentication type: whose identity, and what to grant it."""
    return (
        f"No credential is stored: the studio reaches the data as {describe()}. {roles} "
        "Anyone who may register datastores in any workspace can reach what this identity can."
    )


def configured() -> bool:
    """Whether the environment names an identity (a managed identity on an Azure VM needs none)."""
    return any(
        os.environ.get(name) for name in ("IDENTITY_ENDPOINT", "MSI_ENDPOINT", "IMDS_ENDPOINT", "AZURE_CLIENT_ID")
    )


def is_token_failure(error: BaseException) -> bool:
    """Whether the studio's own token request failed (as opposed to the service refusing a token)."""
    return isinstance(error, ClientAuthenticationError) and getattr(error, "response", None) is None


def explain_token_failure(error: BaseException) -> StorageError:
    """A failed token request of the studio's identity. Its text is never quoted: it lists every
    credential tried and what each was told."""
    if isinstance(error, StorageError):
        return error
    if network.find_cause(error, network.AddressRefused) or network.find_cause(error, network.RedirectRefused):
        return Unreachable(
            "The studio's identity endpoint refused the connection the studio would make. "
            "An administrator should check the identity settings in the studio's environment.",
            field="auth_type",
        )
    if isinstance(error, CredentialUnavailableError) or not configured():
        return AuthenticationFailed(
            "The studio has no Azure identity to use (none is set in its environment, and no managed "
            "identity answered): give it a managed identity on Azure, or set "
            "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET in its environment "
            "(an administrator's task; see the README), or choose an authentication type with a credential.",
            field="auth_type",
        )
    return AuthenticationFailed(
        f"The studio's identity ({describe()}) could not get a token from Microsoft Entra ID. "
        "An administrator should check the studio's identity settings.",
        field="auth_type",
    )


def auth_method(access: str) -> AuthMethod:
    """The identity-based authentication type of a storage type: no fields; `access` says what the
    identity must be granted there."""
    return AuthMethod(AuthType.IDENTITY, {}, explanation=lambda: explanation(access), unavailable=unavailable)


def token_refused(what: str) -> AuthenticationFailed:
    """The service refused the identity's token (another tenant, or the wrong audience)."""
    return AuthenticationFailed(
        f"The {what} refused the token of the studio's identity ({describe()}): "
        f"check that the {what} is in the identity's tenant.",
        field="auth_type",
    )


def role_missing(resource: str, roles: str) -> PermissionMissing:
    return PermissionMissing(
        f"The studio's identity ({describe()}) has no access to {resource}: {roles}", field="auth_type"
    )
