"""Personal access tokens and the short-lived access tokens issued for them.

A personal access token is `dsp_` and 43 random characters; only its SHA-256 is stored
(the token has 256 bits of entropy, so a fast hash is enough and a lookup by hash is exact).
A short-lived access token is what the managed-identity route hands to azure-identity: the
personal token's id and an expiry, signed with SECRET_KEY (django.core.signing), checked
again against the personal token on every use, so revoking one ends both.

A bearer value that is missing, malformed, unknown, expired or revoked is simply "not
accepted": callers answer 401 with no hint of which it was.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.utils import timezone

from .access import Actor, client_address
from .models import AccessToken, Role

PERSONAL_PREFIX = "dsp_"
ACCESS_PREFIX = "dsa_"
SHOWN_PREFIX_LENGTH = 12  # "dsp_" and 8 characters: enough to tell tokens apart on a page
ACCESS_SALT = "datastores.tokens.access"
LAST_USE_PRECISION = timedelta(minutes=1)  # last use is written at most once a minute per token
MAX_BEARER_LENGTH = 4096


def new_personal_token() -> str:
    return PERSONAL_PREFIX + secrets.token_urlsafe(32)


def digest_of(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def bearer_of(request: HttpRequest) -> str:
    """The token of an `Authorization: Bearer …` header, or "" (no header, another scheme)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


@dataclass(frozen=True)
class AccessGrant:
    access_token: str
    expires_on: datetime


def access_token_for(token: AccessToken, resource: str) -> AccessGrant:
    """A signed access token for a personal token, valid API_ACCESS_TOKEN_MINUTES (never past the
    personal token's own expiry)."""
    expires_on = min(timezone.now() + timedelta(minutes=settings.API_ACCESS_TOKEN_MINUTES), token.expires_at)
    payload = {"t": token.pk, "e": int(expires_on.timestamp()), "r": resource[:200]}
    return AccessGrant(ACCESS_PREFIX + signing.dumps(payload, salt=ACCESS_SALT, compress=True), expires_on)


def _personal_token(raw: str) -> AccessToken | None:
    if raw.startswith(PERSONAL_PREFIX):
        return AccessToken.objects.select_related("user").filter(digest=digest_of(raw)).first()
    if raw.startswith(ACCESS_PREFIX):
        try:
            payload = signing.loads(raw[len(ACCESS_PREFIX) :], salt=ACCESS_SALT)
            token_id, expires = int(payload["t"]), int(payload["e"])
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            return None
        if expires <= timezone.now().timestamp():
            return None
        return AccessToken.objects.select_related("user").filter(pk=token_id).first()
    return None


def token_from_bearer(raw: str) -> AccessToken | None:
    """The personal token a bearer value stands for, if it is accepted now."""
    if not raw or len(raw) > MAX_BEARER_LENGTH:
        return None
    token = _personal_token(raw)
    if token is None or not token.is_active or not token.user.is_active:
        return None
    return token


def actor_for(request: HttpRequest, token: AccessToken) -> Actor:
    """Who acts with this token: its user, capped by the token (see access.Actor)."""
    restricted = None if token.all_workspaces else frozenset(token.workspaces.values_list("pk", flat=True))
    return Actor(
        user=token.user,
        client_address=client_address(request),
        request_id=getattr(request, "request_id", "") or secrets.token_hex(16),
        role_cap=Role.READER if token.read_only else None,
        workspace_ids=restricted,
        via=f"token {token.prefix}… ({token.name})",
    )


def note_use(token: AccessToken) -> bool:
    """Remember when the token was last used (at most once a minute). True when written."""
    now = timezone.now()
    if token.last_used_at and now - token.last_used_at < LAST_USE_PRECISION:
        return False
    AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
    return True
