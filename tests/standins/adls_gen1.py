"""Stand-in for Azure Data Lake Storage Gen1 (the WebHDFS-style REST API).

This is a stand-in, not an emulator: no emulator exists for ADLS Gen1, so
this small HTTPS server answers the WebHDFS operations that the real
`azure-datalake-store` client sends (LISTSTATUS, GETFILESTATUS, MKDIRS,
CREATE, APPEND, OPEN, DELETE, RENAME), checking bearer tokens against the AAD
stand-in.

Client (azure-datalake-store 1.0.1): it takes any azure-core TokenCredential
and asks it for "https://datalake.azure.net//.default"; it builds its URL as
f"https://{store_name}.{url_suffix}/webhdfs/v1/...". No host parameter
exists, so the stand-in is reached by splitting the IP address:

    AzureDLFileSystem(token_credential=ClientSecretCredential(..., authority=aad.authority,
                                                              disable_instance_discovery=True),
                      store_name=gen1.store_name,     # "127"
                      url_suffix=gen1.url_suffix)     # "0.0.1:PORT"

The studio itself needs no split: its Gen1 "Endpoint" field takes an allowed
host such as "127.0.0.1:PORT" as the store's own address (datastores/storage/adls_gen1/backend.py).

Errors use the WebHDFS shape {"RemoteException": {"exception", "message",
"javaClassName"}} with the WebHDFS status mapping (SecurityException 401,
AccessControlException 403, FileNotFoundException 404). Operations that fail
softly (DELETE of a missing path or a non-empty directory without recursive,
RENAME onto an existing file) answer {"boolean": false}, as WebHDFS does.
"""

from __future__ import annotations

import json
import posixpath
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from .aad import AadStandin
from .base import StandinHandler, StandinServer
from .tls import server_ssl_context

DATALAKE_AUDIENCE = "https://datalake.azure.net"
PREFIX = "/webhdfs/v1"


class WebHdfsError(Exception):
    JAVA = {
        "SecurityException": "java.lang.SecurityException",
        "AccessControlException": "org.apache.hadoop.security.AccessControlException",
        "FileNotFoundException": "java.io.FileNotFoundException",
        "FileAlreadyExistsException": "org.apache.hadoop.fs.FileAlreadyExistsException",
        "BadOffsetException": "org.apache.hadoop.fs.adl.BadOffsetException",
        "IllegalArgumentException": "java.lang.IllegalArgumentException",
    }

    def __init__(self, status: int, exception: str, message: str):
        super().__init__(message)
        self.status, self.exception, self.message = status, exception, message

    def body(self) -> dict:
        return {
            "RemoteException": {
                "exception": self.exception,
                "message": self.message,
                "javaClassName": self.JAVA.get(self.exception, "java.io.IOException"),
            }
        }


@dataclass
class Item:
    is_dir: bool
    data: bytes = b""
    modified_ms: int = 0

    def status(self, suffix: str) -> dict:
        return {
            "length": 0 if self.is_dir else len(self.data),
            "pathSuffix": suffix,
            "type": "DIRECTORY" if self.is_dir else "FILE",
            "blockSize": 0 if self.is_dir else 268435456,
            "accessTime": self.modified_ms,
            "modificationTime": self.modified_ms,
            "replication": 1,
            "permission": "770",
            "owner": "$superuser",
            "group": "$superuser",
        }


