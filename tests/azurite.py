"""An Azurite of a test's own, for tests that change the account's service properties (its CORS
rules), which tests sharing scripts/test's Azurite must never see. Started with the command line
every script uses (scripts/lib.sh azurite_command), in memory, on a free port."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from azure.storage.blob import BlobServiceClient

from .support import AZURITE_ACCOUNT, AZURITE_KEY, free_port

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Azurite:
    port: int

    @property
    def endpoint(self) -> str:
        """What a user types in the Endpoint field."""
        return f"127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.origin}/{AZURITE_ACCOUNT}"

    def service(self) -> BlobServiceClient:
        return BlobServiceClient(self.url, credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY})


def azurite_command(port: int) -> list[str]:
    found = subprocess.run(
        ["bash", "-c", f"source scripts/lib.sh && azurite_command {port} --in-memory"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return found.stdout.split("\n")[:-1]


def wait_until_listening(process: subprocess.Popen, port: int, what: str, seconds: float = 30) -> None:
    """Until `process` accepts connections on `port`; its stderr says why when it stops first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError as refused:
            if process.poll() is not None or time.monotonic() > deadline:
                said = (
                    process.stderr.read().decode(errors="replace")
                    if process.stderr and process.poll() is not None
                    else ""
                )
                raise RuntimeError(f"{what} did not start on port {port}: {said}") from refused
            time.sleep(0.1)


@contextmanager
def listening(command: list[str], port: int, what: str, **popen: object) -> Iterator[None]:
    """Run `command` until the block ends, once it accepts connections on `port`."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **popen)  # type: ignore[call-overload]
    try:
        wait_until_listening(process, port, what)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def own_azurite() -> Iterator[Azurite]:
    port = free_port()
    with listening(azurite_command(port), port, "Azurite", cwd=ROOT):
        yield Azurite(port)
