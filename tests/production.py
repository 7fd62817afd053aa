"""The production image's start command and health check, run outside Docker (no engine here).

Both commands are read from the Dockerfile (its CMD and its HEALTHCHECK), so what the tests
run and what the image runs cannot drift apart. `python` in them is this interpreter, and the
working directory is the project root, as /app is in the image.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
PUBLIC_HOST = "studio.example.com"


def dockerfile_instruction(name: str) -> str:
    """The arguments of the last `name` instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = [line.split(None, 1)[1] for line in text.splitlines() if line.split(None, 1)[:1] == [name]]
    assert found, f"the Dockerfile has no {name}"
    return found[-1].strip()


def _here(command: list[str]) -> list[str]:
    return [sys.executable if part == "python" else part for part in command]


def image_command() -> list[str]:
    """The image's CMD (exec form)."""
    return _here(json.loads(dockerfile_instruction("CMD")))


def health_check_command() -> list[str]:
    """The command of the image's HEALTHCHECK (exec form), without its --interval and other options."""
    _options, command = dockerfile_instruction("HEALTHCHECK").split(" CMD ", 1)
    return _here(json.loads(command))


class SwitchableProxy:
    """A TCP proxy on a fixed port in front of a real server, which can be taken down (listener
    and every open connection closed, as when the server's host goes away) and brought back."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.up()

    def up(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def down(self) -> None:
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked in another thread
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            for end in self._open:
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self._lock:
                self._open |= {client, server}
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class StudioProcess:
    """The image's CMD as a process, its output in a log file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.port = int(env["PORT"])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.write_text("")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                image_command(), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def health_check(self) -> subprocess.CompletedProcess[str]:
        """The HEALTHCHECK command, as Docker runs it inside the container."""
        return subprocess.run(
            health_check_command(), cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=30
        )

    def wait_healthy(self, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while self.health_check().returncode != 0:
            assert self.process is not None and self.process.poll() is None, f"the studio exited:\n{self.log()}"
            assert time.monotonic() < deadline, f"not healthy after {seconds} s:\n{self.log()}"
            time.sleep(0.3)

    def terminate(self, wait: float = 60) -> float:
        """SIGTERM, as `docker stop` sends it; returns the seconds until the process exited."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(wait)
        return time.monotonic() - started

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout


class BehindTheProxy(requests.Session):
    """A browser as the TLS-terminating proxy forwards it: Host studio.example.com, X-Forwarded-Proto
    https. Cookies come back Secure (the browser talks https to the proxy), so they are kept for http."""

    def request(self, method: str | bytes, url: str | bytes, *args, **kwargs) -> requests.Response:
        kwargs["headers"] = {"Host": PUBLIC_HOST, "X-Forwarded-Proto": "https", **(kwargs.pop("headers", None) or {})}
        response = super().request(method, url, *args, **kwargs)
        for cookie in self.cookies:
            cookie.secure = False
        return response

    def sign_in(self, studio: StudioProcess, username: str, password: str) -> None:
        login = studio.url("/accounts/login/")
        self.get(login, timeout=30).raise_for_status()
        response = self.post(
            login,
            data={"username": username, "password": password, "csrfmiddlewaretoken": self.cookies["csrftoken"]},
            headers={"Origin": f"https://{PUBLIC_HOST}", "Referer": f"https://{PUBLIC_HOST}/accounts/login/"},
            allow_redirects=False,
            timeout=30,
        )
        assert response.status_code == 302, response.text[:500]
        assert "sessionid" in self.cookies

    def write_headers(self) -> dict[str, str]:
        return {"X-CSRFToken": self.cookies["csrftoken"], "Origin": f"https://{PUBLIC_HOST}"}


class Throttled:
    """A request body of `size` bytes sent at about `rate` bytes per second (a slow client)."""

    def __init__(self, size: int, rate: float) -> None:
        self.size = size
        self.rate = rate
        self.sent = 0
        self.started: float | None = None
        self.piece = os.urandom(64 * 1024)

    def __len__(self) -> int:
        return self.size

    def read(self, wanted: int = -1) -> bytes:
        if self.started is None:
            self.started = time.monotonic()
        ahead = self.sent / self.rate - (time.monotonic() - self.started)
        if ahead > 0:
            time.sleep(ahead)
        step = min(self.size - self.sent, len(self.piece), wanted if wanted > 0 else len(self.piece))
        self.sent += step
        return self.piece[:step]


def read_slowly(response: requests.Response, rate: float) -> int:
    """Reads a streamed response at about `rate` bytes per second; returns the bytes received."""
    received, started = 0, time.monotonic()
    for chunk in response.iter_content(64 * 1024):
        received += len(chunk)
        ahead = received / rate - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)
    return received


def production_env(**overrides: str) -> dict[str, str]:
    """The environment of a production container: DEBUG off, HTTPS redirect, secure cookies and HSTS
    on, ALLOWED_HOSTS the public name only, fresh real keys. The test run's plain-http switches go."""
    from cryptography.fernet import Fernet

    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "SECURE_SSL_REDIRECT",
            "SECURE_COOKIES",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
            "DATABASE_URL",
            "SECRET_KEY",
            "DATASTORE_ENCRYPTION_KEYS",
        }
    }
    env.update(
        DEBUG="false",
        ALLOWED_HOSTS=PUBLIC_HOST,
        SECRET_KEY=secrets.token_urlsafe(64),
        DATASTORE_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env
