"""Shared plumbing for the local stand-in servers.

A stand-in is a small HTTP(S) server that speaks the REST subset the studio
uses of an Azure service that has no emulator (Azure Files, the ADLS Gen2 DFS
endpoint, ADLS Gen1, the Azure AD token endpoint, Databricks). The real client
libraries talk to it over the network; nothing in them is patched.
"""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class StandinHTTPServer(ThreadingHTTPServer):
    # The StandinServer that runs it: each handler reads it as its own kind of stand-in.
    standin: Any


class StandinHandler(BaseHTTPRequestHandler):
    """Keep-alive (as the SDKs' connection pools expect), quiet, and every verb goes to dispatch()."""

    protocol_version = "HTTP/1.1"
    server: StandinHTTPServer

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def dispatch(self) -> None:
        raise NotImplementedError

    def do_GET(self):
        self.dispatch()

    def do_HEAD(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()


class StandinServer:
    """Runs a request handler class on 127.0.0.1 in a background thread.

    Use as a context manager, or call start() and stop(). `ssl_context`
    turns it into an HTTPS server (see trustme in the tests).
    """

    def __init__(self, handler_class: type[BaseHTTPRequestHandler], *, ssl_context: ssl.SSLContext | None = None):
        self.handler_class = handler_class
        self.ssl_context = ssl_context
        self.httpd: StandinHTTPServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self.httpd is not None, "server not started"
        return self.httpd.server_address[1]

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self.httpd = httpd = StandinHTTPServer(("127.0.0.1", 0), self.handler_class)
        self.httpd.daemon_threads = True
        self.httpd.standin = self  # handlers reach shared state via self.server.standin
        if self.ssl_context is not None:
            self.httpd.socket = self.ssl_context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(
            target=lambda: httpd.serve_forever(poll_interval=0.05), name=type(self).__name__, daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
