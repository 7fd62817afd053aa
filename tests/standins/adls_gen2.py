"""Stand-in for the ADLS Gen2 (hierarchical namespace) storage endpoint.

This is a stand-in, not an emulator: Azurite has no DFS endpoint and no other
emulator exists, so this small HTTPS server speaks the subset of the DFS REST
API that azure-storage-file-datalake uses, checking bearer tokens against the
AAD stand-in. Build a client against it with

    DataLakeServiceClient(account_url=gen2.account_url,    # "https://127.0.0.1:PORT/ACCOUNT"
                          credential=ClientSecretCredential(..., authority=aad.authority,
                                                            disable_instance_discovery=True))

The SDK takes the account name from the first path segment when the host
starts with "127.0.0.1" or "localhost" (path-style, as for Azurite), and
token credentials need https. Several DataLake calls go to the *blob*
endpoint (file system create/get properties/delete, path get properties,
download); for an IP host the blob URL equals the DFS URL, so this one server
answers both flavours and, like the real blob endpoint, gives those requests
XML errors with blob error codes (ContainerNotFound, BlobNotFound).

Served: file systems (create, get properties, delete), list paths with real
continuation paging, create file/directory, append, flush, read (ranges),
HEAD, delete (recursive), rename (x-ms-rename-source), the Blob API's List Blobs,
Put Blob, Put Block and Put Block List (adlfs speaks Blob to a Gen2 account), and Get User Delegation
Key (the blob service's POST ?restype=service&comp=userdelegationkey), whose
keys are kept in `delegation_keys`. A request may carry a user delegation SAS
instead of a token: it is accepted when signed with a key handed out here (the
signature is computed again from the request's own values, its response
overrides such as rscd included, with azure-storage-file-datalake's generator),
unexpired, and holding the permission the operation needs (list, read, write or
create, delete), else 403 as Azure says. A GET with a SAS carrying rscd answers
with that Content-Disposition.

For browsers (direct transfers): Get and Set Blob Service Properties
(?restype=service&comp=properties) keep the blob service's CORS rules in
`cors_rules`; only principals in `service_admins` may call them (as a data role
may not in Azure: 403 AuthorizationPermissionMismatch). A CORS preflight
(OPTIONS) is answered from those rules (403 CorsPreflightFailure when none
matches), and a request with an Origin a rule admits gets the
Access-Control-Allow-Origin and -Expose-Headers of that rule.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from .aad import AadStandin
from .base import StandinHandler, StandinServer
from .tls import server_ssl_context

STORAGE_AUDIENCE = "https://storage.azure.com"


class StorageError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Node:
    is_dir: bool
    data: bytes = b""
    uncommitted: dict[int, bytes] = field(default_factory=dict)  # append position -> bytes, until flush
    created: float = field(default_factory=time.time)
    modified: float = field(default_factory=time.time)
    etag: str = field(default_factory=lambda: f'"0x{secrets.token_hex(8).upper()}"')

    def touch(self) -> None:
        self.modified = time.time()
        self.etag = f'"0x{secrets.token_hex(8).upper()}"'


def http_date(timestamp: float) -> str:
    return formatdate(timestamp, usegmt=True)


def filetime(timestamp: float) -> str:
    return str(int((timestamp + 11644473600) * 10_000_000))


def parent_of(path: str) -> str:
    return path.rpartition("/")[0]


class AdlsGen2Handler(StandinHandler):
    def dispatch(self):
        gen2: AdlsGen2Standin = self.server.standin
        url = urlsplit(self.path)
        self.query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        self.is_blob_call = (
            "restype" in self.query
            or "comp" in self.query
            or "x-ms-blob-type" in self.headers
            or (self.command in ("GET", "HEAD") and "resource" not in self.query and "action" not in self.query)
        )
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        account, _, rest = unquote(url.path).lstrip("/").partition("/")
        filesystem, _, path = rest.partition("/")
        gen2.requests.append(f"{self.command} /{filesystem}/{path}?{url.query}")
        try:
            if account != gen2.account_name:
                raise StorageError(400, "InvalidUri", f"This stand-in serves account '{gen2.account_name}' only.")
            signed_by_sas = "sig" in self.query and not self.headers.get("Authorization")
            if signed_by_sas:
                gen2.check_sas(self.query, self.command, filesystem, path.strip("/"))
            else:
                principal = gen2.authorize(self.headers.get("Authorization", ""), filesystem)
                if self.query.get("comp") == "properties" and self.query.get("restype") == "service":
                    gen2.authorize_service_properties(principal)
                    if self.command == "GET":
                        time.sleep(gen2.properties_delay)  # outside the lock: a slow read, for races
            status, headers, payload = gen2.handle(
                self.command, filesystem, path.strip("/"), self.query, self.headers, body
            )
            if signed_by_sas and self.command in ("GET", "HEAD") and self.query.get("rscd"):
                headers["Content-Disposition"] = self.query["rscd"]
        except StorageError as error:
            return self.send_error_response(error)
        except (ValueError, KeyError) as error:
            return self.send_error_response(StorageError(400, "InvalidQueryParameterValue", f"Invalid value: {error}"))
        self.send(status, headers, payload)

    def do_OPTIONS(self):
        """A browser's CORS preflight, answered from the blob service's CORS rules."""
        gen2: AdlsGen2Standin = self.server.standin
        self.is_blob_call = True
        origin = self.headers.get("Origin", "")
        method = self.headers.get("Access-Control-Request-Method", "")
        asked = [name.strip().lower() for name in self.headers.get("Access-Control-Request-Headers", "").split(",")]
        gen2.requests.append(f"OPTIONS {urlsplit(self.path).path} origin={origin}")
        rule = gen2.cors_rule_for(origin, method, [name for name in asked if name])
        if rule is None:
            return self.send_error_response(
                StorageError(
                    403,
                    "CorsPreflightFailure",
                    "CORS not enabled or no matching rule found for this request.",
                )
            )
        self.send(
            200,
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": method,
                "Access-Control-Allow-Headers": self.headers.get("Access-Control-Request-Headers", ""),
                "Access-Control-Max-Age": rule["MaxAgeInSeconds"] or "0",
                "Access-Control-Allow-Credentials": "true",
                "Vary": "Origin",
            },
        )

    def send(self, status: int, headers: dict, payload: bytes = b""):
        gen2: AdlsGen2Standin = self.server.standin
        self.send_response(status)
        headers = {"x-ms-request-id": secrets.token_hex(16), "x-ms-version": "2025-01-05", **headers}
        origin = self.headers.get("Origin", "")
        rule = gen2.cors_rule_for(origin, self.command, []) if origin and self.command != "OPTIONS" else None
        if rule is not None:  # as the real service: the response to a request a rule admits says so
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Expose-Headers"] = rule["ExposedHeaders"] or ""
            headers["Access-Control-Allow-Credentials"] = "true"
            headers["Vary"] = "Origin"
        headers.setdefault("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def send_error_response(self, error: StorageError):
        gen2: AdlsGen2Standin = self.server.standin
        headers = {"x-ms-error-code": error.code}
        if error.status == 401:
            headers["WWW-Authenticate"] = (
                f"Bearer authorization_uri={gen2.aad.base_url}/{gen2.tenant_id}/oauth2/authorize "
                f"resource_id={STORAGE_AUDIENCE}"
            )
        if self.is_blob_call:  # the blob endpoint answers in XML
            headers["Content-Type"] = "application/xml"
            body = (
                f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{error.code}</Code>'
                f"<Message>{escape(error.message)}</Message></Error>"
            ).encode()
        else:
            headers["Content-Type"] = "application/json;charset=utf-8"
            body = json.dumps({"error": {"code": error.code, "message": error.message}}).encode()
        self.send(error.status, headers, body)


class AdlsGen2Standin(StandinServer):
    """ADLS Gen2 DFS endpoint stand-in (no emulator exists), over HTTPS.

    `aad` is the AadStandin that issues the tokens; `tenant_id` is the storage
    account's home tenant (tokens from other tenants get 401). A principal
    needs a grant per file system: grant(client_id, "fs") or grant(client_id, "*").
    `page_size` caps list-paths pages when the client sends no maxResults.
    """

    def __init__(
        self,
        aad: AadStandin,
        *,
        tenant_id: str,
        account_name: str = "studiolake",
        ssl_context=None,
        page_size: int = 5000,
    ):
        super().__init__(AdlsGen2Handler, ssl_context=ssl_context or server_ssl_context())
        self.aad, self.tenant_id, self.account_name, self.page_size = aad, tenant_id, account_name, page_size
        self.filesystems: dict[str, dict[str, Node]] = {}  # fs -> {"dir/file": Node}
        self.fs_created: dict[str, Node] = {}
        self.grants: dict[str, set[str]] = {}
        self.requests: list[str] = []
        self.delegation_keys: list[dict[str, str]] = []  # every user delegation key handed out
        self.staged_blocks: dict[tuple[str, str, str], bytes] = {}  # Put Block, until Put Block List
        self.delegation_secret = secrets.token_bytes(32)  # the account key that user delegation keys derive from
        self.cors_rules: list[dict[str, str]] = []  # the blob service's, as Set Blob Service Properties left them
        self.service_admins: set[str] = set()  # principals that may read and set the service properties
        self.properties_delay = 0.0  # seconds each Get Blob Service Properties takes
        self.lock = threading.RLock()

    @property
    def account_url(self) -> str:
        return f"{self.base_url}/{self.account_name}"

    def grant(self, client_id: str, filesystem: str = "*") -> None:
        self.grants.setdefault(client_id, set()).add(filesystem)

    def add_filesystem(self, name: str) -> None:
        with self.lock:
            self.filesystems.setdefault(name, {})
            self.fs_created.setdefault(name, Node(is_dir=True))

    def authorize(self, authorization: str, filesystem: str) -> str:
        """The client ID of the principal whose token this is, if it may reach `filesystem`."""
        scheme, _, token = authorization.partition(" ")
        info = self.aad.token_info(token) if scheme == "Bearer" else None
        if not info:
            raise StorageError(
                401,
                "InvalidAuthenticationInfo",
                "Server failed to authenticate the request. "
                "Please refer to the information in the www-authenticate header.",
            )
        if not self.aad.token_is_valid(token, STORAGE_AUDIENCE):
            reason = (
                "Lifetime validation failed. The token is expired."
                if info.expires_at <= time.time()
                else "Audience validation failed. Audience did not match."
            )
            raise StorageError(401, "InvalidAuthenticationInfo", reason)
        if info.tenant_id != self.tenant_id:
            raise StorageError(401, "InvalidAuthenticationInfo", "Issuer validation failed. Issuer did not match.")
        allowed = self.grants.get(info.client_id, set())
        if "*" not in allowed and filesystem not in allowed:
            raise StorageError(
                403,
                "AuthorizationPermissionMismatch",
                "This request is not authorized to perform this operation using this permission.",
            )
        return info.client_id

    def authorize_service_properties(self, client_id: str) -> None:
        if client_id not in self.service_admins:
            raise StorageError(
                403,
                "AuthorizationPermissionMismatch",
                "This request is not authorized to perform this operation using this permission.",
            )

    def cors_rule_for(self, origin: str, method: str, headers: list[str]) -> dict[str, str] | None:
        """The first CORS rule that admits `origin` sending `method` with `headers`, as Azure matches."""
        for rule in self.cors_rules:
            origins = [item.strip().lower() for item in rule["AllowedOrigins"].split(",")]
            methods = [item.strip().upper() for item in rule["AllowedMethods"].split(",")]
            allowed = [item.strip().lower() for item in rule["AllowedHeaders"].split(",") if item.strip()]
            if not ("*" in origins or origin.lower() in origins) or method.upper() not in methods:
                continue
            if all(header_allowed(name, allowed) for name in headers):
                return rule
        return None

    def check_sas(self, query: dict, method: str, filesystem: str, path: str) -> None:
        from azure.storage.filedatalake import UserDelegationKey, generate_file_sas, generate_file_system_sas

        refused = StorageError(
            403,
            "AuthenticationFailed",
            "Server failed to authenticate the request. Make sure "
            "the value of Authorization header is formed correctly including the signature.",
        )
        handed_out = next(
            (
                key
                for key in self.delegation_keys
                if (key["SignedOid"], key["SignedStart"], key["SignedExpiry"])
                == (query.get("skoid"), query.get("skt"), query.get("ske"))
            ),
            None,
        )
        if handed_out is None or not query.get("sp") or not query.get("se"):
            raise refused
        key = UserDelegationKey()
        key.signed_oid, key.signed_tid = handed_out["SignedOid"], handed_out["SignedTid"]
        key.signed_start, key.signed_expiry = handed_out["SignedStart"], handed_out["SignedExpiry"]
        key.signed_service, key.signed_version, key.value = "b", handed_out["SignedVersion"], handed_out["Value"]
        values = {
            "credential": key,
            "permission": query["sp"],
            "start": query.get("st"),
            "expiry": query["se"],
            "ip": query.get("sip"),
            "protocol": query.get("spr"),
            "cache_control": query.get("rscc"),
            "content_disposition": query.get("rscd"),
            "content_encoding": query.get("rsce"),
            "content_language": query.get("rscl"),
            "content_type": query.get("rsct"),
        }
        if query.get("sr") == "c":
            expected = generate_file_system_sas(self.account_name, filesystem, **values)
        elif query.get("sr") == "b":
            directory, _, name = path.rpartition("/")
            expected = generate_file_sas(self.account_name, filesystem, directory, name, **values)
        else:
            raise refused
        signature = parse_qs(expected)["sig"][0]
        if not secrets.compare_digest(signature, query["sig"]):
            raise refused
        if query["se"] < time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()):
            raise StorageError(403, "AuthenticationFailed", "Signed expiry time has to be after signed start time.")
        if method == "GET" and (query.get("resource") == "filesystem" or query.get("comp") == "list"):
            needed = "l"
        elif method in ("GET", "HEAD"):
            needed = "r"
        elif method == "DELETE":
            needed = "d"
        else:
            needed = "wc"
        if not set(needed) & set(query["sp"]):
            raise StorageError(
                403,
                "AuthorizationPermissionMismatch",
                "This request is not authorized to perform this operation using this permission.",
            )

    # --- operations -------------------------------------------------------

    def handle(self, method, fs_name, path, query, headers, body):
        with self.lock:
            if not fs_name and method == "GET" and query.get("comp") == "list":
                return self.list_filesystems(query)
            if not fs_name and method == "POST" and query.get("comp") == "userdelegationkey":
                return self.user_delegation_key(headers, body)
            if not fs_name and query.get("restype") == "service" and query.get("comp") == "properties":
                return self.service_properties(method, body)
            listing = query.get("comp") == "list"
            if (
                not path
                and not listing
                and ("restype" in query or (query.get("resource") == "filesystem" and method != "GET"))
            ):
                return self.filesystem_op(method, fs_name, blob="restype" in query)
            fs = self.filesystems.get(fs_name)
            if fs is None:
                code = "ContainerNotFound" if "restype" in query or method == "HEAD" else "FilesystemNotFound"
                raise StorageError(404, code, "The specified filesystem does not exist.")
            if method == "GET" and query.get("resource") == "filesystem":
                return self.list_paths(fs, query)
            if method == "GET" and query.get("restype") == "container" and query.get("comp") == "list":
                return self.list_blobs(fs, fs_name, query)
            if method == "PUT" and query.get("comp") == "block":
                return self.put_block(fs_name, path, query["blockid"], body)
            if method == "PUT" and query.get("comp") == "blocklist":
                return self.put_block_list(fs, fs_name, path, headers, body)
            if method == "PUT" and headers.get("x-ms-blob-type") == "BlockBlob":
                return self.put_blob(fs, path, headers, body)
            if method == "PUT" and "x-ms-rename-source" in headers:
                return self.rename(fs, path, headers)
            if method == "PUT":
                return self.create(fs, path, query.get("resource"), headers)
            node = fs.get(path)
            if node is None:
                code = "BlobNotFound" if method in ("GET", "HEAD") else "PathNotFound"
                raise StorageError(404, code, "The specified path does not exist.")
            check_conditions(node, headers)
            if method == "PATCH" and query.get("action") == "append":
                return self.append(node, int(query["position"]), body)
            if method == "PATCH" and query.get("action") == "flush":
                return self.flush(node, int(query["position"]))
            if method == "HEAD":
                return 200, self.path_headers(node), b""
            if method == "GET":
                return self.read(node, headers.get("x-ms-range") or headers.get("Range"))
            if method == "DELETE":
                return self.delete(fs, path, query.get("recursive") == "true")
            raise StorageError(400, "UnsupportedHttpVerb", f"The stand-in does not serve {method} here.")

    def filesystem_op(self, method, name, blob):
        """Create / get properties / delete a file system (blob 'restype=container' or DFS 'resource=filesystem')."""
        kind = "Container" if blob else "Filesystem"
        exists = name in self.filesystems
        if method == "PUT":
            if exists:
                raise StorageError(409, f"{kind}AlreadyExists", f"The specified {kind.lower()} already exists.")
            self.add_filesystem(name)
            return 201, self.stamp(self.fs_created[name]), b""
        if not exists:
            raise StorageError(404, f"{kind}NotFound", f"The specified {kind.lower()} does not exist.")
        if method == "DELETE":
            del self.filesystems[name], self.fs_created[name]
            return 202, {}, b""
        return (
            200,
            {
                **self.stamp(self.fs_created[name]),
                "x-ms-lease-state": "available",
                "x-ms-lease-status": "unlocked",
                "x-ms-has-immutability-policy": "false",
                "x-ms-has-legal-hold": "false",
                "x-ms-namespace-enabled": "true",
            },
            b"",
        )

    def user_delegation_key(self, headers, body):
        """Get User Delegation Key: a key for the principal whose token signed the request, valid
        from Start to Expiry (at most 7 days, as Azure allows)."""
        start = re.search(rb"<Start>([^<]+)</Start>", body)
        expiry = re.search(rb"<Expiry>([^<]+)</Expiry>", body)
        if not expiry:
            raise StorageError(400, "InvalidXmlDocument", "The KeyInfo needs an Expiry.")
        token = headers.get("Authorization", "").partition(" ")[2]
        info = self.aad.token_info(token)
        assert info is not None, "the request was authorized with this token"
        key = {
            "SignedOid": info.client_id,
            "SignedTid": info.tenant_id,
            "SignedStart": (start.group(1) if start else expiry.group(1)).decode(),
            "SignedExpiry": expiry.group(1).decode(),
            "SignedService": "b",
            "SignedVersion": "2025-01-05",
        }
        # As in Azure, the key's value follows from the account's secret and the key's fields: two
        # requests for the same principal and times get the same key (a SAS names only those fields).
        signed = "\n".join(key.values()).encode()
        key["Value"] = base64.b64encode(hmac.new(self.delegation_secret, signed, hashlib.sha256).digest()).decode()
        self.delegation_keys.append(key)
        fields = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in key.items())
        body = f'<?xml version="1.0" encoding="utf-8"?><UserDelegationKey>{fields}</UserDelegationKey>'
        return 200, {"Content-Type": "application/xml"}, body.encode()

    def service_properties(self, method, body):
        """Get or Set Blob Service Properties: only the CORS rules are kept (a Set without <Cors>
        leaves them as they are, as Azure does)."""
        if method == "PUT":
            try:
                root = ElementTree.fromstring(body)
            except ElementTree.ParseError:
                raise StorageError(400, "InvalidXmlDocument", "XML specified is not syntactically valid.") from None
            cors = root.find("Cors")
            if cors is not None:
                rules = [{part.tag: (part.text or "") for part in rule} for rule in cors.findall("CorsRule")]
                if len(rules) > 5:
                    raise StorageError(400, "InvalidXmlDocument", "At most five CORS rules are allowed.")
                for rule in rules:
                    for name in ("AllowedOrigins", "AllowedMethods", "AllowedHeaders", "ExposedHeaders"):
                        rule.setdefault(name, "")
                    rule.setdefault("MaxAgeInSeconds", "0")
                self.cors_rules = rules
            return 202, {}, b""
        if method != "GET":
            raise StorageError(400, "UnsupportedHttpVerb", f"The stand-in does not serve {method} here.")
        listed = "".join(
            "<CorsRule>" + "".join(f"<{name}>{escape(value)}</{name}>" for name, value in rule.items()) + "</CorsRule>"
            for rule in self.cors_rules
        )
        body = (
            '<?xml version="1.0" encoding="utf-8"?><StorageServiceProperties>'
            "<Logging><Version>1.0</Version><Read>false</Read><Write>false</Write><Delete>false</Delete>"
            "<RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></Logging>"
            f"<Cors>{listed}</Cors></StorageServiceProperties>"
        )
        return 200, {"Content-Type": "application/xml"}, body.encode()

    def list_filesystems(self, query):
        """Blob 'List Containers' (DataLakeServiceClient.list_file_systems), XML with NextMarker paging."""
        prefix, marker = query.get("prefix", ""), query.get("marker", "")
        names = sorted(n for n in self.filesystems if n.startswith(prefix) and n >= marker)
        size = int(query.get("maxresults") or self.page_size)
        page, next_marker = names[:size], (names[size] if len(names) > size else "")
        items = "".join(
            f"<Container><Name>{escape(n)}</Name><Properties><Last-Modified>{http_date(self.fs_created[n].modified)}"
            f"</Last-Modified><Etag>{self.fs_created[n].etag}</Etag><LeaseStatus>unlocked</LeaseStatus>"
            f"<LeaseState>available</LeaseState></Properties></Container>"
            for n in page
        )
        body = (
            f'<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="{self.account_url}/">'
            f"<Containers>{items}</Containers><NextMarker>{escape(next_marker)}</NextMarker></EnumerationResults>"
        )
        return 200, {"Content-Type": "application/xml"}, body.encode()

    def list_paths(self, fs, query):
        directory = query.get("directory", "").strip("/")
        if directory and (directory not in fs or not fs[directory].is_dir):
            raise StorageError(404, "PathNotFound", "The specified path does not exist.")
        prefix = f"{directory}/" if directory else ""
        names = sorted(
            name
            for name in fs
            if name.startswith(prefix) and (query.get("recursive") == "true" or "/" not in name[len(prefix) :])
        )
        start = base64.urlsafe_b64decode(query["continuation"]).decode() if query.get("continuation") else ""
        names = [name for name in names if name > start]
        page = names[: int(query.get("maxResults") or self.page_size)]
        more = len(page) < len(names)
        entries = []
        for name in page:
            node = fs[name]
            entry = {
                "name": name,
                "contentLength": str(len(node.data)),
                "lastModified": http_date(node.modified),
                "creationTime": filetime(node.created),
                "etag": node.etag.strip('"'),
                "owner": "$superuser",
                "group": "$superuser",
                "permissions": "rwxr-x---" if node.is_dir else "rw-r-----",
            }
            if node.is_dir:
                entry["isDirectory"] = "true"
            entries.append(entry)
        headers = {"Content-Type": "application/json;charset=utf-8"}
        if more:
            headers["x-ms-continuation"] = base64.urlsafe_b64encode(page[-1].encode()).decode()
        return 200, headers, json.dumps({"paths": entries}).encode()

    def create(self, fs, path, resource, headers):
        if resource not in ("file", "directory"):
            raise StorageError(
                400,
                "InvalidQueryParameterValue",
                "Value for one of the query parameters specified in the request URI is invalid. (resource)",
            )
        existing = fs.get(path)
        if existing is not None and headers.get("If-None-Match") == "*":
            raise StorageError(409, "PathAlreadyExists", "The specified path already exists.")
        if existing is not None:
            check_conditions(existing, headers)
            if existing.is_dir != (resource == "directory"):
                raise StorageError(
                    409,
                    "PathConflict",
                    "The specified path, or an element of the path, "
                    "exists and its resource type is invalid for this operation.",
                )
        self.make_parents(fs, path)
        node = existing if existing is not None and existing.is_dir else Node(is_dir=resource == "directory")
        node.touch()
        fs[path] = node
        return 201, self.stamp(node), b""

    # --- the Blob API a Gen2 account also serves (adlfs speaks it) ---------

    def list_blobs(self, fs, fs_name, query):
        """List Blobs, flat or with a delimiter (folders as BlobPrefix), one page (no marker needed here)."""
        prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
        blobs, prefixes = [], set()
        for name in sorted(fs):
            if not name.startswith(prefix) or fs[name].is_dir:
                continue
            rest = name[len(prefix) :]
            if delimiter and delimiter in rest:
                prefixes.add(prefix + rest.split(delimiter, 1)[0] + delimiter)
            else:
                blobs.append(name)
        for name in sorted(fs):  # empty folders show as prefixes too, as hdi_isfolder blobs would
            rest = name[len(prefix) :]
            if fs[name].is_dir and name.startswith(prefix) and delimiter and delimiter not in rest and rest:
                prefixes.add(name + delimiter)
        items = [
            f"<Blob><Name>{escape(name)}</Name><Properties>"
            f"<Last-Modified>{http_date(fs[name].modified)}</Last-Modified><Etag>{fs[name].etag}</Etag>"
            f"<Content-Length>{len(fs[name].data)}</Content-Length>"
            "<Content-Type>application/octet-stream</Content-Type><BlobType>BlockBlob</BlobType>"
            "</Properties></Blob>"
            for name in blobs
        ] + [f"<BlobPrefix><Name>{escape(name)}</Name></BlobPrefix>" for name in sorted(prefixes)]
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<EnumerationResults ServiceEndpoint="{escape(self.account_url)}/" ContainerName="{escape(fs_name)}">'
            f"<Prefix>{escape(prefix)}</Prefix><Delimiter>{escape(delimiter)}</Delimiter>"
            f"<Blobs>{''.join(items)}</Blobs><NextMarker /></EnumerationResults>"
        )
        return 200, {"Content-Type": "application/xml"}, body.encode()

    def put_block(self, fs_name, path, block_id, body):
        self.staged_blocks[(fs_name, path, block_id)] = body
        return 201, {}, b""

    def put_block_list(self, fs, fs_name, path, headers, body):
        ids = re.findall(r"<(?:Latest|Uncommitted|Committed)>([^<]*)</", body.decode())
        missing = [block for block in ids if (fs_name, path, block) not in self.staged_blocks]
        if missing:
            raise StorageError(400, "InvalidBlockList", "The specified block list is invalid.")
        data = b"".join(self.staged_blocks.pop((fs_name, path, block)) for block in ids)
        return self.put_blob(fs, path, headers, data)

    def put_blob(self, fs, path, headers, data):
        existing = fs.get(path)
        if existing is not None:
            if existing.is_dir:
                raise StorageError(409, "PathConflict", "The specified path is a directory.")
            check_conditions(existing, headers)
        self.make_parents(fs, path)
        node = Node(is_dir=False, data=data)
        fs[path] = node
        return 201, self.stamp(node), b""

    def make_parents(self, fs, path):
        parent = parent_of(path)
        while parent:
            if parent in fs and not fs[parent].is_dir:
                raise StorageError(
                    409,
                    "PathConflict",
                    "The specified path, or an element of the path, "
                    "exists and its resource type is invalid for this operation.",
                )
            fs.setdefault(parent, Node(is_dir=True))
            parent = parent_of(parent)

    def append(self, node, position, body):
        """Stage data at `position`; flush checks that the staged pieces follow the file contiguously."""
        if node.is_dir:
            raise StorageError(400, "InvalidResourceType", "The resource type is invalid for this operation.")
        node.uncommitted[position] = body
        return 202, {}, b""

    def flush(self, node, position):
        data = bytearray(node.data)
        while len(data) < position and len(data) in node.uncommitted:
            data += node.uncommitted.pop(len(data))
        if len(data) != position:
            raise StorageError(
                400,
                "InvalidFlushPosition",
                "The uploaded data is not contiguous or the position "
                "query parameter value is not equal to the length of the file after appending "
                "the uploaded data.",
            )
        node.data, node.uncommitted = bytes(data), {}
        node.touch()
        return 200, self.stamp(node), b""

    def read(self, node, range_header):
        size, data = len(node.data), node.data
        headers = {**self.path_headers(node), "Accept-Ranges": "bytes"}
        if not range_header:
            return 200, {**headers, "Content-Length": str(size)}, data
        first, _, last = range_header.removeprefix("bytes=").partition("-")
        first, last = int(first), min(int(last) if last else size - 1, size - 1)
        if first >= size:
            raise StorageError(
                416, "InvalidRange", "The range specified is invalid for the current size of the resource."
            )
        headers.update({"Content-Range": f"bytes {first}-{last}/{size}", "Content-Length": str(last - first + 1)})
        return 206, headers, data[first : last + 1]

    def delete(self, fs, path, recursive):
        children = [name for name in fs if name.startswith(path + "/")]
        if children and not recursive:
            raise StorageError(
                409,
                "DirectoryNotEmpty",
                "The recursive query parameter value must be true to delete a non-empty directory.",
            )
        for name in [*children, path]:
            del fs[name]
        return 200, {}, b""

    def rename(self, fs, path, headers):
        source_fs_name, _, source = unquote(headers["x-ms-rename-source"].split("?")[0]).lstrip("/").partition("/")
        source_fs = self.filesystems.get(source_fs_name)
        if source_fs is None or source.strip("/") not in source_fs:
            raise StorageError(404, "SourcePathNotFound", "The source path for a rename operation does not exist.")
        source = source.strip("/")
        if path in fs and (headers.get("If-None-Match") == "*" or fs[path].is_dir):
            raise StorageError(409, "PathAlreadyExists", "The specified path already exists.")
        if parent_of(path) and parent_of(path) not in fs:
            raise StorageError(
                404,
                "RenameDestinationParentPathNotFound",
                "The parent directory of the destination path does not exist.",
            )
        moved = [name for name in source_fs if name == source or name.startswith(source + "/")]
        for name in moved:
            fs[path + name[len(source) :]] = source_fs.pop(name)
        return 201, {"Content-Length": "0"}, b""

    # --- headers ------------------------------------------------------------

    @staticmethod
    def stamp(node: Node) -> dict:
        return {"ETag": node.etag, "Last-Modified": http_date(node.modified)}

    def path_headers(self, node: Node) -> dict:
        headers = {
            **self.stamp(node),
            "Content-Length": str(len(node.data)),
            "Content-Type": "application/octet-stream",
            "x-ms-creation-time": http_date(node.created),
            "x-ms-resource-type": "directory" if node.is_dir else "file",
            "x-ms-blob-type": "BlockBlob",
            "x-ms-server-encrypted": "true",
            "x-ms-lease-state": "available",
            "x-ms-lease-status": "unlocked",
        }
        if node.is_dir:
            headers["x-ms-meta-hdi_isfolder"] = "true"
        return headers


def cors_rule(origin: str) -> dict[str, str]:
    """A rule as the studio's "Allow this studio" writes it, for tests to set in `cors_rules`."""
    return {
        "AllowedOrigins": origin,
        "AllowedMethods": "GET,HEAD,PUT,OPTIONS",
        "AllowedHeaders": "*",
        "ExposedHeaders": "*",
        "MaxAgeInSeconds": "60",
    }


def header_allowed(name: str, allowed: list[str]) -> bool:
    """Whether a CORS rule's AllowedHeaders admit the header `name` ("*", a name, or a "prefix*")."""
    return any(item == "*" or item == name or (item.endswith("*") and name.startswith(item[:-1])) for item in allowed)


def check_conditions(node: Node, headers) -> None:
    if_match, if_none_match = headers.get("If-Match"), headers.get("If-None-Match")
    if (if_match and if_match not in ("*", node.etag)) or (if_none_match and if_none_match in ("*", node.etag)):
        raise StorageError(
            412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met."
        )
