"""What the identity-based datastore tests share (no tests and no fixtures: those are in
conftest.py beside this file)."""

from __future__ import annotations

from dataclasses import dataclass

from tests.support import AZURITE_ACCOUNT

IDENTITY_CLIENT_ID = "33333333-3333-4333-8333-333333333333"  # the studio's managed identity


@dataclass(frozen=True)
class OAuthAzurite:
    port: int

    @property
    def endpoint(self) -> str:
        """What a user types in the Endpoint field."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/{AZURITE_ACCOUNT}"
