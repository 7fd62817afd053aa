"""What a storage account's CORS rules must say for a browser's direct transfer, and the one rule
the studio adds: the same for every service that speaks the Blob API (Blob Storage, and ADLS Gen2
at its blob endpoint)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from azure.storage.blob import CorsRule

from .errors import Conflict

# What a browser's direct transfer sends: Put Block and Put Block List (PUT), the download (GET),
# and the preflight before them; and the headers it sets or reads. "*" for headers: the SDKs'
# x-ms-* set grows with each service version.
DIRECT_METHODS = ("GET", "HEAD", "PUT", "OPTIONS")
MAX_CORS_RULES = 5  # what a Blob service accepts
CORS_MAX_AGE_SECONDS = 3600


def _listed(value: str | list[str] | None) -> list[str]:
    items = value if isinstance(value, list) else (value or "").split(",")
    return [item.strip() for item in items if item.strip()]


def cors_rule_admits(rule: Any, origin: str) -> bool:
    """Whether one CORS rule lets `origin` send a direct transfer's requests with any header."""
    origins = {item.rstrip("/").lower() for item in _listed(rule.allowed_origins)}
    methods = {item.upper() for item in _listed(rule.allowed_methods)}
    headers = {item.lower() for item in _listed(rule.allowed_headers)}
    return (
        bool(origins & {"*", origin.lower()})
        and {"GET", "PUT"} <= methods
        and ("*" in headers or {"x-ms-*", "if-none-match"} <= headers)
    )


def with_studio_rule(rules: Iterable[Any], origin: str, service: str) -> list[Any] | None:
    """The account's rules with one for `origin` appended (Set Service Properties replaces the whole
    list), or None when a rule already lets it in. Refused when the account has as many as it may."""
    kept = list(rules)
    if any(cors_rule_admits(rule, origin) for rule in kept):
        return None
    if len(kept) >= MAX_CORS_RULES:
        raise Conflict(
            f"The storage account has {len(kept)} CORS rules, the most {service} allows: "
            "remove one in the portal (Resource sharing (CORS)), then try again."
        )
    kept.append(
        CorsRule(
            [origin],
            list(DIRECT_METHODS),
            allowed_headers=["*"],
            exposed_headers=["*"],
            max_age_in_seconds=CORS_MAX_AGE_SECONDS,
        )
    )
    return kept


def attachment_disposition(name: str) -> str:
    """Content-Disposition for a download SAS (rscd): attachment, the name RFC 5987-encoded."""
    fallback = "".join(char if (char.isascii() and char.isalnum()) or char in "._-" else "_" for char in name)
    return f"attachment; filename=\"{fallback or 'download'}\"; filename*=UTF-8''{quote(name, safe='')}"
