"""Stand-in for the Databricks DBFS REST API 2.0.

This is a stand-in, not an emulator: Databricks publishes no emulator for its
workspace REST API, so this small HTTP server answers the DBFS calls the
studio makes with `requests`:

    GET  /api/2.0/dbfs/list?path=          {"files": [...]}, no paging (as Databricks)
    GET  /api/2.0/dbfs/get-status?path=
    GET  /api/2.0/dbfs/read?path=&offset=&length=   base64, at most 1 MiB per call
    POST /api/2.0/dbfs/create {"path", "overwrite"} -> {"handle"}
    POST /api/2.0/dbfs/add-block {"handle", "data"}  base64, at most 1 MiB per block
    POST /api/2.0/dbfs/close {"handle"}
    POST /api/2.0/dbfs/mkdirs {"path"}
    POST /api/2.0/dbfs/delete {"path", "recursive"}
    POST /api/2.0/dbfs/move {"source_path", "destination_path"}

Requests need `Authorization: Bearer <personal access token>`. As the real
workspace does, a missing credential gets 401 and a token it does not know
gets 403 "Invalid access token.", both as {"error_code": <status>, "message"}.
API errors use {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": ...}.
A file written through a handle appears when the handle is closed. The DBFS
docs do not say when it appears, and on a mount over ADLS Gen2 it may be there
(growing) from `create` on: `writes_visible_before_close = True` makes the
stand-in behave that way. Deleting a path that does not exist answers {} (no
error). `move` refuses an existing destination with RESOURCE_ALREADY_EXISTS
and a missing source with RESOURCE_DOES_NOT_EXIST, as documented.
"""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from .base import StandinHandler, StandinServer

MAX_BLOCK = 1024 * 1024  # 1 MiB, for both read length and add-block data
DEFAULT_READ_LENGTH = 512 * 1024


class DbfsError(Exception):
    def __init__(self, status: int, error_code: str | int, message: str):
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message


def not_found(path: str) -> DbfsError:
    return DbfsError(404, "RESOURCE_DOES_NOT_EXIST", f"No file or directory exists on path {path}.")


def invalid(message: str) -> DbfsError:
    return DbfsError(400, "INVALID_PARAMETER_VALUE", message)


@dataclass
class Entry:
    is_dir: bool
    data: bytes = b""
    modified_ms: int = 0

    def info(self, path: str) -> dict:
        return {
            "path": path,
            "is_dir": self.is_dir,
            "file_size": 0 if self.is_dir else len(self.data),
            "modification_time": self.modified_ms,
        }


@dataclass
class Handle:
    path: str
    buffer: bytearray


