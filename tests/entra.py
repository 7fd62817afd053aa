"""Sign-in with Microsoft Entra ID against the stand-in (tests/standins/aad.py): an app registration,
people, the studio's OIDC_* settings pointed at it, and the flow driven over HTTP for tests that
need no browser. The fixtures `aad_provider` and `entra` (tests/conftest.py) build on these."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from django.test import Client

from studio.settings import provider_origins

from .standins.aad import AadStandin, Application, Person
from .support import remember_secret


@dataclass
class Entra:
    """One tenant and one app registration on the stand-in, which the studio signs in with."""

    aad: AadStandin
    tenant: str
    app: Application

    def person(self, name: str, username: str, *, email: str | None = None, groups: list[str] | None = None) -> Person:
        return self.aad.add_person(self.tenant, name, username, email=email, groups=groups)

    def allow_redirects_to(self, base_url: str) -> None:
        """Register the studio at base_url: its callback, and its sign-in page for after sign-out."""
        self.app.redirect_uris += [f"{base_url}/oidc/callback/", f"{base_url}/accounts/login/"]


def register_app(aad: AadStandin) -> Entra:
    tenant = str(uuid.uuid4())
    app = aad.add_application(tenant, str(uuid.uuid4()), remember_secret(secrets.token_urlsafe(30)), [])
    entra = Entra(aad, tenant, app)
    entra.allow_redirects_to("http://testserver")
    return entra


def configure_studio(settings, entra: Entra, *, local_accounts: bool = True) -> None:
    """The OIDC_* settings an operator sets for Entra ID (README), pointed at the stand-in."""
    base = f"{entra.aad.base_url}/{entra.tenant}"
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = entra.app.client_id
    settings.OIDC_RP_CLIENT_SECRET = entra.app.client_secret
    settings.OIDC_OP_ISSUER = f"{base}/v2.0"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{base}/oauth2/v2.0/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{base}/oauth2/v2.0/token"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{base}/discovery/v2.0/keys"
    settings.OIDC_OP_LOGOUT_ENDPOINT = f"{base}/oauth2/v2.0/logout"
    settings.LOCAL_ACCOUNTS = local_accounts
    settings.AUTHENTICATION_BACKENDS = (
        ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"] if local_accounts else []
    ) + ["accounts.oidc.StudioOIDCBackend"]
    settings.SECURE_CSP = {
        **settings.SECURE_CSP,
        "form-action": [
            "'self'",
            *provider_origins(settings.OIDC_OP_AUTHORIZATION_ENDPOINT, settings.OIDC_OP_LOGOUT_ENDPOINT),
        ],
    }


def sign_in_with_entra(client: Client, entra: Entra, person: Person, *, next_url: str = ""):
    """The whole flow with Django's test client as the browser: the studio's redirect to the
    provider, the provider's sign-in page (real HTTP), and the callback. Returns the callback's answer."""
    started = client.get("/oidc/authenticate/", {"next": next_url} if next_url else {})
    assert started.status_code == 302, started
    back = entra.aad.sign_in(started["Location"], person)
    return client.get(back)
