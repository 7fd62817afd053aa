"""Helpers for the client tests (fixtures are in conftest.py beside this file).

The client package (client/) is installed from the repository into fresh virtual environments,
as a user would, and driven in subprocesses against the studio served over plain HTTP in a thread
of the test process (TLS is not the point here: tests/test_azure_ai_ml.py covers it). The server
records every request with the bytes it received and sent, so a test can prove that file bytes
did not pass through the studio.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from ..support import sqlite_pass_only

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "client"
SCRIPTS = Path(__file__).with_name("scripts")
PYENV = Path.home() / ".pyenv" / "versions"

ONE_PASS = sqlite_pass_only("the client tests")


def python_for(version: str) -> str | None:
    """An interpreter of this minor version ("3.11"): pyenv's, else this one if it matches."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    found = sorted(PYENV.glob(f"{version}.*/bin/python"))
    return str(found[-1]) if found else None


WHEELHOUSE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "datastore-studio" / "test-wheels"


def make_venv(python: str, where: Path, requirement: str) -> Path:
    """A fresh virtual environment with `requirement` pip-installed, as a user would (`pip install
    ./client`), from a wheelhouse kept between runs on this machine so that no run waits for the
    package index: only when the wheelhouse lacks something is it filled from the index first.
    Without bytecode compilation (Python compiles on first import), which halves the time here."""
    subprocess.run([python, "-m", "venv", "--without-pip", str(where)], check=True, capture_output=True, timeout=120)
    target = str(where / "bin" / "python")
    pip = [sys.executable, "-m", "pip", "--python", target, "--disable-pip-version-check"]
    offline = [*pip, "install", "-q", "--no-compile", "--no-index", "--find-links", str(WHEELHOUSE), requirement]
    done = subprocess.run(offline, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        WHEELHOUSE.mkdir(parents=True, exist_ok=True)
        for wanted in ("hatchling", requirement):
            filled = subprocess.run(
                [*pip, "wheel", "-q", "-w", str(WHEELHOUSE), wanted], capture_output=True, text=True, timeout=900
            )
            assert filled.returncode == 0, filled.stdout[-3000:] + filled.stderr[-3000:]
        done = subprocess.run(offline, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return where


@dataclass
class Seen:
    """One request the studio served."""

    method: str
    path: str
    received: int  # request body bytes
    sent: int  # response body bytes


class _Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _CountingInput:
    def __init__(self, stream: Any, seen: Seen) -> None:
        self.stream, self.seen = stream, seen

    def read(self, *args: Any) -> bytes:
        data = self.stream.read(*args)
        self.seen.received += len(data)
        return data

    def readline(self, *args: Any) -> bytes:
        data = self.stream.readline(*args)
        self.seen.received += len(data)
        return data


class PlainStudio:
    """`with PlainStudio() as studio:` serves the studio at `studio.url` (http://127.0.0.1:PORT/)
    and keeps every request in `studio.seen`. Database connections close after each request, so
    the test database can be flushed while the server runs."""

    def __init__(self) -> None:
        from django.core.handlers.wsgi import WSGIHandler

        self.seen: list[Seen] = []
        django_app = WSGIHandler()

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            from django.db import connections

            seen = Seen(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), 0, 0)
            self.seen.append(seen)
            environ["wsgi.input"] = _CountingInput(environ["wsgi.input"], seen)
            try:
                result = django_app(environ, start_response)
            except BaseException:
                connections.close_all()
                raise
            return self._counted(result, seen)

        self.server = make_server("127.0.0.1", 0, app, server_class=_Threading, handler_class=_Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @staticmethod
    def _counted(result: Any, seen: Seen) -> Any:
        from django.db import connections

        try:
            for chunk in result:
                seen.sent += len(chunk)
                yield chunk
        finally:
            if hasattr(result, "close"):
                result.close()
            connections.close_all()

    def __enter__(self) -> PlainStudio:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


class Client:
    """The installed client in its venv: `run(script, plan)` and `cli(*args)`, each a subprocess
    with only the environment a user's shell would have (no Django, no studio settings)."""

    def __init__(self, venv: Path, home: Path, studio_url: str) -> None:
        self.venv, self.home, self.studio_url = venv, home, studio_url
        self.python = str(venv / "bin" / "python")

    def env(self, token: str | None, **extra: str) -> dict[str, str]:
        environment = {
            "PATH": f"{self.venv / 'bin'}:/usr/bin:/bin",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "COLUMNS": "200",
            "DATASTORE_STUDIO_URL": self.studio_url,
        }
        if token:
            environment["DATASTORE_STUDIO_TOKEN"] = token
        return {**environment, **extra}

    def run(
        self, script: str, plan: dict[str, Any], *, token: str | None, cwd: Path | None = None, **extra: str
    ) -> dict[str, Any]:
        """Run tests/client/scripts/<script>.py with the plan as JSON on stdin; its last line is JSON."""
        done = subprocess.run(
            [self.python, str(SCRIPTS / f"{script}.py")],
            input=json.dumps(plan),
            capture_output=True,
            text=True,
            env=self.env(token, **extra),
            timeout=600,
            cwd=cwd or self.home,
        )
        assert done.returncode == 0, done.stderr[-6000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    def cli(
        self, *args: str, token: str | None, input: str | None = None, cwd: Path | None = None, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        """`datastore-studio ARGS` as a script would call it."""
        return subprocess.run(
            [str(self.venv / "bin" / "datastore-studio"), *args],
            capture_output=True,
            text=True,
            input=input,
            env=self.env(token, **extra),
            timeout=600,
            cwd=cwd or self.home,
        )