class DbfsHandler(StandinHandler):
    def do_GET(self):
        url = urlsplit(self.path)
        self.dispatch(url.path, {k: v[0] for k, v in parse_qs(url.query).items()})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self.send_json(
                400, {"error_code": "MALFORMED_REQUEST", "message": "Invalid JSON given in the body of the request"}
            )
        self.dispatch(urlsplit(self.path).path, body if isinstance(body, dict) else {})

    def dispatch(self, path: str, params: dict):  # type: ignore[override]  # do_* parse the body and pass it on
        dbfs: DbfsStandin = self.server.standin
        dbfs.requests.append(f"{self.command} {path}")
        operation = path.removeprefix("/api/2.0/dbfs/")
        method = dbfs.routes.get((self.command, operation))
        try:
            dbfs.authenticate(self.headers.get("Authorization", ""))
            if method is None:
                raise DbfsError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{self.command} {path}'")
            with dbfs.lock:
                result = getattr(dbfs, method)(params)
        except (ValueError, TypeError) as error:
            return self.send_json(400, {"error_code": "INVALID_PARAMETER_VALUE", "message": str(error)})
        except DbfsError as error:
            return self.send_json(error.status, {"error_code": error.error_code, "message": error.message})
        self.send_json(200, result)

    def send_json(self, status: int, body: dict):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class DbfsStandin(StandinServer):
    """Databricks DBFS API 2.0 stand-in (no emulator exists), plain HTTP.

    `tokens` are the personal access tokens it accepts (one is made if none
    are given; `token` is the first). The workspace URL is `base_url`;
    clients call f"{base_url}/api/2.0/dbfs/...". `requests` logs "METHOD /path".
    """

    routes = {
        ("GET", "list"): "list",
        ("GET", "get-status"): "get_status",
        ("GET", "read"): "read",
        ("POST", "create"): "create",
        ("POST", "add-block"): "add_block",
        ("POST", "close"): "close",
        ("POST", "mkdirs"): "mkdirs",
        ("POST", "delete"): "delete",
        ("POST", "move"): "move",
    }

    def __init__(self, *, tokens: tuple[str, ...] = (), ssl_context=None):
        super().__init__(DbfsHandler, ssl_context=ssl_context)
        self.token = tokens[0] if tokens else f"dapi{secrets.token_hex(16)}"
        self.tokens = {self.token, *tokens}
        self.entries: dict[str, Entry] = {"/": Entry(is_dir=True, modified_ms=now_ms())}
        self.handles: dict[int, Handle] = {}
        self.writes_visible_before_close = False
        self.requests: list[str] = []
        self.lock = threading.Lock()

    def authenticate(self, authorization: str) -> None:
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or not token:
            raise DbfsError(401, 401, "Credential was not sent or was of an unsupported type for this API.")
        if token not in self.tokens:
            raise DbfsError(403, 403, "Invalid access token.")

    # --- API methods: params dict in, response dict out ----------------------

    def list(self, params):
        path = absolute(params.get("path"))
        entry = self.existing(path)
        if not entry.is_dir:
            return {"files": [entry.info(path)]}
        children = [name for name in self.entries if name != "/" and posixpath.dirname(name) == path]
        return {"files": [self.entries[name].info(name) for name in sorted(children)]} if children else {}

    def get_status(self, params):
        path = absolute(params.get("path"))
        return self.existing(path).info(path)

    def read(self, params):
        path = absolute(params.get("path"))
        entry = self.existing(path)
        offset, length = int(params.get("offset", 0)), int(params.get("length", DEFAULT_READ_LENGTH))
        if entry.is_dir:
            raise invalid(f"Cannot read a directory: {path}")
        if offset < 0 or length < 0:
            raise invalid("offset and length must not be negative")
        if length > MAX_BLOCK:
            raise DbfsError(400, "MAX_READ_SIZE_EXCEEDED", f"Cannot read more than {MAX_BLOCK} bytes in one call.")
        chunk = entry.data[offset : offset + length]
        return {"bytes_read": len(chunk), "data": base64.b64encode(chunk).decode()}

    def create(self, params):
        path = absolute(params.get("path"))
        if path in self.entries and (self.entries[path].is_dir or not params.get("overwrite", False)):
            raise DbfsError(
                400, "RESOURCE_ALREADY_EXISTS", f"A file or directory already exists at the input path {path}."
            )
        handle = secrets.randbelow(2**53)
        self.handles[handle] = Handle(path, bytearray())
        if self.writes_visible_before_close:
            self.make_dirs(posixpath.dirname(path))
            self.entries[path] = Entry(is_dir=False, data=b"", modified_ms=now_ms())
        return {"handle": handle}

    def add_block(self, params):
        handle = self.open_handle(params)
        try:
            data = base64.b64decode(params.get("data", ""), validate=True)
        except (binascii.Error, ValueError):
            raise invalid("data is not valid base64") from None
        if len(data) > MAX_BLOCK:
            raise DbfsError(400, "MAX_BLOCK_SIZE_EXCEEDED", f"The block of data exceeds {MAX_BLOCK} bytes.")
        handle.buffer += data
        if self.writes_visible_before_close and handle.path in self.entries:
            self.entries[handle.path].data = bytes(handle.buffer)
        return {}

    def close(self, params):
        handle = self.open_handle(params)
        self.make_dirs(posixpath.dirname(handle.path))
        self.entries[handle.path] = Entry(is_dir=False, data=bytes(handle.buffer), modified_ms=now_ms())
        del self.handles[int(params["handle"])]
        return {}

    def move(self, params):
        source, destination = absolute(params.get("source_path")), absolute(params.get("destination_path"))
        if source not in self.entries or source == "/":
            raise not_found(source)
        if destination in self.entries:
            raise DbfsError(
                400, "RESOURCE_ALREADY_EXISTS", f"A file or directory already exists at the input path {destination}."
            )
        self.make_dirs(posixpath.dirname(destination))
        for name in [n for n in self.entries if n == source or n.startswith(source + "/")]:
            self.entries[destination + name[len(source) :]] = self.entries.pop(name)
        return {}

    def mkdirs(self, params):
        self.make_dirs(absolute(params.get("path")))
        return {}

    def delete(self, params):
        path = absolute(params.get("path"))
        if path not in self.entries or path == "/":
            return {}
        below = [name for name in self.entries if name.startswith(path.rstrip("/") + "/")]
        if below and not params.get("recursive", False):
            raise DbfsError(400, "IO_ERROR", f"Directory {path} is not empty; set recursive to delete it.")
        for name in [*below, path]:
            del self.entries[name]
        return {}

    # --- helpers -----------------------------------------------------------------

    def existing(self, path: str) -> Entry:
        if path not in self.entries:
            raise not_found(path)
        return self.entries[path]

    def open_handle(self, params) -> Handle:
        handle = self.handles.get(int(params.get("handle", -1)))
        if handle is None:
            raise DbfsError(404, "RESOURCE_DOES_NOT_EXIST", f"Handle {params.get('handle')} does not exist.")
        return handle

    def make_dirs(self, path: str) -> None:
        parts = [p for p in path.split("/") if p]
        for depth in range(1, len(parts) + 1):
            prefix = "/" + "/".join(parts[:depth])
            existing = self.entries.get(prefix)
            if existing is not None and not existing.is_dir:
                raise DbfsError(
                    400, "RESOURCE_ALREADY_EXISTS", f"A file or directory already exists at the input path {prefix}."
                )
            self.entries.setdefault(prefix, Entry(is_dir=True, modified_ms=now_ms()))


def absolute(path: str | None) -> str:
    if not path:
        raise invalid("Path must be specified.")
    path = path.removeprefix("dbfs:")
    if not path.startswith("/"):
        raise invalid(f"Path must be absolute: {path}")
    return posixpath.normpath("/" + path.lstrip("/"))


def now_ms() -> int:
    return int(time.time() * 1000)
