"""Loopback listeners that record what they receive, for the edge-guard tests (no tests here).

Each listens on 127.0.0.1 only, in a background thread, for a bounded time, and keeps every
connection it accepted and every byte it read. `behaviour` says how it answers:

- "silent": reads and records, never answers;
- "hang_up": accepts and closes at once;
- "garbage": answers a line that is no protocol at all, then closes;
- "redirect": an HTTP 307 to `location`;
- "drip": an HTTP 200 status line, then one header line every `drip_seconds`, forever
  (until `lifetime`): a server no per-read timeout ever cuts off.

With `tls=True` it speaks TLS with the stand-ins' test certificate (tests/standins/tls.py), so
that what an HTTPS client sends is recorded in the clear.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time

from tests.standins.tls import server_ssl_context


class Listener:
    def __init__(
        self,
        behaviour: str = "silent",
        *,
        tls: bool = False,
        location: str = "",
        drip_seconds: float = 1.0,
        lifetime: float = 30.0,
        host: str = "127.0.0.1",
    ):
        self.behaviour, self.tls, self.location = behaviour, tls, location
        self.drip_seconds, self.lifetime = drip_seconds, lifetime
        self.connections = 0
        self.received = bytearray()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = socket.create_server((host, 0))
        self._server.settimeout(0.2)
        self.host = host
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.endpoint}"

    def saw(self, secret: str) -> bool:
        with self._lock:
            return secret.encode() in bytes(self.received)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _accept(self) -> None:
        started = time.monotonic()
        while not self._stop.is_set() and time.monotonic() - started < self.lifetime:
            try:
                client, _address = self._server.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(client, started), daemon=True).start()

    def _record(self, sock: socket.socket, seconds: float) -> None:
        sock.settimeout(seconds)
        try:
            while data := sock.recv(65536):
                with self._lock:
                    self.received.extend(data)
                if b"\r\n\r\n" in data and self.behaviour != "silent":
                    return
        except OSError:
            pass

    def _serve(self, client: socket.socket, started: float) -> None:
        sock: socket.socket = client
        try:
            if self.behaviour == "hang_up":
                return
            if self.tls:
                sock = server_ssl_context().wrap_socket(client, server_side=True)
            if self.behaviour == "garbage":
                sock.sendall(b"this is no protocol\r\n")
                return
            self._record(sock, 0.5 if self.behaviour != "silent" else self.lifetime)
            if self.behaviour == "redirect":
                sock.sendall(
                    (
                        f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {self.location}\r\nContent-Length: 0\r\n\r\n"
                    ).encode()
                )
                time.sleep(0.5)
            elif self.behaviour == "drip":
                sock.sendall(b"HTTP/1.1 200 OK\r\n")
                number = 0
                while not self._stop.is_set() and time.monotonic() - started < self.lifetime:
                    time.sleep(self.drip_seconds)
                    number += 1
                    sock.sendall(f"X-Drip-{number}: still here\r\n".encode())
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                sock.close()
            except OSError:
                pass
