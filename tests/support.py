"""Plain helpers and constants the tests share (no fixtures here: those live in conftest.py files).

`remember_secret` records every secret a test hands to the studio; the `client` fixture
(tests/conftest.py) checks at teardown that none of them came back in a response or a log line.
"""

from __future__ import annotations

import base64
import socket

from django.test import Client

AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
FILESHARE_ACCOUNT = "studiofiles"
FILESHARE_KEY = base64.b64encode(b"file-share-stand-in-key-" * 3).decode()
# A well-formed account key that no test account has.
WRONG_KEY = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5"

# Every secret a test hands to the studio; no response or log line may contain one.
SECRETS_USED: set[str] = set()


def remember_secret(value: str) -> str:
    SECRETS_USED.add(value)
    return value


def free_port() -> int:
    """A local port nothing listens on (for "unreachable" cases)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RecordingClient(Client):
    """A test client that keeps every response body, to prove no secret is ever sent back."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.bodies: list[str] = []

    def request(self, **request):
        response = super().request(**request)
        if not getattr(response, "streaming", False):
            self.bodies.append(response.content.decode(errors="replace"))
        return response

    def leaked(self, log_text: str) -> list[str]:
        """The remembered secrets found in a response body or in `log_text`."""
        return [secret for secret in SECRETS_USED for text in [*self.bodies, log_text] if secret and secret in text]
