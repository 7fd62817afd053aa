"""Stand-in for Microsoft Entra ID (Azure AD): its token endpoint, and its OpenID provider for sign-in.

This is a stand-in, not an emulator: no emulator exists for Entra ID, so this small HTTPS
server answers what msal (client credentials) and an OpenID Connect relying party (the studio's
sign-in, authorization code flow with PKCE) send it:

    GET  /{tenant}/v2.0/.well-known/openid-configuration   (discovery)
    GET  /{tenant}/oauth2/v2.0/authorize                   (sign-in page: one button per person)
    POST /{tenant}/oauth2/v2.0/authorize                   (a person chosen: redirect with code and state)
    POST /{tenant}/oauth2/v2.0/token                       (client_credentials or authorization_code)
    GET  /{tenant}/discovery/v2.0/keys                     (JWKS: the RSA key that signs ID tokens)
    GET  /{tenant}/oauth2/v2.0/logout                      (end session, then post_logout_redirect_uri)

Client credentials: build a credential against it with

    ClientSecretCredential(tenant_id, client_id, secret,
                           authority=aad.authority,            # "https://127.0.0.1:PORT"
                           disable_instance_discovery=True)

azure-identity accepts the authority with or without a scheme: a bare
"127.0.0.1:PORT" gets "https://" prepended and "http://..." is rejected with
ValueError. Without disable_instance_discovery=True msal first asks
login.microsoftonline.com whether the host is a known authority.
The client must trust the stand-in CA: set SSL_CERT_FILE and REQUESTS_CA_BUNDLE
to tls.ca_bundle_path(). Access tokens are opaque random strings that the stand-in
remembers together with tenant, client and audience; other stand-ins ask `token_is_valid`.

Managed identity (the protocol of App Service, Container Apps and Azure ML, which
azure-identity's ManagedIdentityCredential and DefaultAzureCredential speak when
IDENTITY_ENDPOINT and IDENTITY_HEADER are set):

    GET  /managed-identity/token?api-version=2019-08-01&resource=R[&client_id=C]
         with header X-IDENTITY-HEADER  ->  {access_token, expires_on, resource, token_type, client_id}

Register identities with add_managed_identity(); the first is the system-assigned one. Its
access tokens are RS256 JWTs with the claims Azurite's basic OAuth checks (iss from
sts.windows.net, aud, iat, nbf, exp, and oid and tid for user delegation keys), and are
remembered like the other tokens, so the ADLS stand-ins accept them too.

Sign-in: register an app with add_application() (its redirect URIs are matched exactly, as Entra
does) and people with add_person(). The authorize request must carry a PKCE S256 challenge, and
the code is redeemed once, within 10 minutes, with the matching verifier, client secret and
redirect URI. ID tokens are RS256 JWTs signed with the key the JWKS publishes, with Entra's v2
claims (iss, aud, sub pairwise per app, oid, tid, nonce, iat, nbf, exp, name,
preferred_username, email with the email scope, groups when the person has any). For refusal
tests, `tamper_next_id_token` spoils the next ID token one way (see ID_TOKEN_TAMPERING).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .base import StandinHandler, StandinServer
from .tls import server_ssl_context


@dataclass
class IssuedToken:
    tenant_id: str
    client_id: str
    audience: str  # the scope without "/.default", e.g. "https://storage.azure.com"
    expires_at: float


@dataclass
class Application:
    """An app registration: who may redeem codes, and the redirect URIs a sign-in may return to."""

    tenant_id: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]


@dataclass
class ManagedIdentity:
    tenant_id: str
    client_id: str
    object_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class Person:
    tenant_id: str
    name: str
    preferred_username: str
    email: str | None = None
    groups: list[str] = field(default_factory=list)
    oid: str = field(default_factory=lambda: str(uuid.uuid4()))

    def subject_for(self, client_id: str) -> str:
        """Entra's `sub` is pairwise: stable for one person and one app, different across apps."""
        digest = hashlib.sha256(f"{self.oid}:{client_id}".encode()).digest()
        return base64url(digest)[:43]


