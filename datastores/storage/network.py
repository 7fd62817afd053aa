"""Every connection the studio makes on a user's behalf goes through here.

- `open_socket(host, port)` resolves the host once, checks every address it resolves to
  (loopback, private, link-local such as 169.254.169.254, unique-local, multicast,
  unspecified and reserved ranges are refused unless the host is listed in
  DATASTORE_ALLOWED_HOSTS), and connects to one of those checked addresses: a DNS answer
  that changes between check and connect cannot move the connection.
- `session()` is a requests Session whose connections are opened that way, keeping the
  host name for the Host header, SNI and the certificate check. It follows no redirect
  (a 3xx is `RedirectRefused`), uses no proxy and no ~/.netrc. The Azure SDKs and
  azure-identity get it through azure-core's `RequestsTransport(session=...)`
  (`transport()`); DBFS and Gen1 use it directly.
- `trusting(endpoints)` lets the connections made inside it also reach those exact host:port
  pairs wherever they resolve to: the identity endpoints the studio's environment names for its
  own Azure identity (studio_identity.py), never a value a user typed.
- A deadline bounds every call: connecting (TCP and TLS) and then reading the answer
  (headers and body) must each end within STORAGE_TIMEOUT_SECONDS, whatever the peer
  does, and within an outer `deadline()` when one is set (retries included). A watchdog
  thread shuts the socket down when the time is up, which ends any read at once, where a
  per-read timeout would let a server that drips a byte now and then hold a call forever.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import ipaddress
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import requests
from azure.core.pipeline.transport import RequestsTransport
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from .endpoints import AZURE_SUFFIXES, Address, is_allowed, is_listed, parse_host
from .errors import StorageError, Unreachable

# A failure to reach a host the user typed is answered no sooner than this (see base.verify).
UNREACHABLE_FLOOR_SECONDS = 1.0
REDIRECT_STATUSES = {301, 302, 303, 307, 308}


class AddressRefused(OSError):
    """The host is not allowed, or resolves to an address the studio does not connect to."""


class RedirectRefused(requests.RequestException):
    """The service answered with a redirect; no client follows one."""


def timeout_seconds() -> float:
    return float(settings.STORAGE_TIMEOUT_SECONDS)


# --- deadlines ------------------------------------------------------------------------

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("storage_deadline", default=None)


@contextlib.contextmanager
def deadline(seconds: float | None = None) -> Iterator[None]:
    """Everything inside (every connection, read and retry) ends within `seconds`
    (STORAGE_TIMEOUT_SECONDS by default), or sooner when an outer deadline says so."""
    when = time.monotonic() + (timeout_seconds() if seconds is None else seconds)
    outer = _deadline.get()
    token = _deadline.set(when if outer is None else min(outer, when))
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left(seconds: float | None = None) -> float:
    """Seconds left for the next step: STORAGE_TIMEOUT_SECONDS (or `seconds`), or less when
    an outer deadline is closer."""
    left = timeout_seconds() if seconds is None else seconds
    outer = _deadline.get()
    return left if outer is None else min(left, outer - time.monotonic())


class Watch:
    """One armed socket: shut down at `when` unless cancelled first."""

    def __init__(self, fd: int, when: float):
        self.when = when
        self.fired = False
        self._sock: socket.socket | None = socket.socket(fileno=os.dup(fd))  # outlives the caller's close

    def fire(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            self.fired = True
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # a blocked recv returns at once
            sock.close()

    def cancel(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


class _Watchdog:
    """One thread per process, waking at the next deadline."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watch]] = []
        self._counter = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, fd: int, seconds: float) -> Watch:
        watch = Watch(fd, time.monotonic() + max(0.0, seconds))
        with self._wake:
            heapq.heappush(self._heap, (watch.when, next(self._counter), watch))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="storage-deadlines", daemon=True)
                self._thread.start()
            self._wake.notify()
        return watch

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._wake.wait(None if not self._heap else self._heap[0][0] - time.monotonic())
                _when, _n, watch = heapq.heappop(self._heap)
            watch.fire()  # a cancelled watch has no socket left: nothing happens


_watchdog = _Watchdog()


