"""Stand-in for the Azure AD (Microsoft Entra ID) token endpoint.

This is a stand-in, not an emulator: no emulator exists for the Entra token
endpoint, so this small HTTPS server answers the two requests that msal makes
for the client-credentials grant when instance discovery is disabled:

    GET  /{tenant}/v2.0/.well-known/openid-configuration   (tenant discovery)
    POST /{tenant}/oauth2/v2.0/token                       (grant_type=client_credentials)

Build a credential against it with

    ClientSecretCredential(tenant_id, client_id, secret,
                           authority=aad.authority,            # "https://127.0.0.1:PORT"
                           disable_instance_discovery=True)

azure-identity accepts the authority with or without a scheme: a bare
"127.0.0.1:PORT" gets "https://" prepended and "http://..." is rejected with
ValueError. Without disable_instance_discovery=True msal first asks
login.microsoftonline.com whether the host is a known authority.
The client must trust the stand-in CA: set SSL_CERT_FILE and REQUESTS_CA_BUNDLE
to tls.ca_bundle_path().

Access tokens are opaque random strings that the stand-in remembers together
with tenant, client and audience; other stand-ins ask `token_is_valid`.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from .base import StandinHandler, StandinServer
from .tls import server_ssl_context


@dataclass
class IssuedToken:
    tenant_id: str
    client_id: str
    audience: str  # the scope without "/.default", e.g. "https://storage.azure.com"
    expires_at: float


def audience_of(scope_or_audience: str) -> str:
    """'https://storage.azure.com/.default' and 'https://storage.azure.com/' -> 'https://storage.azure.com'."""
    value = scope_or_audience.strip()
    if value.endswith("/.default"):
        value = value[: -len("/.default")]
    return value.rstrip("/")


class AadHandler(StandinHandler):


    def do_GET(self):
        aad: AadStandin = self.server.standin
        path = urlsplit(self.path).path
        aad.requests.append(f"GET {path}")
        parts = path.strip("/").split("/")
        if parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            tenant = parts[0]
            if tenant not in aad.tenants:
                return self.send_aad_error(400, "invalid_tenant", 90002, tenant_not_found(tenant))
            return self.send_json(200, aad.openid_configuration(tenant))
        self.send_json(404, {"error": "not_found", "error_description": f"stand-in does not serve {path}"})

    def do_POST(self):
        aad: AadStandin = self.server.standin
        path = urlsplit(self.path).path
        aad.requests.append(f"POST {path}")
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        parts = path.strip("/").split("/")
        if parts[1:] != ["oauth2", "v2.0", "token"]:
            return self.send_json(404, {"error": "not_found", "error_description": f"stand-in does not serve {path}"})
        status, body = aad.grant(parts[0], form)
        if "error" in body:
            return self.send_aad_error(status, body["error"], body["code"], body["message"])
        self.send_json(status, body)

    def send_aad_error(self, status: int, error: str, code: int, message: str):
        """The error body Entra ID really sends: AADSTS code in the description, trace ids, error_uri."""
        now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
        description = (
            f"AADSTS{code}: {message}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {now}"
        )
        self.send_json(status, {
            "error": error,
            "error_description": description,
            "error_codes": [code],
            "timestamp": now,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{self.server.standin.base_url}/error?code={code}",
        })

    def send_json(self, status: int, body: dict):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Cache-Control", "no-store, no-cache")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def tenant_not_found(tenant: str) -> str:
    return (
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into "
        "the correct cloud. Check with your subscription administrator, this may happen if there are no active "
        "subscriptions for the tenant."
    )


class AadStandin(StandinServer):
    """Stand-in for the Entra ID token endpoint (no emulator exists), over HTTPS.

    Register service principals with add_principal(). Tokens last
    `token_lifetime` seconds. For tests of expiry: set `issue_expired_tokens`
    to hand out tokens the stand-in already considers expired (the client is
    still told they last `token_lifetime`, as after a revocation or clock skew),
    or call expire_all_tokens() to expire everything issued so far.
    `requests` logs "METHOD /path" of every request received.
    """

    def __init__(self, *, ssl_context=None, token_lifetime: int = 3600):
        super().__init__(AadHandler, ssl_context=ssl_context or server_ssl_context())
        self.token_lifetime = token_lifetime
        self.issue_expired_tokens = False
        self.tenants: set[str] = set()
        self.secrets: dict[tuple[str, str], str] = {}  # (tenant_id, client_id) -> client_secret
        self.tokens: dict[str, IssuedToken] = {}
        self.requests: list[str] = []
        self._lock = threading.Lock()

    @property
    def authority(self) -> str:
        """Value for azure-identity's `authority=` keyword: "https://127.0.0.1:PORT"."""
        return self.base_url

    def add_principal(self, tenant_id: str, client_id: str, client_secret: str) -> None:
        self.tenants.add(tenant_id)
        self.secrets[(tenant_id, client_id)] = client_secret

    def openid_configuration(self, tenant: str) -> dict:
        base = f"{self.base_url}/{tenant}"
        return {
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "grant_types_supported": ["client_credentials"],
            "tenant_region_scope": "EU",
        }

    def grant(self, tenant: str, form: dict) -> tuple[int, dict]:
        """Answer a token request: (status, token body) or (status, {error, code, message})."""
        def fail(status, error, code, message):
            return status, {"error": error, "code": code, "message": message}

        if tenant not in self.tenants:
            return fail(400, "invalid_request", 90002, tenant_not_found(tenant))
        if form.get("grant_type") != "client_credentials":
            return fail(400, "unsupported_grant_type", 70003,
                        "The app requested an unsupported grant type (stand-in knows only 'client_credentials').")
        client_id, scope = form.get("client_id", ""), form.get("scope", "")
        if not scope:
            return fail(400, "invalid_request", 900144,
                        "The request body must contain the following parameter: 'scope'.")
        if (tenant, client_id) not in self.secrets:
            return fail(400, "unauthorized_client", 700016,
                        f"Application with identifier '{client_id}' was not found in the directory '{tenant}'. "
                        "This can happen if the application has not been installed by the administrator of the "
                        "tenant or consented to by any user in the tenant. You may have sent your authentication "
                        "request to the wrong tenant.")
        if not secrets.compare_digest(form.get("client_secret", ""), self.secrets[(tenant, client_id)]):
            return fail(401, "invalid_client", 7000215,
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                        f"secret value, not the client secret ID, for a secret added to app '{client_id}'.")
        scopes = scope.split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            return fail(400, "invalid_scope", 1002012,
                        f"The provided value for scope {scope} is not valid. Client credential flows must have a "
                        "scope value with /.default suffixed to the resource identifier (application ID URI).")

        token = secrets.token_urlsafe(32)
        expires_at = time.time() + (-1 if self.issue_expired_tokens else self.token_lifetime)
        with self._lock:
            self.tokens[token] = IssuedToken(tenant, client_id, audience_of(scopes[0]), expires_at)
        return 200, {
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            "access_token": token,
        }

    def token_info(self, token: str) -> IssuedToken | None:
        """What the stand-in issued under this token, or None if it never did (expired tokens included)."""
        with self._lock:
            return self.tokens.get(token)

    def token_is_valid(self, token: str, scope_or_audience: str) -> bool:
        """True if `token` was issued here, has not expired and was issued for this resource."""
        info = self.token_info(token)
        return (
            info is not None
            and info.expires_at > time.time()
            and info.audience == audience_of(scope_or_audience)
        )

    def expire_all_tokens(self) -> None:
        with self._lock:
            for info in self.tokens.values():
                info.expires_at = 0.0