@dataclass
class SignInRequest:
    """An authorize request the sign-in page is showing."""

    tenant_id: str
    client_id: str
    redirect_uri: str
    scope: str
    state: str | None
    nonce: str | None
    code_challenge: str
    code_challenge_method: str


@dataclass
class AuthorizationCode:
    request: SignInRequest
    person: Person
    expires_at: float
    redeemed: bool = False


# What tamper_next_id_token can do to the next ID token, for the tests of its refusal.
ID_TOKEN_TAMPERING = {
    "expired": "exp an hour ago (iat and nbf two hours ago)",
    "foreign_key": "signed with a key the JWKS does not hold, under the JWKS key's kid",
    "unsigned": 'alg "none" and no signature',
    "hs256": "HS256, with the JWKS public key as the HMAC secret (algorithm confusion)",
    "nonce": "a nonce this sign-in did not send",
    "audience": "issued for another app (aud)",
    "issuer": "issued by another tenant (iss)",
}


def base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_jwt(claims: dict, key: rsa.RSAPrivateKey, kid: str) -> str:
    """An RS256 JWS (RFC 7515 compact form) made with `cryptography` alone."""
    header = {"typ": "JWT", "alg": "RS256", "kid": kid}
    signing_input = f"{base64url(json.dumps(header).encode())}.{base64url(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{base64url(signature)}"


def audience_of(scope_or_audience: str) -> str:
    """'https://storage.azure.com/.default' and 'https://storage.azure.com/' -> 'https://storage.azure.com'."""
    value = scope_or_audience.strip()
    if value.endswith("/.default"):
        value = value[: -len("/.default")]
    return value.rstrip("/")


class AadHandler(StandinHandler):
    def do_GET(self):
        aad: AadStandin = self.server.standin
        url = urlsplit(self.path)
        path = url.path
        aad.requests.append(f"GET {path}")
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = path.strip("/").split("/")
        tenant, route = parts[0], parts[1:]
        if route == ["v2.0", ".well-known", "openid-configuration"]:
            if tenant not in aad.tenants:
                return self.send_aad_error(400, "invalid_tenant", 90002, tenant_not_found(tenant))
            return self.send_json(200, aad.openid_configuration(tenant))
        if path == "/managed-identity/token":
            return self.send_json(*aad.managed_identity_token(query, self.headers.get("X-IDENTITY-HEADER", "")))
        if route == ["discovery", "v2.0", "keys"]:
            return self.send_json(200, aad.jwks())
        if route == ["oauth2", "v2.0", "authorize"]:
            return self.send_answer(aad.authorize(tenant, query))
        if route == ["oauth2", "v2.0", "logout"]:
            return self.send_answer(aad.end_session(tenant, query))
        self.send_json(404, {"error": "not_found", "error_description": f"stand-in does not serve {path}"})

    def do_POST(self):
        aad: AadStandin = self.server.standin
        path = urlsplit(self.path).path
        aad.requests.append(f"POST {path}")
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        parts = path.strip("/").split("/")
        if parts[1:] == ["oauth2", "v2.0", "authorize"]:
            return self.send_answer(aad.choose(form.get("sign_in", ""), form.get("person", "")))
        if parts[1:] != ["oauth2", "v2.0", "token"]:
            return self.send_json(404, {"error": "not_found", "error_description": f"stand-in does not serve {path}"})
        status, body = aad.grant(parts[0], form, self.headers.get("Authorization"))
        if "error" in body:
            return self.send_aad_error(status, body["error"], body["code"], body["message"])
        self.send_json(status, body)

    def send_answer(self, answer: tuple[int, str]) -> None:
        """(302, location) redirects; (status, text) is an HTML page."""
        status, content = answer
        if status == 302:
            self.send_response(302)
            self.send_header("Location", content)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = content.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_aad_error(self, status: int, error: str, code: int, message: str):
        """The error body Entra ID really sends: AADSTS code in the description, trace ids, error_uri."""
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
        description = (
            f"AADSTS{code}: {message}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {now}"
        )
        self.send_json(
            status,
            {
                "error": error,
                "error_description": description,
                "error_codes": [code],
                "timestamp": now,
                "trace_id": trace_id,
                "correlation_id": correlation_id,
                "error_uri": f"{self.server.standin.base_url}/error?code={code}",
            },
        )

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