class AdlsGen1Handler(StandinHandler):
    def dispatch(self):
        gen1: AdlsGen1Standin = self.server.standin
        url = urlsplit(self.path)
        params = {k.lower(): v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        op = params.get("op", "").upper()
        path = posixpath.normpath("/" + unquote(url.path).removeprefix(PREFIX).lstrip("/"))
        gen1.requests.append(f"{self.command} {op} {path}")
        try:
            if not url.path.startswith(PREFIX):
                raise WebHdfsError(400, "IllegalArgumentException", f"Invalid path {url.path}")
            gen1.authorize(self.headers.get("Authorization", ""))
            handler = getattr(gen1, f"op_{op.lower()}", None)
            if handler is None or gen1.methods.get(op) != self.command:
                raise WebHdfsError(400, "IllegalArgumentException", f"Invalid operation {self.command} {op}")
            with gen1.lock:
                status, result = handler(path, params, body)
        except (ValueError, KeyError) as error:
            refusal = WebHdfsError(400, "IllegalArgumentException", f"Invalid parameter: {error}")
            return self.send_body(
                refusal.status, json.dumps(refusal.body()).encode(), "application/json; charset=utf-8"
            )
        except WebHdfsError as error:
            return self.send_body(error.status, json.dumps(error.body()).encode(), "application/json; charset=utf-8")
        if result is None:  # empty answers carry no JSON content type: the client would parse them
            return self.send_body(status, b"", None)
        if isinstance(result, bytes):
            return self.send_body(status, result, "application/octet-stream")
        self.send_body(status, json.dumps(result).encode(), "application/json; charset=utf-8")

    def send_body(self, status: int, data: bytes, content_type: str | None):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", "Bearer")
        self.end_headers()
        self.wfile.write(data)


class AdlsGen1Standin(StandinServer):
    """ADLS Gen1 WebHDFS stand-in (no emulator exists), over HTTPS.

    `aad` issues the tokens; `tenant_id` is the store's tenant. Principals
    need grant(client_id) or they get 403 AccessControlException.
    """

    store_name = "127"  # the client builds https://{store_name}.{url_suffix}/
    methods = {
        "LISTSTATUS": "GET",
        "GETFILESTATUS": "GET",
        "OPEN": "GET",
        "MKDIRS": "PUT",
        "CREATE": "PUT",
        "RENAME": "PUT",
        "APPEND": "POST",
        "DELETE": "DELETE",
    }

    def __init__(self, aad: AadStandin, *, tenant_id: str, ssl_context=None):
        super().__init__(AdlsGen1Handler, ssl_context=ssl_context or server_ssl_context())
        self.aad, self.tenant_id = aad, tenant_id
        self.items: dict[str, Item] = {"/": Item(is_dir=True, modified_ms=now_ms())}
        self.granted: set[str] = set()
        self.requests: list[str] = []
        self.lock = threading.Lock()

    @property
    def url_suffix(self) -> str:
        return f"0.0.1:{self.port}"

    def grant(self, client_id: str) -> None:
        self.granted.add(client_id)

    def authorize(self, authorization: str) -> None:
        scheme, _, token = authorization.partition(" ")
        info = self.aad.token_info(token) if scheme == "Bearer" else None
        if info is None or not self.aad.token_is_valid(token, DATALAKE_AUDIENCE) or info.tenant_id != self.tenant_id:
            raise WebHdfsError(
                401,
                "SecurityException",
                "Failed to validate the bearer token (missing, unknown, "
                "expired, or issued for another tenant or resource).",
            )
        if info.client_id not in self.granted:
            raise WebHdfsError(
                403, "AccessControlException", f"Permission denied for principal {info.client_id} on this store."
            )

    # --- operations: (path, params, body) -> (status, JSON dict | bytes | None) --

    def op_getfilestatus(self, path, params, body):
        return 200, {"FileStatus": self.existing(path).status("")}

    def op_liststatus(self, path, params, body):
        item = self.existing(path)
        if not item.is_dir:
            return 200, {"FileStatuses": {"FileStatus": [item.status("")], "continuationToken": ""}}
        names = sorted(posixpath.basename(p) for p in self.items if p != "/" and posixpath.dirname(p) == path)
        names = [n for n in names if n > params.get("listafter", "")]
        size = int(params.get("listsize") or 4000)
        page = names[:size]
        token = page[-1] if len(names) > size else ""
        statuses = [self.items[posixpath.join(path, n)].status(n) for n in page]
        return 200, {"FileStatuses": {"FileStatus": statuses, "continuationToken": token}}

    def op_mkdirs(self, path, params, body):
        self.make_dirs(path)
        return 200, {"boolean": True}

    def op_create(self, path, params, body):
        existing = self.items.get(path)
        if existing is not None and (existing.is_dir or params.get("overwrite", "").lower() != "true"):
            raise WebHdfsError(403, "FileAlreadyExistsException", f"{path} already exists.")
        self.make_dirs(posixpath.dirname(path))
        self.items[path] = Item(is_dir=False, data=body, modified_ms=now_ms())
        return 201, None

    def op_append(self, path, params, body):
        item = self.existing(path)
        offset = int(params.get("offset", len(item.data)))
        if item.is_dir or offset != len(item.data):
            raise WebHdfsError(
                400,
                "BadOffsetException",
                f"APPEND failed with error 0x83090aa2 (Invalid offset {offset}; file length is {len(item.data)}).",
            )
        item.data += body
        item.modified_ms = now_ms()
        return 200, None

    def op_open(self, path, params, body):
        item = self.existing(path)
        offset = int(params.get("offset", 0))
        length = int(params.get("length", len(item.data) - offset))
        if item.is_dir or offset > len(item.data):
            raise WebHdfsError(400, "BadOffsetException", f"Cannot read {path} at offset {offset}.")
        return 200, item.data[offset : offset + length]

    def op_delete(self, path, params, body):
        below = [p for p in self.items if p.startswith(path.rstrip("/") + "/")]
        if path not in self.items or path == "/" or (below and params.get("recursive", "").lower() != "true"):
            return 200, {"boolean": False}
        for p in [*below, path]:
            del self.items[p]
        return 200, {"boolean": True}

    def op_rename(self, path, params, body):
        source = self.existing(path)
        target = posixpath.normpath("/" + unquote(params.get("destination", "")).lstrip("/"))
        if target in self.items and self.items[target].is_dir:
            target = posixpath.join(target, posixpath.basename(path))
        parent = self.items.get(posixpath.dirname(target))
        if target in self.items or parent is None or not parent.is_dir or target.startswith(path + "/"):
            return 200, {"boolean": False}
        for p in [p for p in self.items if p == path or p.startswith(path + "/")]:
            self.items[target + p[len(path) :]] = self.items.pop(p)
        source.modified_ms = now_ms()
        return 200, {"boolean": True}

    # --- helpers -------------------------------------------------------------------

    def existing(self, path: str) -> Item:
        if path not in self.items:
            raise WebHdfsError(404, "FileNotFoundException", f"File/Folder does not exist: {path}")
        return self.items[path]

    def make_dirs(self, path: str) -> None:
        parts = [p for p in path.split("/") if p]
        for depth in range(1, len(parts) + 1):
            prefix = "/" + "/".join(parts[:depth])
            if prefix in self.items and not self.items[prefix].is_dir:
                raise WebHdfsError(403, "FileAlreadyExistsException", f"{prefix} exists and is a file.")
            self.items.setdefault(prefix, Item(is_dir=True, modified_ms=now_ms()))


def now_ms() -> int:
    return int(time.time() * 1000)
