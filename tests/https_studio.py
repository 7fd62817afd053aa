"""The studio served over HTTPS in a background thread, for clients that send bearer tokens
only over TLS (azure-ai-ml, azure-identity): a threaded WSGI server whose socket is wrapped with
the stand-ins' throwaway CA (trustme). Clients trust that CA through REQUESTS_CA_BUNDLE, set in
the test only. Each request's database connections are closed when it ends, so that the test
database can be flushed while the server still runs."""

from __future__ import annotations

import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.core.handlers.wsgi import WSGIHandler
from django.db import connections

from .standins.tls import ca_bundle_path, server_ssl_context


class ThreadingWsgiServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ["HTTPS"] = "on"  # wsgiref derives wsgi.url_scheme from it
        return environ


class HttpsStudio:
    """`with HttpsStudio() as studio:` serves the studio at `studio.url` (https://127.0.0.1:PORT/)."""

    def __init__(self) -> None:
        self.requests: list[str] = []  # "METHOD /path?query" of every request, in order
        self.ca_bundle = ca_bundle_path()
        django_app = WSGIHandler()

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            query = environ.get("QUERY_STRING", "")
            self.requests.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}" + (f"?{query}" if query else ""))
            try:
                return list(django_app(environ, start_response))  # read whole, then release the connections
            finally:
                connections.close_all()

        self.server = make_server("127.0.0.1", 0, app, server_class=ThreadingWsgiServer, handler_class=QuietHandler)
        self.server.socket = server_ssl_context().wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> HttpsStudio:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
