"""Sign-in with Microsoft Entra ID, or any OpenID Connect provider, through mozilla-django-oidc.

The library runs the authorization code flow with state, nonce and PKCE (S256). What it leaves
open is closed here, at the extension points it documents:

- The ID token is checked in full (OpenID Connect Core 3.1.3.7): RS256 signature by a key of the
  provider's JWKS, `iss` equal to OIDC_OP_ISSUER, `aud` this client alone, `exp`, `iat` and
  `nbf` with a minute of clock skew, and the nonce of this sign-in. The library checks neither
  `aud` nor `iss` (mozilla-django-oidc issue #340) and lets an expired token raise past its view.
- A user is found by (issuer, subject) through ExternalIdentity, never by email: the library's
  default would hand a local account to whoever signs in with the same address.
- The claims are the ID token's: Entra's userinfo endpoint (on Microsoft Graph) has no groups.
- Group claims make studio administrators when OIDC_ADMIN_GROUPS is set; nothing else is granted.
- A refused sign-in ends on the sign-in page with a message, and one log line without a traceback.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.utils.crypto import constant_time_compare
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from .models import ExternalIdentity

logger = logging.getLogger("accounts.oidc")

CLOCK_SKEW_SECONDS = 60
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat"]
USERNAME_MAX = 150
NOT_IN_USERNAMES = re.compile(r"[^\w.@+-]")  # what Django's username validator refuses


def enabled() -> bool:
    return bool(settings.OIDC_ENABLED)


class StudioOIDCBackend(OIDCAuthenticationBackend):
    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """The ID token's claims, once every check of OpenID Connect Core 3.1.3.7 has passed."""
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != self.OIDC_RP_SIGN_ALGO or not isinstance(header.get("kid"), str):
                # Checked first: the library's key lookup fails with a KeyError on a token without a kid.
                raise SuspiciousOperation(f"the ID token's header is not {self.OIDC_RP_SIGN_ALGO} with a key id")
            key = self.retrieve_matching_jwk(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_OP_ISSUER,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as error:
            raise SuspiciousOperation(f"the ID token was refused ({type(error).__name__}: {error})") from None
        if isinstance(claims["aud"], list) and claims["aud"] != [self.OIDC_RP_CLIENT_ID]:
            raise SuspiciousOperation("the ID token names other audiences besides this client")
        expected_nonce = kwargs.get("nonce")
        if not (expected_nonce and constant_time_compare(str(claims.get("nonce", "")), expected_nonce)):
            raise SuspiciousOperation("the ID token's nonce is not the one this sign-in sent")
        return claims

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        return payload

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get("sub"))  # no email needed: many Entra accounts have none

    def filter_users_by_claims(self, claims: dict[str, Any]) -> QuerySet[User]:
        return self.UserModel.objects.filter(
            external_identities__issuer=claims["iss"], external_identities__subject=claims["sub"]
        )

    def create_user(self, claims: dict[str, Any]) -> User:
        """A first sign-in: a user with no password and no workspace, linked to the subject."""
        for _attempt in range(3):
            try:
                with transaction.atomic():
                    user = self.UserModel.objects.create_user(free_username(claims), email=claims.get("email") or "")
                    ExternalIdentity.objects.create(user=user, issuer=claims["iss"], subject=claims["sub"])
                    return self.update_user(user, claims)
            except IntegrityError:
                # A sign-in in another tab won a race: for this subject (use its user), or for the username (retry).
                if existing := self.filter_users_by_claims(claims).first():
                    return existing
        raise SuspiciousOperation("no user could be made for this sign-in")

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        """Names and email follow the provider; administrator rights follow OIDC_ADMIN_GROUPS."""
        user.first_name = str(claims.get("given_name") or claims.get("name") or "")[:150]
        user.last_name = str(claims.get("family_name") or "")[:150]
        if claims.get("email"):
            user.email = str(claims["email"])[:254]
        if settings.OIDC_ADMIN_GROUPS:
            user.is_staff = user.is_superuser = is_administrator(claims)
        user.save()
        return user


def is_administrator(claims: dict[str, Any]) -> bool:
    claim = settings.OIDC_GROUPS_CLAIM
    groups = claims.get(claim)
    if not isinstance(groups, list):
        if claim in (claims.get("_claim_names") or {}):
            # Entra sends a link to Graph instead of the groups when there are too many (overage).
            logger.warning(
                "The ID token's %s claim is an overage link, not a list: no administrator rights from it. "
                "Assign the admin group to the app registration and emit groups assigned to the application.",
                claim,
            )
        return False
    return any(isinstance(group, str) and group in settings.OIDC_ADMIN_GROUPS for group in groups)


def free_username(claims: dict[str, Any]) -> str:
    """The provider's username (UPN) or email when no studio user has it yet, else it with a number."""
    wanted = str(claims.get("preferred_username") or claims.get("email") or f"user-{claims['sub'][:12]}")
    base = NOT_IN_USERNAMES.sub("_", wanted)[: USERNAME_MAX - 4]
    taken = set(get_user_model().objects.filter(username__startswith=base).values_list("username", flat=True))
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


class AuthenticateView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider with state, nonce and a PKCE challenge (the library's)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not enabled():
            raise Http404("Sign-in with an OpenID provider is not configured.")
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    """The provider's redirect back: a refusal of any kind is a message on the sign-in page."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not enabled():
            raise Http404("Sign-in with an OpenID provider is not configured.")
        try:
            return super().get(request)
        except (SuspiciousOperation, requests.RequestException) as refusal:
            logger.warning("Sign-in with %s refused: %s", settings.OIDC_PROVIDER_NAME, refusal)
            return self.login_failure()

    def login_failure(self) -> HttpResponse:
        if error := self.request.GET.get("error"):
            logger.warning("Sign-in with %s ended at the provider: %s", settings.OIDC_PROVIDER_NAME, error[:100])
        messages.error(
            self.request,
            f"Sign-in with {settings.OIDC_PROVIDER_NAME} did not complete, so you are not signed in. "
            "Try again; if it keeps failing, ask your administrator.",
        )
        return redirect("login")


def provider_logout_url(request: HttpRequest) -> str:
    """Where signing out goes (OIDC_OP_LOGOUT_URL_METHOD): for a session that signed in with the
    provider, its end-session endpoint, which ends the provider's session too and comes back to
    the sign-in page; otherwise the sign-in page itself."""
    sign_in_page = resolve_url(settings.LOGOUT_REDIRECT_URL)
    id_token = request.session.get("oidc_id_token")
    if not (enabled() and id_token and settings.OIDC_OP_LOGOUT_ENDPOINT):
        return sign_in_page
    query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": request.build_absolute_uri(sign_in_page)})
    return f"{settings.OIDC_OP_LOGOUT_ENDPOINT}?{query}"