def watch(sock: socket.socket | int, seconds: float | None = None) -> Watch:
    """Shut `sock` (a socket or a file descriptor) down when the time left is up."""
    fd = sock if isinstance(sock, int) else sock.fileno()
    return _watchdog.arm(fd, time_left(seconds))


# --- resolving and connecting -----------------------------------------------------------


def refused_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, private, link-local, unique-local, multicast, unspecified, reserved, or any
    other range that is not the public internet (IPv4 inside IPv6 is looked at as IPv4)."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and refused_address(embedded):
            return True
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_loopback


_trusted: contextvars.ContextVar[frozenset[tuple[str, int]]] = contextvars.ContextVar(
    "trusted_endpoints", default=frozenset()
)


@contextlib.contextmanager
def trusting(endpoints: Iterable[tuple[str, int]]) -> Iterator[None]:
    """Connections made inside may also go to these exact (host, port) pairs, wherever they
    resolve to (a loopback or link-local address included): endpoints the administrator
    configured for the studio's own identity, never a value a user typed."""
    token = _trusted.set(_trusted.get() | {(parse_host(host), port) for host, port in endpoints})
    try:
        yield
    finally:
        _trusted.reset(token)


def resolve(host: str, port: int) -> list[tuple[Any, ...]]:
    """getaddrinfo, once; every address checked. Raises AddressRefused or socket.gaierror."""
    host = parse_host(host)  # a name as endpoints.py parses it, never a list or a path
    trusted = (host, port) in _trusted.get()
    if not trusted and not is_allowed(host, port, AZURE_SUFFIXES):
        raise AddressRefused(f"{host} is not an Azure endpoint, nor a host this studio allows.")
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    if not trusted and not is_listed(host, port):
        for info in infos:
            if refused_address(ipaddress.ip_address(str(info[4][0]).split("%")[0])):
                raise AddressRefused(
                    f"{host} resolves to a loopback, private, link-local or reserved address. The studio connects "
                    "to such an address only when the host is listed in DATASTORE_ALLOWED_HOSTS."
                )
    return infos


def open_socket(host: str, port: int, *, timeout: float | None = None) -> socket.socket:
    """A TCP connection to a checked address of `host`, within the time left."""
    error: OSError | None = None
    for family, kind, proto, _name, sockaddr in resolve(host, port):
        left = time_left(timeout)
        if left <= 0:
            raise TimeoutError(f"No time left to connect to {host}:{port}.")
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(left)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect(sockaddr)
        except OSError as failure:
            sock.close()
            error = failure
            continue
        return sock
    raise error or OSError(f"{host} has no address.")


# --- HTTP -----------------------------------------------------------------------------------