def page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def error_page(code: int, message: str) -> tuple[int, str]:
    return 400, page("Sorry, but we're having trouble signing you in.", f"<p>AADSTS{code}: {html.escape(message)}</p>")


class AadStandin(StandinServer):
    """Stand-in for Entra ID's token endpoint and OpenID provider (no emulator exists), over HTTPS.

    Register service principals with add_principal(), apps and people for sign-in with
    add_application() and add_person(). Tokens last
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
        # sign-in
        self.applications: dict[str, Application] = {}
        self.people: dict[str, Person] = {}
        self.sign_in_requests: dict[str, SignInRequest] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.authorize_queries: list[dict[str, str]] = []  # every authorize request's parameters
        self.id_tokens: dict[str, Person] = {}  # issued ID token -> whose
        self.sign_outs: list[Person] = []
        self.tamper_next_id_token: str | None = None
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        # managed identity
        self.identity_header = secrets.token_urlsafe(24)  # IDENTITY_HEADER for the studio's environment
        self.managed_identities: dict[str, ManagedIdentity] = {}  # client ID ("" for system-assigned) -> identity
        self.managed_identity_requests: list[str] = []  # the resource of every token request
        self.key_id = base64url(secrets.token_bytes(20))

    @property
    def authority(self) -> str:
        """Value for azure-identity's `authority=` keyword: "https://127.0.0.1:PORT"."""
        return self.base_url

    @property
    def managed_identity_endpoint(self) -> str:
        """IDENTITY_ENDPOINT for the studio's environment."""
        return f"{self.base_url}/managed-identity/token"

    def add_managed_identity(self, tenant_id: str, client_id: str) -> ManagedIdentity:
        self.tenants.add(tenant_id)
        identity = ManagedIdentity(tenant_id, client_id)
        self.managed_identities.setdefault("", identity)  # the first is the system-assigned one
        self.managed_identities[client_id] = identity
        return identity

    def managed_identity_token(self, query: dict[str, str], header: str) -> tuple[int, dict]:
        """A token for the identity the environment's IDENTITY_HEADER unlocks, as App Service answers."""
        if not self.identity_header or not hmac.compare_digest(header, self.identity_header):
            return 401, {"statusCode": 401, "message": "The X-IDENTITY-HEADER is missing or wrong."}
        if query.get("api-version") != "2019-08-01" or not query.get("resource"):
            return 400, {"statusCode": 400, "message": "api-version 2019-08-01 and resource are required."}
        identity = self.managed_identities.get(query.get("client_id", ""))
        if identity is None:
            return 400, {"statusCode": 400, "message": "No managed identity with that client ID is assigned."}
        self.managed_identity_requests.append(query["resource"])
        now = int(time.time())
        expires_at = now + (-1 if self.issue_expired_tokens else self.token_lifetime)
        claims = {
            "aud": audience_of(query["resource"]),
            "iss": f"https://sts.windows.net/{identity.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + self.token_lifetime,
            "appid": identity.client_id,
            "oid": identity.object_id,
            "sub": identity.object_id,
            "tid": identity.tenant_id,
            "ver": "1.0",
        }
        token = signed_jwt(claims, self.signing_key, self.key_id)
        with self._lock:
            self.tokens[token] = IssuedToken(identity.tenant_id, identity.client_id, str(claims["aud"]), expires_at)
        return 200, {
            "access_token": token,
            "expires_on": str(now + self.token_lifetime),
            "resource": query["resource"],
            "token_type": "Bearer",
            "client_id": identity.client_id,
        }

    def add_principal(self, tenant_id: str, client_id: str, client_secret: str) -> None:
        self.tenants.add(tenant_id)
        self.secrets[(tenant_id, client_id)] = client_secret

    def add_application(
        self, tenant_id: str, client_id: str, client_secret: str, redirect_uris: list[str]
    ) -> Application:
        self.tenants.add(tenant_id)
        app = Application(tenant_id, client_id, client_secret, list(redirect_uris))
        self.applications[client_id] = app
        return app

    def add_person(
        self,
        tenant_id: str,
        name: str,
        preferred_username: str,
        *,
        email: str | None = None,
        groups: list[str] | None = None,
    ) -> Person:
        self.tenants.add(tenant_id)
        person = Person(tenant_id, name, preferred_username, email, list(groups or []))
        self.people[person.oid] = person
        return person

    def issuer(self, tenant: str) -> str:
        return f"{self.base_url}/{tenant}/v2.0"

    def openid_configuration(self, tenant: str) -> dict:
        base = f"{self.base_url}/{tenant}"
        return {
            "issuer": self.issuer(tenant),
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "tenant_region_scope": "EU",
        }

    def jwks(self) -> dict:
        numbers = self.signing_key.public_key().public_numbers()

        def encoded(number: int) -> str:
            return base64url(number.to_bytes((number.bit_length() + 7) // 8, "big"))

        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "kid": self.key_id,
                    "x5t": self.key_id,
                    "n": encoded(numbers.n),
                    "e": encoded(numbers.e),
                }
            ]
        }

    # --- sign-in: the authorize page ------------------------------------------------------------

    def authorize(self, tenant: str, query: dict[str, str]) -> tuple[int, str]:
        """The sign-in page, or the error Entra gives. Until the redirect URI is known to be
        registered, errors are pages; after that they go back to it, as Entra sends them."""
        self.authorize_queries.append(dict(query))
        if tenant not in self.tenants:
            return error_page(90002, tenant_not_found(tenant))
        app = self.applications.get(query.get("client_id", ""))
        if app is None or app.tenant_id != tenant:
            return error_page(
                700016,
                f"Application with identifier '{query.get('client_id', '')}' "
                f"was not found in the directory '{tenant}'.",
            )
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in app.redirect_uris:
            return error_page(
                50011,
                f"The redirect URI '{redirect_uri}' specified in the request does not match the "
                f"redirect URIs configured for the application '{app.client_id}'.",
            )

        def refuse(error: str, code: int, message: str) -> tuple[int, str]:
            answer = {"error": error, "error_description": f"AADSTS{code}: {message}"}
            if "state" in query:
                answer["state"] = query["state"]
            return 302, f"{redirect_uri}?{urlencode(answer)}"

        if query.get("response_type") != "code":
            return refuse(
                "unsupported_response_type", 700054, "response_type 'code' is the only one this stand-in serves."
            )
        if "openid" not in query.get("scope", "").split():
            return refuse("invalid_request", 90014, "The scope must contain 'openid'.")
        if not query.get("code_challenge") or query.get("code_challenge_method") != "S256":
            return refuse("invalid_request", 9002325, "Proof Key for Code Exchange (S256) is required.")
        request_id = secrets.token_urlsafe(16)
        with self._lock:
            self.sign_in_requests[request_id] = SignInRequest(
                tenant,
                app.client_id,
                redirect_uri,
                query.get("scope", ""),
                query.get("state"),
                query.get("nonce"),
                query["code_challenge"],
                query["code_challenge_method"],
            )
        choices = "".join(
            f'<form method="post" action="/{html.escape(tenant)}/oauth2/v2.0/authorize">'
            f'<input type="hidden" name="sign_in" value="{request_id}">'
            f'<input type="hidden" name="person" value="{person.oid}">'
            f'<button type="submit">Sign in as {html.escape(person.name)}</button></form>'
            for person in self.people.values()
            if person.tenant_id == tenant
        )
        return 200, page("Pick an account", choices)

    def choose(self, request_id: str, oid: str) -> tuple[int, str]:
        """A person picked on the sign-in page: back to the app with a code and the state it sent."""
        with self._lock:
            request = self.sign_in_requests.pop(request_id, None)
        person = self.people.get(oid)
        if request is None or person is None or person.tenant_id != request.tenant_id:
            return error_page(90100, "This sign-in request is unknown or was already used.")
        code = secrets.token_urlsafe(48)
        with self._lock:
            self.codes[code] = AuthorizationCode(request, person, time.time() + 600)
        answer = {"code": code}
        if request.state is not None:
            answer["state"] = request.state
        return 302, f"{request.redirect_uri}?{urlencode(answer)}"

    def sign_in(self, authorize_url: str, person: Person) -> str:
        """What a browser does on the sign-in page, over HTTP: returns the URL it is sent back to."""
        verify = self.ca_bundle
        shown = requests.get(authorize_url, verify=verify, allow_redirects=False, timeout=10)
        if shown.status_code == 302:
            return shown.headers["Location"]
        found = re.search(r'name="sign_in" value="([^"]+)"', shown.text)
        assert found, shown.text
        chosen = requests.post(
            f"{self.base_url}/{person.tenant_id}/oauth2/v2.0/authorize",
            data={"sign_in": found.group(1), "person": person.oid},
            verify=verify,
            allow_redirects=False,
            timeout=10,
        )
        assert chosen.status_code == 302, chosen.text
        return chosen.headers["Location"]

    @property
    def ca_bundle(self) -> str:
        from .tls import ca_bundle_path

        return ca_bundle_path()

    # --- sign-in: tokens and sign-out --------------------------------------------------------------

    def redeem(self, tenant: str, form: dict, authorization: str | None) -> tuple[int, dict]:
        """The authorization_code grant: the code, its PKCE verifier, the app's secret and redirect URI."""

        def fail(status, error, code, message):
            return status, {"error": error, "code": code, "message": message}

        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        if authorization and authorization.lower().startswith("basic "):
            client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
        app = self.applications.get(client_id)
        if app is None or app.tenant_id != tenant:
            return fail(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{tenant}'.",
            )
        if not secrets.compare_digest(client_secret, app.client_secret):
            return fail(401, "invalid_client", 7000215, "Invalid client secret provided.")
        with self._lock:
            grant = self.codes.get(form.get("code", ""))
            already = grant is not None and grant.redeemed
            if grant is not None:
                grant.redeemed = True
        if grant is None or grant.request.client_id != client_id:
            return fail(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid (the code).")
        if already:
            return fail(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed.")
        if grant.expires_at < time.time():
            return fail(400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired.")
        if form.get("redirect_uri") != grant.request.redirect_uri:
            return fail(
                400, "invalid_grant", 50148, "The redirect_uri does not match the one of the authorization request."
            )
        verifier = form.get("code_verifier", "")
        if not verifier or not hmac.compare_digest(
            base64url(hashlib.sha256(verifier.encode()).digest()), grant.request.code_challenge
        ):
            return fail(
                400,
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            )
        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self.tokens[access_token] = IssuedToken(
                tenant, client_id, "https://graph.microsoft.com", time.time() + self.token_lifetime
            )
        id_token = self.id_token(grant)
        return 200, {
            "token_type": "Bearer",
            "scope": grant.request.scope,
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            "access_token": access_token,
            "id_token": id_token,
        }

    def id_token(self, grant: AuthorizationCode) -> str:
        request, person = grant.request, grant.person
        tampering, self.tamper_next_id_token = self.tamper_next_id_token, None
        now = int(time.time())
        claims: dict = {
            "ver": "2.0",
            "iss": self.issuer(request.tenant_id),
            "sub": person.subject_for(request.client_id),
            "aud": request.client_id,
            "iat": now,
            "nbf": now,
            "exp": now + self.token_lifetime,
            "name": person.name,
            "preferred_username": person.preferred_username,
            "oid": person.oid,
            "tid": request.tenant_id,
            "uti": base64url(secrets.token_bytes(16)),
        }
        if request.nonce is not None:
            claims["nonce"] = request.nonce
        if person.email and "email" in request.scope.split():
            claims["email"] = person.email
        if person.groups:
            claims["groups"] = list(person.groups)
        key, kid = self.signing_key, self.key_id
        if tampering is not None:
            assert tampering in ID_TOKEN_TAMPERING, tampering
        if tampering == "expired":
            claims.update(iat=now - 7200, nbf=now - 7200, exp=now - 3600)
        elif tampering == "nonce":
            claims["nonce"] = secrets.token_urlsafe(24)
        elif tampering == "audience":
            claims["aud"] = str(uuid.uuid4())
        elif tampering == "issuer":
            claims["iss"] = self.issuer(str(uuid.uuid4()))
        elif tampering == "foreign_key":
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if tampering == "unsigned":
            header = base64url(json.dumps({"typ": "JWT", "alg": "none"}).encode())
            token = f"{header}.{base64url(json.dumps(claims).encode())}."
        elif tampering == "hs256":
            secret = self.signing_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            header = base64url(json.dumps({"typ": "JWT", "alg": "HS256", "kid": kid}).encode())
            signing_input = f"{header}.{base64url(json.dumps(claims).encode())}"
            token = f"{signing_input}.{base64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"
        else:
            token = signed_jwt(claims, key, kid)
        with self._lock:
            self.id_tokens[token] = person
        return token

    def end_session(self, tenant: str, query: dict[str, str]) -> tuple[int, str]:
        """RP-initiated sign-out: ends the person's session here, then goes to post_logout_redirect_uri
        if it is one of the app's registered redirect URIs (Entra's rule), else shows a page."""
        hint = query.get("id_token_hint", "")
        person = self.id_tokens.get(hint)
        if person is not None:
            self.sign_outs.append(person)
        target = query.get("post_logout_redirect_uri")
        audience = None
        if person is not None:
            payload = hint.split(".")[1]
            audience = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["aud"]
        app = self.applications.get(audience or "")
        if target and app is not None and target in app.redirect_uris:
            return 302, target
        return 200, page("You signed out of your account", "<p>It's a good idea to close all browser windows.</p>")

    def grant(self, tenant: str, form: dict, authorization: str | None = None) -> tuple[int, dict]:
        """Answer a token request: (status, token body) or (status, {error, code, message})."""

        def fail(status, error, code, message):
            return status, {"error": error, "code": code, "message": message}

        if tenant not in self.tenants:
            return fail(400, "invalid_request", 90002, tenant_not_found(tenant))
        if form.get("grant_type") == "authorization_code":
            return self.redeem(tenant, form, authorization)
        if form.get("grant_type") != "client_credentials":
            return fail(
                400,
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type "
                "(stand-in knows 'client_credentials' and 'authorization_code').",
            )
        client_id, scope = form.get("client_id", ""), form.get("scope", "")
        if not scope:
            return fail(
                400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'."
            )
        if (tenant, client_id) not in self.secrets:
            return fail(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{tenant}'. "
                "This can happen if the application has not been installed by the administrator of the "
                "tenant or consented to by any user in the tenant. You may have sent your authentication "
                "request to the wrong tenant.",
            )
        if not secrets.compare_digest(form.get("client_secret", ""), self.secrets[(tenant, client_id)]):
            return fail(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                f"secret value, not the client secret ID, for a secret added to app '{client_id}'.",
            )
        scopes = scope.split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            return fail(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows must have a "
                "scope value with /.default suffixed to the resource identifier (application ID URI).",
            )

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
        return info is not None and info.expires_at > time.time() and info.audience == audience_of(scope_or_audience)

    def expire_all_tokens(self) -> None:
        with self._lock:
            for info in self.tokens.values():
                info.expires_at = 0.0