class _GuardedConnection:
    """urllib3 connections that open their socket with open_socket and are watched: from the
    socket's creation to the end of the TLS handshake, and from waiting for the answer on.

    A mixin for urllib3's HTTPConnection and HTTPSConnection: the `type: ignore`s here are for the
    attributes and super() methods those classes provide, and for urllib3's errors, which are
    typed as taking a connection class this is not."""

    _watch: Watch | None = None

    def _new_conn(self) -> socket.socket:
        host, port = self._dns_host, self.port  # type: ignore[attr-defined]
        try:
            sock = open_socket(host, port, timeout=self.timeout if isinstance(self.timeout, int | float) else None)  # type: ignore[attr-defined]
        except AddressRefused as refused:
            raise NewConnectionError(self, str(refused)) from refused  # type: ignore[arg-type]
        except socket.gaierror as failure:
            raise NameResolutionError(host, self, failure) from failure  # type: ignore[arg-type]
        except TimeoutError as failure:
            raise ConnectTimeoutError(self, f"Connection to {host} timed out.") from failure
        except OSError as failure:
            raise NewConnectionError(self, f"Failed to establish a new connection: {failure}") from failure  # type: ignore[arg-type]
        self._rearm(sock)
        return sock

    def _rearm(self, sock: socket.socket | None = None) -> None:
        self._disarm()
        sock = sock or self.sock  # type: ignore[attr-defined]
        if sock is not None:
            self._watch = watch(sock)

    def _disarm(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    def request(self, *args: Any, **kwargs: Any) -> None:
        self._disarm()  # a reused connection: the previous answer's watch is over
        super().request(*args, **kwargs)  # type: ignore[misc]

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self._disarm()  # connected; sending the request is bounded by the per-write timeout

    def getresponse(self) -> Any:
        self._rearm()  # the answer, headers and body, comes within the time left
        armed = self._watch  # http.client may close (and so disarm) the connection on the way
        response = super().getresponse()  # type: ignore[misc]
        if armed is not None and armed.fired:
            # Cut off mid-headers, http.client would take what came as a whole answer.
            response.close()
            raise TimeoutError("The answer did not come within the deadline.")
        return response

    def close(self) -> None:
        self._disarm()
        super().close()  # type: ignore[misc]


class GuardedHTTPConnection(_GuardedConnection, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    pass


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


def ca_bundle() -> str | bool:
    """The CA bundle requests itself would use (REQUESTS_CA_BUNDLE, else its own)."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True


class GuardedAdapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool,
            "https": GuardedHTTPSConnectionPool,
        }

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["proxies"] = {}  # a proxy would connect where the guard never looked
        if kwargs.get("verify", True) is True:
            kwargs["verify"] = ca_bundle()
        response = super().send(request, *args, **kwargs)
        if response.status_code in REDIRECT_STATUSES:
            response.close()
            raise RedirectRefused(f"{request.method} answered {response.status_code}: a redirect, not followed.")
        return response


class GuardedSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False  # no proxies, no ~/.netrc credentials from the environment
        self.max_redirects = 0
        adapter = GuardedAdapter()
        self.mount("http://", adapter)
        self.mount("https://", adapter)


def session() -> GuardedSession:
    return GuardedSession()


def transport(**kwargs: Any) -> RequestsTransport:
    """An azure-core transport on a guarded session, with bounded per-step timeouts."""
    timeout = timeout_seconds()
    kwargs.setdefault("connection_timeout", min(timeout, 10))
    kwargs.setdefault("read_timeout", timeout)
    return RequestsTransport(session=session(), session_owner=True, **kwargs)


def rearm(response: Any) -> None:
    """Give a streamed answer's next piece the full time again (a long download is many pieces).
    `response` is a requests Response or an azure-core response wrapping one."""
    internal = getattr(response, "internal_response", response)
    connection = getattr(getattr(internal, "raw", None), "connection", None)
    if isinstance(connection, _GuardedConnection):
        connection._rearm()


# --- what failed --------------------------------------------------------------------------


def causes(error: BaseException) -> Iterator[BaseException]:
    """The error and everything it was raised from or wraps (azure-core, requests and urllib3
    each wrap the one below in their own way)."""
    seen: set[int] = set()
    pending: list[Any] = [error]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(
            [
                current.__cause__,
                current.__context__,
                getattr(current, "inner_exception", None),
                getattr(current, "reason", None),
                getattr(current, "error", None),
                *current.args[:2],
            ]
        )


def find_cause(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    return next((cause for cause in causes(error) if isinstance(cause, kind)), None)


def unreachable(host: str, port: int | None, *, field: str | None, hint: str) -> Unreachable:
    """The one message for every transport-level failure (refused, reset, TLS, timed out, name
    not found): which of them it was is not said, so the studio is not a port scanner."""
    where = Address(host, port).netloc
    return Unreachable(f"{where} could not be reached. {hint}", field=field)


def transport_failure(
    error: BaseException, host: str, port: int | None, *, field: str | None, hint: str
) -> StorageError:
    """A failure below the service's own answers: the guard's refusal and a redirect are said
    as such (they are the studio's rules), everything else is `unreachable`."""
    refused = find_cause(error, AddressRefused)
    if refused is not None:
        return Unreachable(str(refused.args[0] if refused.args else refused), field=field)
    if find_cause(error, RedirectRefused) is not None:
        return Unreachable(
            f"{Address(host, port).netloc} answered with a redirect. The studio follows no redirect: "
            "use the service's own address.",
            field=field,
        )
    return unreachable(host, port, field=field, hint=hint)
